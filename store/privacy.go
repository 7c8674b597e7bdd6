package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

// SubjectMatcher recognises one data subject in stored text
// (privacy.Matcher): the store finds candidate rows by its needles, the
// matcher decides what in them is the subject's.
type SubjectMatcher interface {
	// Needles are lower-cased substrings that make a row a candidate.
	Needles() []string
	// Redact returns text without the subject, and whether it changed.
	Redact(text string) (string, bool)
	// Discover returns addresses and names of the subject's objects in a JSON document.
	Discover(doc []byte) (emails, names []string)
	// UserID and Emails are the subject's user id and normalized addresses.
	UserID() string
	Emails() []string
}

// piiTable is one table whose text columns can hold a data subject's
// personal data (found by reading every migration), how its rows are
// keyed and scoped to an organization, and whether a subject's row is
// deleted (objects kept only to feed syncs) or redacted in place.
type piiTable struct {
	Table  string
	Key    []string
	Cols   []string
	Scope  string // SQL condition with one ? for the organization id
	Delete bool
}

const orgIntegrations = "integration_id IN (SELECT id FROM integrations WHERE organization_id = ?)"

// PIITables lists, per table, the columns an erasure scrubs (docs/PRIVACY.md).
var piiTables = []piiTable{
	{Table: "events", Key: []string{"organization_id", "id"}, Cols: []string{"payload", "idempotency_key"}, Scope: "organization_id = ?"},
	{Table: "webhook_deliveries", Key: []string{"id"}, Cols: []string{"payload", "request_headers", "response_headers", "response_body", "error_message"}, Scope: "organization_id = ?"},
	{Table: "integration_objects", Key: []string{"organization_id", "object_type", "object_id"}, Cols: []string{"data"}, Scope: "organization_id = ?", Delete: true},
	{Table: "integration_links", Key: []string{"integration_id", "object_type", "object_id"}, Cols: []string{"external_id", "conference_url", "data"}, Scope: orgIntegrations},
	{Table: "integration_pushes", Key: []string{"id"}, Cols: []string{"detail", "error_message", "request", "response_excerpt", "external_id"}, Scope: "organization_id = ?"},
	{Table: "integration_sync_logs", Key: []string{"id"}, Cols: []string{"error_details"}, Scope: orgIntegrations},
	{Table: "integration_token_refreshes", Key: []string{"id"}, Cols: []string{"error_message"}, Scope: "organization_id = ?"},
	{Table: "integrations", Key: []string{"id"}, Cols: []string{"name", "last_error_message"}, Scope: "organization_id = ?"},
	{Table: "integration_oauth_states", Key: []string{"id"}, Cols: []string{"name", "settings"}, Scope: "organization_id = ?"},
	{Table: "audit_log", Key: []string{"id"}, Cols: []string{"details"}, Scope: "organization_id = ?"},
	{Table: "api_keys", Key: []string{"id"}, Cols: []string{"name", "description"}, Scope: "organization_id = ?"},
	{Table: "webhooks", Key: []string{"id"}, Cols: []string{"name", "disabled_reason"}, Scope: "organization_id = ?"},
}

// ErrRequestReused is a request id already used for another subject.
var ErrRequestReused = errors.New("request id already used for another subject")

type subjectRow struct {
	key  []any
	vals []sql.NullString
}

// subjectRows are the rows of t in the organization whose text columns
// contain one of the needles (case-insensitive): the candidates a
// matcher then decides on.
func subjectRows(tx *gorm.DB, t piiTable, orgID string, needles []string) ([]subjectRow, error) {
	if len(needles) == 0 {
		return nil, nil
	}
	var likes []string
	args := []any{orgID}
	for _, c := range t.Cols {
		for _, n := range needles {
			likes = append(likes, "LOWER("+c+") LIKE ? ESCAPE '\\'")
			args = append(args, "%"+subjectLike(n)+"%")
		}
	}
	q := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s AND (%s)", strings.Join(t.Key, ", "), strings.Join(t.Cols, ", "),
		t.Table, t.Scope, strings.Join(likes, " OR "))
	rows, err := tx.Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", t.Table, err)
	}
	defer rows.Close()
	var out []subjectRow
	for rows.Next() {
		r := subjectRow{key: make([]any, len(t.Key)), vals: make([]sql.NullString, len(t.Cols))}
		dst := make([]any, 0, len(t.Key)+len(t.Cols))
		keys := make([]sql.NullString, len(t.Key))
		for i := range keys {
			dst = append(dst, &keys[i])
		}
		for i := range r.vals {
			dst = append(dst, &r.vals[i])
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		for i, k := range keys {
			r.key[i] = k.String
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func subjectLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s))
}

