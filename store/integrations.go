package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

// OAuth state errors (the callback tells them apart for the user).
var (
	ErrStateUsed    = errors.New("oauth state already used")
	ErrStateExpired = errors.New("oauth state expired")
)

// ensureIntegrationUser creates the users row an integration or state
// refers to (user rows carry no data here; the Aqio app owns users).
func ensureIntegrationUser(tx *gorm.DB, userID *string, now time.Time) error {
	if userID == nil || *userID == "" {
		return nil
	}
	u := models.User{ID: *userID, CreatedAt: now, UpdatedAt: now}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&u).Error; err != nil {
		return fmt.Errorf("ensure user: %w", err)
	}
	return nil
}

// CreateOAuthState stores a pending authorization.
func (s *Store) CreateOAuthState(ctx context.Context, st *models.IntegrationOAuthState) error {
	st.CreatedAt = s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := ensureIntegrationUser(tx, st.UserID, st.CreatedAt); err != nil {
			return err
		}
		if err := tx.Create(st).Error; err != nil {
			return fmt.Errorf("create oauth state: %w", err)
		}
		return nil
	})
}

// ClaimOAuthState marks the state single-use-consumed and returns it:
// ErrNotFound for an unknown state, ErrStateUsed for a replay,
// ErrStateExpired after its deadline.
func (s *Store) ClaimOAuthState(ctx context.Context, stateHash string) (models.IntegrationOAuthState, error) {
	now := s.now()
	var st models.IntegrationOAuthState
	if err := s.db.WithContext(ctx).Where("state_hash = ?", stateHash).Take(&st).Error; err != nil {
		return st, notFound(err)
	}
	res := s.db.WithContext(ctx).Model(&models.IntegrationOAuthState{}).
		Where("id = ? AND used_at IS NULL", st.ID).Update("used_at", now)
	if res.Error != nil {
		return st, fmt.Errorf("claim oauth state: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return st, ErrStateUsed
	}
	if !now.Before(st.ExpiresAt) {
		return st, ErrStateExpired
	}
	st.UsedAt = &now
	return st, nil
}

// SetOAuthStateCode stores the (encrypted) authorization code of a
// claimed state and the callback's address and request id (for the
// connect's audit entry).
func (s *Store) SetOAuthStateCode(ctx context.Context, id, code, callbackIP, callbackRequestID string) error {
	return s.db.WithContext(ctx).Model(&models.IntegrationOAuthState{}).Where("id = ?", id).
		Updates(map[string]any{"code": code, "callback_ip": nullable(callbackIP), "callback_request_id": nullable(callbackRequestID)}).Error
}

// ClearOAuthStateCode wipes a state's code (or pending credential) that
// will not be used.
func (s *Store) ClearOAuthStateCode(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Model(&models.IntegrationOAuthState{}).Where("id = ?", id).Update("code", nil).Error; err != nil {
		return fmt.Errorf("wipe oauth code: %w", err)
	}
	return nil
}

// GetOAuthState loads a state by id.
func (s *Store) GetOAuthState(ctx context.Context, id string) (models.IntegrationOAuthState, error) {
	var st models.IntegrationOAuthState
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&st).Error
	return st, notFound(err)
}