func keyWhere(t piiTable) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = k + " = ?"
	}
	return strings.Join(parts, " AND ")
}

// DiscoverSubject reads the organization's events and objects that
// mention the subject and returns the addresses and names found in the
// subject's own objects there.
func (s *Store) DiscoverSubject(ctx context.Context, orgID string, m SubjectMatcher) (emails, names []string, err error) {
	db := s.db.WithContext(ctx)
	for _, t := range piiTables[:3] { // events, deliveries, objects carry the Aqio objects
		rows, err := subjectRows(db, t, orgID, m.Needles())
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			for _, v := range r.vals {
				e, n := m.Discover([]byte(v.String))
				emails, names = append(emails, e...), append(names, n...)
			}
		}
	}
	return emails, names, nil
}

// ScrubSubject removes or irreversibly redacts the subject's personal
// data in every table of the organization, in one transaction, and
// counts the rows changed per table. The subject's Aqio objects (and
// their provider links) are deleted; everything else is redacted in
// place. Users whose id or address is the subject's lose both. Usage
// counters of the user's API keys are deleted. Run again, it finds
// nothing left and counts nothing.
func (s *Store) ScrubSubject(ctx context.Context, orgID string, m SubjectMatcher) (map[string]int64, error) {
	counts := map[string]int64{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, t := range piiTables {
			rows, err := subjectRows(tx, t, orgID, m.Needles())
			if err != nil {
				return err
			}
			for _, r := range rows {
				var sets []string
				var args []any
				for i, v := range r.vals {
					if !v.Valid {
						continue
					}
					if out, changed := m.Redact(v.String); changed {
						sets = append(sets, t.Cols[i]+" = ?")
						args = append(args, out)
					}
				}
				if len(sets) == 0 {
					continue
				}
				if t.Delete {
					if err := tx.Exec("DELETE FROM "+t.Table+" WHERE "+keyWhere(t), r.key...).Error; err != nil {
						return fmt.Errorf("delete %s: %w", t.Table, err)
					}
					if t.Table == "integration_objects" {
						res := tx.Exec("DELETE FROM integration_links WHERE object_type = ? AND object_id = ? AND "+orgIntegrations, r.key[1], r.key[2], orgID)
						if res.Error != nil {
							return fmt.Errorf("delete links: %w", res.Error)
						}
						counts["integration_links"] += res.RowsAffected
					}
				} else if err := tx.Exec("UPDATE "+t.Table+" SET "+strings.Join(sets, ", ")+" WHERE "+keyWhere(t), append(args, r.key...)...).Error; err != nil {
					return fmt.Errorf("redact %s: %w", t.Table, err)
				}
				counts[t.Table]++
			}
		}
		// Links keyed by the person (Pipedrive keys its person link by
		// the address) cannot be redacted in place: they go.
		keyed, err := subjectRows(tx, piiTable{Table: "integration_links", Key: []string{"integration_id", "object_type", "object_id"},
			Cols: []string{"object_id"}, Scope: orgIntegrations}, orgID, m.Needles())
		if err != nil {
			return err
		}
		for _, r := range keyed {
			if _, changed := m.Redact(r.vals[0].String); !changed {
				continue
			}
			if err := tx.Exec("DELETE FROM integration_links WHERE integration_id = ? AND object_type = ? AND object_id = ?", r.key...).Error; err != nil {
				return fmt.Errorf("delete keyed links: %w", err)
			}
			counts["integration_links"]++
		}
		uid := m.UserID()
		users := tx.Model(&models.User{})
		if emails := m.Emails(); uid != "" && len(emails) > 0 {
			users = users.Where("id = ? OR LOWER(email) IN ?", uid, emails)
		} else if uid != "" {
			users = users.Where("id = ?", uid)
		} else {
			users = users.Where("LOWER(email) IN ?", emails)
		}
		res := users.Where("email IS NOT NULL OR display_name IS NOT NULL").
			Updates(map[string]any{"email": nil, "display_name": nil, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("redact users: %w", res.Error)
		}
		counts["users"] += res.RowsAffected
		if uid != "" {
			res := tx.Exec("DELETE FROM api_key_usage WHERE api_key_id IN (SELECT id FROM api_keys WHERE organization_id = ? AND (user_id = ? OR created_by_user_id = ?))", orgID, uid, uid)
			if res.Error != nil {
				return fmt.Errorf("delete key usage: %w", res.Error)
			}
			counts["api_key_usage"] += res.RowsAffected
		}
		return nil
	})
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	return counts, err
}

// SubjectObject is one of a subject's Aqio objects with the links the
// organization's integrations keep of it.
type SubjectObject struct {
	Object models.IntegrationObject
	Links  []models.IntegrationLink
}

// SubjectObjects lists the organization's integration objects that
// ScrubSubject deletes (the subject's own: their data mentions them),
// with their links, so an erasure can read where the providers keep the
// person before the local erasure removes it.
func (s *Store) SubjectObjects(ctx context.Context, orgID string, m SubjectMatcher) ([]SubjectObject, error) {
	db := s.db.WithContext(ctx)
	rows, err := subjectRows(db, piiTables[2], orgID, m.Needles())
	if err != nil {
		return nil, err
	}
	var out []SubjectObject
	for _, r := range rows {
		if _, changed := m.Redact(r.vals[0].String); !r.vals[0].Valid || !changed {
			continue
		}
		var o SubjectObject
		if err := db.Where("organization_id = ? AND object_type = ? AND object_id = ?", r.key...).Take(&o.Object).Error; err != nil {
			return nil, fmt.Errorf("load subject object: %w", notFound(err))
		}
		if err := db.Where("object_type = ? AND object_id = ? AND "+orgIntegrations, r.key[1], r.key[2], orgID).
			Order("integration_id").Find(&o.Links).Error; err != nil {
			return nil, fmt.Errorf("load subject links: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// SubjectRecord is one stored row that concerns a subject (for the access export).
type SubjectRecord struct {
	Table  string            `json:"table"`
	Key    map[string]string `json:"key"`
	Fields map[string]string `json:"fields"`
}

// CollectSubject returns every row of the organization (and the users
// table) that concerns the subject, with the columns that do, unredacted.
func (s *Store) CollectSubject(ctx context.Context, orgID string, m SubjectMatcher) ([]SubjectRecord, error) {
	db := s.db.WithContext(ctx)
	var out []SubjectRecord
	for _, t := range piiTables {
		rows, err := subjectRows(db, t, orgID, m.Needles())
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			rec := SubjectRecord{Table: t.Table, Key: map[string]string{}, Fields: map[string]string{}}
			for i, k := range t.Key {
				rec.Key[k] = fmt.Sprint(r.key[i])
			}
			for i, v := range r.vals {
				if _, changed := m.Redact(v.String); v.Valid && changed {
					rec.Fields[t.Cols[i]] = v.String
				}
			}
			if len(rec.Fields) > 0 {
				out = append(out, rec)
			}
		}
	}
	var users []models.User
	q := db.Model(&models.User{})
	if uid, emails := m.UserID(), m.Emails(); uid != "" {
		q = q.Where("id = ? OR LOWER(email) IN ?", uid, append(emails, ""))
	} else {
		q = q.Where("LOWER(email) IN ?", emails)
	}
	if err := q.Find(&users).Error; err != nil {
		return nil, err
	}
	for _, u := range users {
		rec := SubjectRecord{Table: "users", Key: map[string]string{"id": u.ID}, Fields: map[string]string{}}
		if u.Email != nil {
			rec.Fields["email"] = *u.Email
		}
		if u.DisplayName != nil {
			rec.Fields["display_name"] = *u.DisplayName
		}
		out = append(out, rec)
	}
	return out, nil
}

// CreateErasure inserts an erasure request, or returns the existing one
// with the same request id (existing true). A request id reused for
// another subject is ErrRequestReused.
func (s *Store) CreateErasure(ctx context.Context, e *models.PrivacyErasure, entry *audit.Entry) (models.PrivacyErasure, bool, error) {
	var found models.PrivacyErasure
	if err := s.EnsureOrganizationExists(ctx, e.OrganizationID); err != nil {
		return found, false, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(e)
		if res.Error != nil {
			return res.Error
		}
		if err := recordCreated(ctx, tx, res.RowsAffected, entry, e.ID); err != nil {
			return err
		}
		return tx.Where("organization_id = ? AND request_id = ?", e.OrganizationID, e.RequestID).Take(&found).Error
	})
	if err != nil {
		return found, false, err
	}
	existing := found.ID != e.ID
	if existing && (str(found.EmailHash) != str(e.EmailHash) || str(found.UserIDHash) != str(e.UserIDHash)) {
		return found, true, ErrRequestReused
	}
	return found, existing, nil
}

// recordCreated writes a request's audit entry (its target the new row)
// when the request was created, not when it was a repeat.
func recordCreated(ctx context.Context, tx *gorm.DB, created int64, entry *audit.Entry, id string) error {
	if entry == nil || created == 0 {
		return nil
	}
	e := *entry
	e.TargetID = id
	return audit.Record(ctx, tx, e)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// GetErasure loads one erasure of the organization.
func (s *Store) GetErasure(ctx context.Context, orgID, id string) (models.PrivacyErasure, error) {
	var e models.PrivacyErasure
	err := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&e).Error
	return e, notFound(err)
}

// UpdateErasure sets columns of an erasure.
func (s *Store) UpdateErasure(ctx context.Context, orgID, id string, cols map[string]any) error {
	cols["updated_at"] = s.now()
	return s.db.WithContext(ctx).Model(&models.PrivacyErasure{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols).Error
}

// UpdateErasureReport rewrites an erasure's report with f, in a
// transaction (the per-system outcomes are written one by one).
func (s *Store) UpdateErasureReport(ctx context.Context, orgID, id string, f func(report *string) (string, error)) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e models.PrivacyErasure
		if err := tx.Where("organization_id = ? AND id = ?", orgID, id).Take(&e).Error; err != nil {
			return notFound(err)
		}
		out, err := f(e.Report)
		if err != nil {
			return err
		}
		return tx.Model(&models.PrivacyErasure{}).Where("organization_id = ? AND id = ?", orgID, id).
			Updates(map[string]any{"report": out, "updated_at": s.now()}).Error
	})
}