// DeleteExpiredOAuthStates removes the states whose deadline passed
// before the given time and returns how many went.
func (s *Store) DeleteExpiredOAuthStates(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", before).Delete(&models.IntegrationOAuthState{})
	if res.Error != nil {
		return 0, fmt.Errorf("delete expired oauth states: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Sealed are the encrypted credentials of a connection.
type Sealed struct {
	AccessToken, RefreshToken, TokenExtra *string
	// APIKey is a non-OAuth credential's fields (JSON), encrypted.
	APIKey        *string
	ExpiresAt     *time.Time
	GrantedScopes *string
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// SaveConnection creates or reconnects the integration of a claimed state
// (unique per organization, user and type) in one transaction and wipes
// the state's code. seal encrypts the credentials for the row id; entry
// (may be nil) is the audit entry of the connection, written in the same
// transaction (nothing is saved when it cannot be written).
func (s *Store) SaveConnection(ctx context.Context, st models.IntegrationOAuthState, seal func(integrationID string) (Sealed, error), newID string,
	entry func(integ models.Integration, created bool) (audit.Entry, error)) (models.Integration, bool, error) {
	now := s.now()
	var out models.Integration
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := ensureIntegrationUser(tx, st.UserID, now); err != nil {
			return err
		}
		var existing models.Integration
		q := tx.Where("organization_id = ? AND integration_type = ?", st.OrganizationID, st.IntegrationType)
		if st.UserID == nil {
			q = q.Where("user_id IS NULL")
		} else {
			q = q.Where("user_id = ?", *st.UserID)
		}
		err := q.Take(&existing).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			created = true
			existing = models.Integration{ID: newID, OrganizationID: st.OrganizationID, UserID: st.UserID,
				IntegrationType: st.IntegrationType, SyncEnabled: true, CreatedAt: now}
		case err != nil:
			return fmt.Errorf("find integration: %w", err)
		}
		sealed, err := seal(existing.ID)
		if err != nil {
			return err
		}
		existing.Name = st.Name
		existing.Settings = st.Settings
		existing.AccessToken = sealed.AccessToken
		existing.RefreshToken = sealed.RefreshToken
		existing.TokenExtra = sealed.TokenExtra
		existing.APIKey = sealed.APIKey
		existing.TokenExpiresAt = sealed.ExpiresAt
		existing.GrantedScopes = sealed.GrantedScopes
		existing.TokenObtainedAt = &now
		existing.ConnectedAt = &now
		existing.Status = models.IntegrationActive
		existing.LastErrorMessage = nil
		existing.UpdatedAt = now
		if created {
			err = tx.Create(&existing).Error
		} else {
			err = tx.Select("*").Omit("created_at").Save(&existing).Error
		}
		if err != nil {
			return fmt.Errorf("save integration: %w", notFound(err))
		}
		if err := tx.Model(&models.IntegrationOAuthState{}).Where("id = ?", st.ID).Update("code", nil).Error; err != nil {
			return fmt.Errorf("wipe oauth code: %w", err)
		}
		if entry != nil {
			e, err := entry(existing, created)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, e); err != nil {
				return err
			}
		}
		out = existing
		return nil
	})
	return out, created, err
}

// GetIntegration loads one integration of the organization.
func (s *Store) GetIntegration(ctx context.Context, orgID, id string) (models.Integration, error) {
	var in models.Integration
	err := s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id).Take(&in).Error
	return in, notFound(err)
}

// ListIntegrations lists the organization's integrations, oldest first.
func (s *Store) ListIntegrations(ctx context.Context, orgID string) ([]models.Integration, error) {
	var out []models.Integration
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at, id").Find(&out).Error
	return out, err
}

// GetIntegrationFor is GetIntegration under the owner rule: another
// user's integration is ErrNotFound unless the caller reaches every user's.
func (s *Store) GetIntegrationFor(ctx context.Context, orgID, id string, o Owner) (models.Integration, error) {
	var in models.Integration
	err := o.scope(s.db.WithContext(ctx).Where("organization_id = ? AND id = ?", orgID, id)).Take(&in).Error
	return in, notFound(err)
}

// ListIntegrationsFor lists the integrations the caller reaches under the
// owner rule (the organization's, its own, or every user's), oldest first.
func (s *Store) ListIntegrationsFor(ctx context.Context, orgID string, o Owner) ([]models.Integration, error) {
	var out []models.Integration
	err := o.scope(s.db.WithContext(ctx).Where("organization_id = ?", orgID)).Order("created_at, id").Find(&out).Error
	return out, err
}

// ActiveIntegrations lists the organization's active integrations.
func (s *Store) ActiveIntegrations(ctx context.Context, orgID string) ([]models.Integration, error) {
	if s.ingestCfg != nil && orgID == s.ingestCfg.orgID {
		return slices.Clone(s.ingestCfg.Integrations), nil
	}
	var out []models.Integration
	err := s.reads().WithContext(ctx).Where("organization_id = ? AND status = ?", orgID, models.IntegrationActive).
		Order("created_at, id").Find(&out).Error
	return out, err
}