// Suppress puts addresses (their hashes) on the organization's suppression list.
func (s *Store) Suppress(ctx context.Context, orgID, erasureID string, hashes []string) error {
	for _, h := range hashes {
		row := models.PrivacySuppression{OrganizationID: orgID, EmailHash: h, ErasureID: erasureID, CreatedAt: s.now()}
		if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

// Suppressed reports whether one of the hashes is on the organization's
// suppression list.
func (s *Store) Suppressed(ctx context.Context, orgID string, hashes []string) (bool, error) {
	if len(hashes) == 0 {
		return false, nil
	}
	var n int64
	err := s.reads().WithContext(ctx).Model(&models.PrivacySuppression{}).
		Where("organization_id = ? AND email_hash IN ?", orgID, hashes).Count(&n).Error
	return n > 0, err
}

// CreateExport inserts an export request, or returns the existing one
// with the same request id (ErrRequestReused for another subject).
func (s *Store) CreateExport(ctx context.Context, e *models.PrivacyExport, entry *audit.Entry) (models.PrivacyExport, bool, error) {
	var found models.PrivacyExport
	if err := s.EnsureOrganizationExists(ctx, e.OrganizationID); err != nil {
		return found, false, err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(e)
		if res.Error != nil {
			return res.Error
		}
		if err := recordCreated(ctx, tx, res.RowsAffected, entry, e.ID); err != nil {
			return err
		}
		return tx.Where("organization_id = ? AND request_id = ?", e.OrganizationID, e.RequestID).Take(&found).Error
	})
	if err != nil {
		return found, false, err
	}
	existing := found.ID != e.ID
	if existing && (str(found.EmailHash) != str(e.EmailHash) || str(found.UserIDHash) != str(e.UserIDHash)) {
		return found, true, ErrRequestReused
	}
	return found, existing, nil
}

// GetExport loads one export of the organization.
func (s *Store) GetExport(ctx context.Context, orgID, id string) (models.PrivacyExport, error) {
	var e models.PrivacyExport
	err := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&e).Error
	return e, notFound(err)
}

// SaveExport stores the (encrypted) document of a pending export.
func (s *Store) SaveExport(ctx context.Context, orgID, id, document string, size int64) error {
	now := s.now()
	return s.db.WithContext(ctx).Model(&models.PrivacyExport{}).
		Where("organization_id = ? AND id = ? AND status = ?", orgID, id, models.PrivacyPending).
		Updates(map[string]any{"document": document, "size_bytes": size, "status": models.PrivacyReady, "completed_at": now}).Error
}

// FailExport marks an export failed.
func (s *Store) FailExport(ctx context.Context, orgID, id string) error {
	return s.db.WithContext(ctx).Model(&models.PrivacyExport{}).
		Where("organization_id = ? AND id = ? AND status = ?", orgID, id, models.PrivacyPending).
		Updates(map[string]any{"status": models.PrivacyFailed, "completed_at": s.now()}).Error
}

// ErrGone is an export already downloaded.
var ErrGone = errors.New("gone")

// TakeExport returns an export's (encrypted) document and deletes it, in
// one transaction: the first caller gets it, every later one ErrGone.
func (s *Store) TakeExport(ctx context.Context, orgID, id string) (string, error) {
	var doc string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e models.PrivacyExport
		if err := tx.Where("organization_id = ? AND id = ?", orgID, id).Take(&e).Error; err != nil {
			return notFound(err)
		}
		if e.Status == models.PrivacyDownloaded {
			return ErrGone
		}
		if e.Status != models.PrivacyReady || e.Document == nil {
			return ErrConflict
		}
		res := tx.Model(&models.PrivacyExport{}).Where("id = ? AND status = ?", id, models.PrivacyReady).
			Updates(map[string]any{"status": models.PrivacyDownloaded, "document": nil, "downloaded_at": s.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrGone
		}
		doc = *e.Document
		return nil
	})
	return doc, err
}

// DeleteEventsBefore deletes up to batch events received before the
// cutoff (their payloads with them) and reports how many went. Events
// still waiting in the outbox are kept.
func (s *Store) DeleteEventsBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var keys []struct{ OrganizationID, ID string }
	err := s.db.WithContext(ctx).Model(&models.Event{}).Select("organization_id, id").
		Where("received_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.organization_id = events.organization_id AND o.event_id = events.id)", cutoff).
		Limit(batch).Scan(&keys).Error
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	var n int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			res := tx.Exec("DELETE FROM events WHERE organization_id = ? AND id = ?", k.OrganizationID, k.ID)
			if res.Error != nil {
				return res.Error
			}
			n += res.RowsAffected
		}
		return nil
	})
	return n, err
}

// DeleteObjectsBefore deletes up to batch integration objects not
// updated since the cutoff and reports how many went.
func (s *Store) DeleteObjectsBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var keys []struct{ OrganizationID, ObjectType, ObjectID string }
	err := s.db.WithContext(ctx).Model(&models.IntegrationObject{}).Select("organization_id, object_type, object_id").
		Where("updated_at < ?", cutoff).Limit(batch).Scan(&keys).Error
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	var n int64
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			res := tx.Exec("DELETE FROM integration_objects WHERE organization_id = ? AND object_type = ? AND object_id = ?", k.OrganizationID, k.ObjectType, k.ObjectID)
			if res.Error != nil {
				return res.Error
			}
			n += res.RowsAffected
		}
		return nil
	})
	return n, err
}