// UpdateIntegration writes the given columns of one integration.
func (s *Store) UpdateIntegration(ctx context.Context, orgID, id string, cols map[string]any) (models.Integration, error) {
	cols["updated_at"] = s.now()
	res := s.db.WithContext(ctx).Model(&models.Integration{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols)
	if res.Error != nil {
		return models.Integration{}, fmt.Errorf("update integration: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.Integration{}, ErrNotFound
	}
	return s.GetIntegration(ctx, orgID, id)
}

// UpdateIntegrationAudited writes the given columns of one integration
// and its audit entry in one transaction: neither is written without the
// other.
func (s *Store) UpdateIntegrationAudited(ctx context.Context, orgID, id string, cols map[string]any, e audit.Entry) (models.Integration, error) {
	cols["updated_at"] = s.now()
	var out models.Integration
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Integration{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols)
		if res.Error != nil {
			return fmt.Errorf("update integration: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if err := audit.Record(ctx, tx, e); err != nil {
			return err
		}
		return tx.Where("organization_id = ? AND id = ?", orgID, id).Take(&out).Error
	})
	return out, err
}

// WipeCredentials clears every credential of an integration and disables it.
func (s *Store) WipeCredentials(ctx context.Context, orgID, id string) error {
	_, err := s.UpdateIntegration(ctx, orgID, id, map[string]any{
		"access_token": nil, "refresh_token": nil, "token_extra": nil, "api_key": nil,
		"token_expires_at": nil, "status": models.IntegrationDisabled,
	})
	return err
}

// DeleteIntegration removes an integration; its sync logs, links and
// milestones go with it. entry (may be nil) reads the row and returns
// the audit entry of the removal (nil: none), written in the same
// transaction.
func (s *Store) DeleteIntegration(ctx context.Context, orgID, id string, entry func(models.Integration) (*audit.Entry, error)) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if entry != nil {
			var row models.Integration
			if err := tx.Where("organization_id = ? AND id = ?", orgID, id).Take(&row).Error; err != nil {
				return notFound(err)
			}
			e, err := entry(row)
			if err != nil {
				return err
			}
			if e != nil {
				if err := audit.Record(ctx, tx, *e); err != nil {
					return err
				}
			}
		}
		for _, m := range []any{&models.IntegrationSyncLog{}, &models.IntegrationLink{}, &models.IntegrationMilestone{},
			&models.IntegrationPush{}, &models.IntegrationTokenRefresh{}} {
			if err := tx.Where("integration_id = ?", id).Delete(m).Error; err != nil {
				return fmt.Errorf("delete integration rows: %w", err)
			}
		}
		res := tx.Where("organization_id = ? AND id = ?", orgID, id).Delete(&models.Integration{})
		if res.Error != nil {
			return fmt.Errorf("delete integration: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// SaveRefreshedTokens stores a refresh's result in one transaction: the new
// access token, the (possibly rotated) refresh token and the expiry.
func (s *Store) SaveRefreshedTokens(ctx context.Context, orgID, id string, sealed Sealed) error {
	now := s.now()
	// A refresh heals a credential error, not settings the provider
	// refused after connect (last_error_message "settings.…": a PATCH
	// the provider accepts clears that one).
	settingsRefused := "status = 'error' AND last_error_message LIKE 'settings%'"
	cols := map[string]any{
		"access_token": sealed.AccessToken, "token_expires_at": sealed.ExpiresAt, "token_obtained_at": now, "updated_at": now,
		"status":             gorm.Expr("CASE WHEN "+settingsRefused+" THEN status ELSE ? END", models.IntegrationActive),
		"last_error_message": gorm.Expr("CASE WHEN " + settingsRefused + " THEN last_error_message ELSE NULL END"),
	}
	if sealed.RefreshToken != nil {
		cols["refresh_token"] = sealed.RefreshToken
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Integration{}).Where("organization_id = ? AND id = ?", orgID, id).Updates(cols)
		if res.Error != nil {
			return fmt.Errorf("save refreshed tokens: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// MarkIntegrationError sets status error with a message; it reports
// whether the status changed (so the error event is emitted once).
func (s *Store) MarkIntegrationError(ctx context.Context, orgID, id, msg string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.Integration{}).
		Where("organization_id = ? AND id = ? AND status <> ?", orgID, id, models.IntegrationError).
		Updates(map[string]any{"status": models.IntegrationError, "last_error_message": msg, "updated_at": s.now()})
	if res.Error != nil {
		return false, fmt.Errorf("mark integration error: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CreateSyncLog inserts a running sync log.
func (s *Store) CreateSyncLog(ctx context.Context, l *models.IntegrationSyncLog) error {
	if l.StartedAt.IsZero() {
		l.StartedAt = s.now()
	}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(l).Error; err != nil {
		return fmt.Errorf("create sync log: %w", err)
	}
	return nil
}

// GetSyncLog loads one sync log of an integration of the organization.
func (s *Store) GetSyncLog(ctx context.Context, orgID, integrationID, id string) (models.IntegrationSyncLog, error) {
	var l models.IntegrationSyncLog
	err := s.db.WithContext(ctx).Where("organization_id = ? AND integration_id = ? AND id = ?", orgID, integrationID, id).Take(&l).Error
	return l, notFound(err)
}

// ListSyncLogs lists an integration's syncs, newest first.
func (s *Store) ListSyncLogs(ctx context.Context, orgID, integrationID string, limit int) ([]models.IntegrationSyncLog, error) {
	var out []models.IntegrationSyncLog
	err := s.db.WithContext(ctx).Where("organization_id = ? AND integration_id = ?", orgID, integrationID).
		Order("started_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// LastCompletedCursor is the cursor of the integration's newest finished
// sync that recorded one ("" when none).
func (s *Store) LastCompletedCursor(ctx context.Context, integrationID string) (string, error) {
	var l models.IntegrationSyncLog
	err := s.db.WithContext(ctx).Where("integration_id = ? AND status = ? AND sync_cursor IS NOT NULL", integrationID, models.SyncCompleted).
		Order("started_at DESC, id DESC").Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil || l.SyncCursor == nil {
		return "", err
	}
	return *l.SyncCursor, nil
}

// FinishSyncLog writes a sync's outcome.
func (s *Store) FinishSyncLog(ctx context.Context, id string, cols map[string]any) error {
	return s.db.WithContext(ctx).Model(&models.IntegrationSyncLog{}).Where("id = ?", id).Updates(cols).Error
}

// SetIntegrationSynced records the time of a finished sync.
func (s *Store) SetIntegrationSynced(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&models.Integration{}).Where("id = ?", id).Update("last_sync_at", at).Error
}

// UpsertObject keeps the newest state of an Aqio object: an older event
// (by its created time) never overwrites a newer one.
func (s *Store) UpsertObject(ctx context.Context, o *models.IntegrationObject) error {
	o.UpdatedAt = s.now()
	if s.raw != nil {
		return s.raw.upsertObject(ctx, o)
	}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "organization_id"}, {Name: "object_type"}, {Name: "object_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"parent_id", "status", "data", "last_event_id", "last_event_type", "last_event_created", "updated_at"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "integration_objects.last_event_created <= excluded.last_event_created"},
		}},
	}).Create(o).Error
}

// GetObject loads one Aqio object.
func (s *Store) GetObject(ctx context.Context, orgID, objectType, id string) (models.IntegrationObject, error) {
	var o models.IntegrationObject
	err := s.db.WithContext(ctx).Where("organization_id = ? AND object_type = ? AND object_id = ?", orgID, objectType, id).Take(&o).Error
	return o, notFound(err)
}

// ObjectKey orders objects for paging: by update time, then type and id.
type ObjectKey struct {
	UpdatedAt time.Time `json:"t"`
	Type      string    `json:"ty"`
	ID        string    `json:"id"`
}

// ListObjectsPage returns up to limit objects of the given types updated
// after since (zero: all), strictly after the key after (nil: from the start).
func (s *Store) ListObjectsPage(ctx context.Context, orgID string, types []string, since time.Time, after *ObjectKey, limit int) ([]models.IntegrationObject, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ? AND object_type IN ?", orgID, types)
	if !since.IsZero() {
		q = q.Where("updated_at > ?", since)
	}
	if after != nil {
		q = q.Where("(updated_at > ?) OR (updated_at = ? AND object_type > ?) OR (updated_at = ? AND object_type = ? AND object_id > ?)",
			after.UpdatedAt, after.UpdatedAt, after.Type, after.UpdatedAt, after.Type, after.ID)
	}
	var out []models.IntegrationObject
	err := q.Order("updated_at, object_type, object_id").Limit(limit).Find(&out).Error
	return out, err
}

// ListChildObjects lists objects of a type whose parent is parentID (e.g.
// an event's registrations).
func (s *Store) ListChildObjects(ctx context.Context, orgID, objectType, parentID string) ([]models.IntegrationObject, error) {
	var out []models.IntegrationObject
	err := s.db.WithContext(ctx).Where("organization_id = ? AND object_type = ? AND parent_id = ?", orgID, objectType, parentID).
		Order("object_id").Find(&out).Error
	return out, err
}

// CountActiveChildren counts an event's registrations that are not cancelled.
func (s *Store) CountActiveChildren(ctx context.Context, orgID, objectType, parentID string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.IntegrationObject{}).
		Where("organization_id = ? AND object_type = ? AND parent_id = ? AND (status IS NULL OR status <> ?)", orgID, objectType, parentID, "cancelled").
		Count(&n).Error
	return int(n), err
}

// GetLink loads the provider object an Aqio object became.
func (s *Store) GetLink(ctx context.Context, integrationID, objectType, objectID string) (models.IntegrationLink, error) {
	var l models.IntegrationLink
	err := s.db.WithContext(ctx).Where("integration_id = ? AND object_type = ? AND object_id = ?", integrationID, objectType, objectID).Take(&l).Error
	return l, notFound(err)
}

// ListLinks lists an integration's links.
func (s *Store) ListLinks(ctx context.Context, integrationID string) ([]models.IntegrationLink, error) {
	var out []models.IntegrationLink
	err := s.db.WithContext(ctx).Where("integration_id = ?", integrationID).Order("object_type, object_id").Find(&out).Error
	return out, err
}

// PutLink creates or updates a link.
func (s *Store) PutLink(ctx context.Context, l *models.IntegrationLink) error {
	now := s.now()
	l.CreatedAt, l.UpdatedAt = now, now
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "integration_id"}, {Name: "object_type"}, {Name: "object_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"external_id", "conference_url", "status", "data", "updated_at"}),
	}).Create(l).Error
}

// ClaimLink stores l as a claim on its object (a run about to create the
// provider object) and reports whether it did: when the object has no
// link yet, when its link is "deleted" (a released claim, a provider
// object gone), when its link is an earlier claim (l's status) last
// written before staleBefore (its run died), or, replaces non-empty, when its
// link still points at the provider object replaces (known gone). Each
// step is one statement, so of concurrent claims exactly one wins.
func (s *Store) ClaimLink(ctx context.Context, l *models.IntegrationLink, staleBefore time.Time, replaces string) (bool, error) {
	now := s.now()
	l.CreatedAt, l.UpdatedAt = now, now
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(l)
	if res.Error != nil {
		return false, fmt.Errorf("claim link: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	q := s.db.WithContext(ctx).Model(&models.IntegrationLink{}).
		Where("integration_id = ? AND object_type = ? AND object_id = ?", l.IntegrationID, l.ObjectType, l.ObjectID)
	if replaces != "" {
		q = q.Where("(status = ? AND updated_at < ?) OR status = ? OR (status <> ? AND external_id = ?)", l.Status, staleBefore, "deleted", l.Status, replaces)
	} else {
		q = q.Where("(status = ? AND updated_at < ?) OR status = ?", l.Status, staleBefore, "deleted")
	}
	res = q.Updates(map[string]any{"external_id": l.ExternalID, "conference_url": l.ConferenceURL, "status": l.Status, "data": l.Data, "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("take over link claim: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ClaimMilestone claims a milestone for a poster. It reports true when
// this claimant holds it and it is not posted yet (a retried activity
// re-claims its own claim); false when another run claimed it or it was posted.
func (s *Store) ClaimMilestone(ctx context.Context, integrationID, eventID string, threshold int, claimant string) (bool, error) {
	m := models.IntegrationMilestone{IntegrationID: integrationID, EventID: eventID, Threshold: threshold, ClaimedBy: claimant, CreatedAt: s.now()}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return false, fmt.Errorf("claim milestone: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	var got models.IntegrationMilestone
	if err := s.db.WithContext(ctx).Where("integration_id = ? AND event_id = ? AND threshold = ?", integrationID, eventID, threshold).Take(&got).Error; err != nil {
		return false, fmt.Errorf("load milestone: %w", err)
	}
	return got.ClaimedBy == claimant && got.PostedAt == nil, nil
}

// MarkMilestonePosted records the posted message.
func (s *Store) MarkMilestonePosted(ctx context.Context, integrationID, eventID string, threshold int, ts string) error {
	return s.db.WithContext(ctx).Model(&models.IntegrationMilestone{}).
		Where("integration_id = ? AND event_id = ? AND threshold = ?", integrationID, eventID, threshold).
		Updates(map[string]any{"posted_at": s.now(), "message_ts": ts}).Error
}

// ListMilestones lists the milestones of an integration.
func (s *Store) ListMilestones(ctx context.Context, integrationID string) ([]models.IntegrationMilestone, error) {
	var out []models.IntegrationMilestone
	err := s.db.WithContext(ctx).Where("integration_id = ?", integrationID).Order("event_id, threshold").Find(&out).Error
	return out, err
}
