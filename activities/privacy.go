package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/privacy/subject"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// Privacy performs data-subject requests (erasure, access export) and the
// retention of event payloads and integration objects. Inputs and results
// carry ids and counts only: the subject is read from its encrypted row.
type Privacy struct {
	Store *store.Store
	Ring  *keyring.Ring
	// Integrations provides connector runtimes for erasures at providers
	// (nil: no integration is asked).
	Integrations *Integrations
	// Notifier emits privacy.erasure_requested; may be nil.
	Notifier Notifier
	Logger   *slog.Logger
}

// SkipErasedSubject is the detail of a push skipped because its object
// names an erased subject (the suppression list).
const SkipErasedSubject = "erased subject"

// ErasureInput names one erasure.
type ErasureInput struct {
	OrganizationID string
	ErasureID      string
}

// ErasureReport is the stored report of an erasure (privacy_erasures.report).
type ErasureReport struct {
	// Local counts the rows removed or redacted per table.
	Local map[string]int64 `json:"local"`
	// Suppressed counts the addresses put on the suppression list.
	Suppressed int `json:"suppressed"`
	// Systems is one outcome per connected integration.
	Systems []SystemOutcome `json:"systems"`
	// EventID is the privacy.erasure_requested event emitted.
	EventID string `json:"event_id,omitempty"`
}

// SystemOutcome is what an erasure did at one integration.
type SystemOutcome struct {
	IntegrationID   string `json:"integration_id"`
	IntegrationType string `json:"integration_type"`
	// Status: deleted, not_found, not_possible, not_supported or failed.
	Status  string    `json:"status"`
	Deleted int       `json:"deleted"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Outcome statuses besides the connectors' own (providers.Erase*).
const (
	EraseNotSupported = "not_supported"
	EraseFailed       = "failed"
)

// EraseLocalResult counts what the local erasure changed in this attempt.
type EraseLocalResult struct {
	Rows int64
}

// subjectAD binds a request's ciphertexts to its row, like every other
// key-ring column (store.CipherTables: the Rekey run reseals them with the
// row id as additional data).
func subjectAD(id string) []byte { return []byte(id) }

// OpenSubject decrypts a request's subject.
func OpenSubject(r *keyring.Ring, id, ciphertext string) (subject.Subject, error) {
	var s subject.Subject
	b, err := r.Decrypt(ciphertext, subjectAD(id))
	if err != nil {
		return s, fmt.Errorf("decrypt subject of %s: %w", id, err)
	}
	return s, json.Unmarshal(b, &s)
}

// SealSubject encrypts a request's subject, bound to its id.
func SealSubject(r *keyring.Ring, id string, s subject.Subject) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return r.Encrypt(b, subjectAD(id))
}

// erasureState is what an erasure row keeps sealed in its subject
// column: the subject and, read before the local erasure deleted them,
// the subject's Aqio objects with each integration's link of them (for
// the providers' step; cleared when the erasure finishes). Its JSON is a
// subject.Subject's with "held" added, so OpenSubject still reads it.
type erasureState struct {
	subject.Subject
	Held []heldObject `json:"held,omitempty"`
}

// heldObject is one of the subject's objects and its links by integration id.
type heldObject struct {
	Type     string                    `json:"type"`
	ID       string                    `json:"id"`
	ParentID string                    `json:"parent_id,omitempty"`
	Status   string                    `json:"status,omitempty"`
	Links    map[string]providers.Link `json:"links,omitempty"`
}

func openState(r *keyring.Ring, id, ciphertext string) (erasureState, error) {
	var st erasureState
	b, err := r.Decrypt(ciphertext, subjectAD(id))
	if err != nil {
		return st, fmt.Errorf("decrypt subject of %s: %w", id, err)
	}
	return st, json.Unmarshal(b, &st)
}

func sealState(r *keyring.Ring, id string, st erasureState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return r.Encrypt(b, subjectAD(id))
}

// hold adds the objects read now to those held already (an attempt
// retried after the local erasure reads nothing and keeps the first).
func (st *erasureState) hold(objs []store.SubjectObject) {
	for _, o := range objs {
		i := slices.IndexFunc(st.Held, func(h heldObject) bool { return h.Type == o.Object.ObjectType && h.ID == o.Object.ObjectID })
		if i < 0 {
			h := heldObject{Type: o.Object.ObjectType, ID: o.Object.ObjectID}
			if o.Object.ParentID != nil {
				h.ParentID = *o.Object.ParentID
			}
			if o.Object.Status != nil {
				h.Status = *o.Object.Status
			}
			st.Held = append(st.Held, h)
			i = len(st.Held) - 1
		}
		for _, l := range o.Links {
			if st.Held[i].Links == nil {
				st.Held[i].Links = map[string]providers.Link{}
			}
			st.Held[i].Links[l.IntegrationID] = toLink(l)
		}
	}
}

// heldFor is what an integration's connector gets of the held objects.
func (st erasureState) heldFor(integrationID string) []providers.HeldObject {
	var out []providers.HeldObject
	for _, h := range st.Held {
		o := providers.HeldObject{Type: h.Type, ID: h.ID, ParentID: h.ParentID, Status: h.Status}
		if l, ok := h.Links[integrationID]; ok {
			o.Link = &l
		}
		out = append(out, o)
	}
	return out
}

func (p *Privacy) loadErasure(ctx context.Context, in ErasureInput) (models.PrivacyErasure, erasureState, error) {
	e, err := p.Store.GetErasure(ctx, in.OrganizationID, in.ErasureID)
	if errors.Is(err, store.ErrNotFound) {
		return e, erasureState{}, temporal.NewNonRetryableApplicationError("erasure not found", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return e, erasureState{}, err
	}
	st, err := openState(p.Ring, e.ID, e.Subject)
	return e, st, err
}

func readReport(raw *string) ErasureReport {
	r := ErasureReport{Local: map[string]int64{}}
	if raw != nil {
		_ = json.Unmarshal([]byte(*raw), &r)
	}
	if r.Local == nil {
		r.Local = map[string]int64{}
	}
	return r
}

func (p *Privacy) updateReport(ctx context.Context, in ErasureInput, f func(*ErasureReport)) error {
	return p.Store.UpdateErasureReport(ctx, in.OrganizationID, in.ErasureID, func(raw *string) (string, error) {
		r := readReport(raw)
		f(&r)
		b, err := json.Marshal(r)
		return string(b), err
	})
}

// discover completes the subject with what the stored data says about
// them (the address of a user id, the names their registrations carry).
func (p *Privacy) discover(ctx context.Context, orgID string, s subject.Subject) (subject.Subject, error) {
	for round := 0; round < 3; round++ {
		emails, names, err := p.Store.DiscoverSubject(ctx, orgID, subject.NewMatcher(s))
		if err != nil {
			return s, err
		}
		if !s.Merge(emails, names) {
			break
		}
	}
	return s, nil
}

// EraseLocal removes or redacts the subject's personal data in every
// table of the organization and puts their addresses on the
// suppression list. The subject row is completed first with what was
// found and with the subject's objects and their links (kept encrypted,
// for the providers' step: where each provider holds the person), so an
// attempt retried after the scrub, or the providers' step after it,
// still knows whom to erase and where; a repeated run changes nothing
// and counts nothing. FinishErasure drops the held objects again.
func (p *Privacy) EraseLocal(ctx context.Context, in ErasureInput) (EraseLocalResult, error) {
	e, st, err := p.loadErasure(ctx, in)
	if err != nil {
		return EraseLocalResult{}, err
	}
	s := st.Subject
	if s, err = p.discover(ctx, in.OrganizationID, s); err != nil {
		return EraseLocalResult{}, err
	}
	st.Subject = s
	objs, err := p.Store.SubjectObjects(ctx, in.OrganizationID, subject.NewMatcher(s))
	if err != nil {
		return EraseLocalResult{}, err
	}
	st.hold(objs)
	sealed, err := sealState(p.Ring, e.ID, st)
	if err != nil {
		return EraseLocalResult{}, err
	}
	if err := p.Store.UpdateErasure(ctx, in.OrganizationID, in.ErasureID, map[string]any{"subject": sealed, "status": models.PrivacyRunning}); err != nil {
		return EraseLocalResult{}, err
	}
	counts, err := p.Store.ScrubSubject(ctx, in.OrganizationID, subject.NewMatcher(s))
	if err != nil {
		return EraseLocalResult{}, err
	}
	var hashes []string
	for _, a := range s.AllEmails() {
		hashes = append(hashes, subject.EmailHash(a))
	}
	if err := p.Store.Suppress(ctx, in.OrganizationID, in.ErasureID, hashes); err != nil {
		return EraseLocalResult{}, err
	}
	var total int64
	err = p.updateReport(ctx, in, func(r *ErasureReport) {
		for t, n := range counts {
			r.Local[t] += n
			total += n
		}
		r.Suppressed = len(hashes)
	})
	return EraseLocalResult{Rows: total}, err
}

// ErasureTarget is one integration to erase the subject at.
type ErasureTarget struct {
	IntegrationID   string
	IntegrationType string
}

// ErasureTargetsResult lists the integrations to ask.
type ErasureTargetsResult struct {
	Targets []ErasureTarget
}

// ErasureTargets lists the organization's integrations whose connector
// can erase (Eraser) and that have no outcome yet; the others get their
// outcome now (not_supported, or not_possible when not connected).
func (p *Privacy) ErasureTargets(ctx context.Context, in ErasureInput) (ErasureTargetsResult, error) {
	var res ErasureTargetsResult
	if p.Integrations == nil {
		return res, nil
	}
	integs, err := p.Store.ListIntegrations(ctx, in.OrganizationID)
	if err != nil {
		return res, err
	}
	_, rep, err := p.report(ctx, in)
	if err != nil {
		return res, err
	}
	var now []SystemOutcome
	for _, ig := range integs {
		if hasOutcome(rep, ig.ID) {
			continue
		}
		prov, ok := p.Integrations.Catalog.Get(ig.IntegrationType)
		o := SystemOutcome{IntegrationID: ig.ID, IntegrationType: ig.IntegrationType, At: p.Store.Now()}
		switch _, can := prov.Connector.(providers.Eraser); {
		case !ok || !can:
			o.Status, o.Detail = EraseNotSupported, notSupportedReason(prov, ok)
			now = append(now, o)
		case ig.Status != models.IntegrationActive:
			o.Status, o.Detail = providers.EraseNotPossible, "the integration is "+ig.Status+"; reconnect it and request the erasure again"
			now = append(now, o)
		default:
			res.Targets = append(res.Targets, ErasureTarget{IntegrationID: ig.ID, IntegrationType: ig.IntegrationType})
		}
	}
	if len(now) > 0 {
		err = p.updateReport(ctx, in, func(r *ErasureReport) {
			for _, o := range now {
				if !hasOutcome(*r, o.IntegrationID) {
					r.Systems = append(r.Systems, o)
				}
			}
		})
	}
	return res, err
}

// notSupportedReason says why a connector does not erase (its catalog
// entry's NoErasure; docs/PRIVACY.md).
func notSupportedReason(prov providers.Provider, known bool) string {
	if known && prov.Info.NoErasure != "" {
		return prov.Info.NoErasure
	}
	return "this connector has no deletion call in Aqio Connect yet; erase the person in the provider by hand"
}

func hasOutcome(r ErasureReport, integrationID string) bool {
	for _, o := range r.Systems {
		if o.IntegrationID == integrationID {
			return true
		}
	}
	return false
}

func (p *Privacy) report(ctx context.Context, in ErasureInput) (models.PrivacyErasure, ErasureReport, error) {
	e, err := p.Store.GetErasure(ctx, in.OrganizationID, in.ErasureID)
	if err != nil {
		return e, ErasureReport{}, err
	}
	return e, readReport(e.Report), nil
}

// EraseAtProviderInput names one integration of one erasure.
type EraseAtProviderInput struct {
	OrganizationID string
	ErasureID      string
	IntegrationID  string
}

// EraseAtProviderResult is the recorded outcome (status only: the
// detail stays in the database).
type EraseAtProviderResult struct {
	Status  string
	Deleted int
}

// EraseAtProvider asks one integration's connector to erase the subject
// and records the outcome. An outcome already recorded is returned as
// is: a retried erasure never asks a provider twice. A provider error is
// returned without the subject's data in it (it goes into history).
func (p *Privacy) EraseAtProvider(ctx context.Context, in EraseAtProviderInput) (EraseAtProviderResult, error) {
	ein := ErasureInput{OrganizationID: in.OrganizationID, ErasureID: in.ErasureID}
	e, rep, err := p.report(ctx, ein)
	if err != nil {
		return EraseAtProviderResult{}, err
	}
	for _, o := range rep.Systems {
		if o.IntegrationID == in.IntegrationID {
			return EraseAtProviderResult{Status: o.Status, Deleted: o.Deleted}, nil
		}
	}
	st, err := openState(p.Ring, e.ID, e.Subject)
	if err != nil {
		return EraseAtProviderResult{}, err
	}
	s := st.Subject
	m := subject.NewMatcher(s)
	integ, prov, err := p.Integrations.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return EraseAtProviderResult{}, err
	}
	er, ok := prov.Connector.(providers.Eraser)
	if !ok {
		return EraseAtProviderResult{}, temporal.NewNonRetryableApplicationError("connector cannot erase", ErrTypeProviderPermanent, nil)
	}
	rt, _, err := p.Integrations.runtime(ctx, integ, prov)
	if err != nil {
		return EraseAtProviderResult{}, err
	}
	out, err := er.Erase(ctx, rt, providers.ErasureSubject{Emails: s.AllEmails(), UserID: s.UserID, Held: st.heldFor(integ.ID)})
	if err != nil {
		msg, _ := m.Redact(err.Error())
		pe, classified := providers.AsError(err)
		if classified && (pe.Kind == providers.KindPermanent || pe.Kind == providers.KindAuth) {
			out = providers.EraseOutcome{Status: EraseFailed, Detail: msg}
		} else {
			opts := temporal.ApplicationErrorOptions{}
			if classified && pe.RetryAfter > 0 {
				opts.NextRetryDelay = pe.RetryAfter
			}
			return EraseAtProviderResult{}, temporal.NewApplicationErrorWithOptions(msg, ErrTypeProviderRetryable, opts)
		}
	}
	out.Detail, _ = m.Redact(out.Detail)
	o := SystemOutcome{IntegrationID: integ.ID, IntegrationType: integ.IntegrationType, Status: out.Status, Deleted: out.Deleted, Detail: out.Detail, At: p.Store.Now()}
	err = p.updateReport(ctx, ein, func(r *ErasureReport) {
		if !hasOutcome(*r, o.IntegrationID) {
			r.Systems = append(r.Systems, o)
		}
	})
	return EraseAtProviderResult{Status: o.Status, Deleted: o.Deleted}, err
}

// EraseFailureInput records an integration the workflow gave up on.
type EraseFailureInput struct {
	OrganizationID, ErasureID, IntegrationID, IntegrationType string
	Reason                                                    string
}

// RecordEraseFailure records a failed outcome (retries exhausted).
func (p *Privacy) RecordEraseFailure(ctx context.Context, in EraseFailureInput) error {
	o := SystemOutcome{IntegrationID: in.IntegrationID, IntegrationType: in.IntegrationType, Status: EraseFailed, Detail: in.Reason, At: p.Store.Now()}
	return p.updateReport(ctx, ErasureInput{OrganizationID: in.OrganizationID, ErasureID: in.ErasureID}, func(r *ErasureReport) {
		if !hasOutcome(*r, o.IntegrationID) {
			r.Systems = append(r.Systems, o)
		}
	})
}

// ErasureEventID names the privacy.erasure_requested event of an erasure.
func ErasureEventID(erasureID string) string {
	sum := sha256.Sum256([]byte("privacy.erasure_requested|" + erasureID))
	return "evt_op_" + hex.EncodeToString(sum[:12])
}

// FinishErasure emits privacy.erasure_requested to the organization's
// webhooks (once: the event id is the erasure's) and completes the
// erasure, dropping the held objects from its sealed subject.
func (p *Privacy) FinishErasure(ctx context.Context, in ErasureInput) error {
	e, st, err := p.loadErasure(ctx, in)
	if err != nil {
		return err
	}
	s := st.Subject
	// A second pass catches what arrived while the providers were asked
	// (a delivery attempt in flight during the first pass records the
	// receiver's answer after it).
	late, err := p.Store.ScrubSubject(ctx, in.OrganizationID, subject.NewMatcher(s))
	if err != nil {
		return err
	}
	if e, err = p.Store.GetErasure(ctx, in.OrganizationID, in.ErasureID); err != nil {
		return err
	}
	rep := readReport(e.Report)
	for t, n := range late {
		rep.Local[t] += n
	}
	evID := ErasureEventID(e.ID)
	if p.Notifier != nil {
		hashes := []string{}
		for _, a := range s.AllEmails() {
			hashes = append(hashes, subject.EmailHash(a))
		}
		sort.Strings(hashes)
		var uid any
		if s.UserID != "" {
			uid = s.UserID
		}
		if err := p.Notifier.EmitOperational(ctx, e.OrganizationID, evID, eventtypes.PrivacyErasureRequested, map[string]any{
			"id": e.ID, "object": "privacy_erasure", "request_id": e.RequestID,
			"email_sha256": hashes, "user_id": uid, "requested_at": e.CreatedAt.UTC().Format(time.RFC3339),
		}); err != nil {
			return err
		}
		rep.EventID = evID
	}
	status := models.PrivacyCompleted
	for _, o := range rep.Systems {
		if o.Status == EraseFailed {
			status = models.PrivacyFailed
		}
	}
	b, _ := json.Marshal(rep)
	sealed, err := SealSubject(p.Ring, e.ID, s)
	if err != nil {
		return err
	}
	return p.Store.UpdateErasure(ctx, in.OrganizationID, in.ErasureID, map[string]any{
		"status": status, "completed_at": p.Store.Now(), "report": string(b), "subject": sealed})
}

// ExportInput names one access export.
type ExportInput struct {
	OrganizationID string
	ExportID       string
}

// ExportResult counts the exported records.
type ExportResult struct {
	Records int
	Bytes   int64
}

// ExportDocument is the access export of one subject.
type ExportDocument struct {
	ExportID       string              `json:"export_id"`
	OrganizationID string              `json:"organization_id"`
	GeneratedAt    time.Time           `json:"generated_at"`
	Subject        subject.Subject     `json:"subject"`
	Suppressed     bool                `json:"suppressed"`
	Records        []ExportRecord      `json:"records"`
	Processors     []ExportIntegration `json:"integrations"`
	Note           string              `json:"note"`
	Counts         map[string]int      `json:"counts"`
}

// ExportRecord is one stored row about the subject; fields holding JSON
// are embedded as JSON.
type ExportRecord struct {
	Table  string                     `json:"table"`
	Key    map[string]string          `json:"key"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// ExportIntegration is a connected system the subject's data may have gone to.
type ExportIntegration struct {
	IntegrationID   string `json:"integration_id"`
	IntegrationType string `json:"integration_type"`
	Name            string `json:"name"`
}

func exportAD(id string) []byte { return []byte(id) }

// OpenExport decrypts an export document.
func OpenExport(r *keyring.Ring, id, ciphertext string) ([]byte, error) {
	return r.Decrypt(ciphertext, exportAD(id))
}

// BuildExport gathers everything the organization holds about the
// subject into one JSON document and stores it encrypted until it is
// downloaded once.
func (p *Privacy) BuildExport(ctx context.Context, in ExportInput) (ExportResult, error) {
	x, err := p.Store.GetExport(ctx, in.OrganizationID, in.ExportID)
	if errors.Is(err, store.ErrNotFound) {
		return ExportResult{}, temporal.NewNonRetryableApplicationError("export not found", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return ExportResult{}, err
	}
	if x.Status != models.PrivacyPending {
		return ExportResult{}, nil // built already (a retried attempt)
	}
	s, err := OpenSubject(p.Ring, x.ID, x.Subject)
	if err != nil {
		return ExportResult{}, err
	}
	if s, err = p.discover(ctx, in.OrganizationID, s); err != nil {
		return ExportResult{}, err
	}
	recs, err := p.Store.CollectSubject(ctx, in.OrganizationID, subject.NewMatcher(s))
	if err != nil {
		return ExportResult{}, err
	}
	var hashes []string
	for _, a := range s.AllEmails() {
		hashes = append(hashes, subject.EmailHash(a))
	}
	suppressed, err := p.Store.Suppressed(ctx, in.OrganizationID, hashes)
	if err != nil {
		return ExportResult{}, err
	}
	doc := ExportDocument{ExportID: x.ID, OrganizationID: x.OrganizationID, GeneratedAt: p.Store.Now(), Subject: s,
		Suppressed: suppressed, Records: []ExportRecord{}, Processors: []ExportIntegration{}, Counts: map[string]int{},
		Note: "Everything Aqio Connect holds about the subject in this organization. Delivered webhooks and data pushed to the listed integrations are held by those systems too (see docs/PRIVACY.md)."}
	for _, r := range recs {
		er := ExportRecord{Table: r.Table, Key: r.Key, Fields: map[string]json.RawMessage{}}
		for k, v := range r.Fields {
			if json.Valid([]byte(v)) && (len(v) > 0 && (v[0] == '{' || v[0] == '[')) {
				er.Fields[k] = json.RawMessage(v)
			} else {
				b, _ := json.Marshal(v)
				er.Fields[k] = b
			}
		}
		doc.Records = append(doc.Records, er)
		doc.Counts[r.Table]++
	}
	if len(recs) > 0 {
		integs, err := p.Store.ListIntegrations(ctx, in.OrganizationID)
		if err != nil {
			return ExportResult{}, err
		}
		for _, ig := range integs {
			doc.Processors = append(doc.Processors, ExportIntegration{IntegrationID: ig.ID, IntegrationType: ig.IntegrationType, Name: ig.Name})
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return ExportResult{}, err
	}
	sealed, err := p.Ring.Encrypt(b, exportAD(x.ID))
	if err != nil {
		return ExportResult{}, err
	}
	if err := p.Store.SaveExport(ctx, in.OrganizationID, x.ID, sealed, int64(len(b))); err != nil {
		return ExportResult{}, err
	}
	return ExportResult{Records: len(doc.Records), Bytes: int64(len(b))}, nil
}

// FailExport marks an export that could not be built.
func (p *Privacy) FailExport(ctx context.Context, in ExportInput) error {
	return p.Store.FailExport(ctx, in.OrganizationID, in.ExportID)
}

// PersonalRetentionInput are the cutoffs of a retention run (zero: keep).
type PersonalRetentionInput struct {
	EventsBefore  time.Time
	ObjectsBefore time.Time
}

// PersonalRetentionResult counts what a retention run deleted.
type PersonalRetentionResult struct {
	Events  int64
	Objects int64
}

// PurgePersonalData deletes events (with their payloads) received before
// EventsBefore and integration objects not updated since ObjectsBefore,
// in batches, heartbeating.
func (p *Privacy) PurgePersonalData(ctx context.Context, in PersonalRetentionInput) (PersonalRetentionResult, error) {
	var res PersonalRetentionResult
	for !in.EventsBefore.IsZero() {
		n, err := p.Store.DeleteEventsBefore(ctx, in.EventsBefore, 1000)
		if err != nil {
			return res, err
		}
		res.Events += n
		heartbeat(ctx, res)
		if n < 1000 {
			break
		}
	}
	for !in.ObjectsBefore.IsZero() {
		n, err := p.Store.DeleteObjectsBefore(ctx, in.ObjectsBefore, 1000)
		if err != nil {
			return res, err
		}
		res.Objects += n
		heartbeat(ctx, res)
		if n < 1000 {
			break
		}
	}
	if p.Logger != nil && (res.Events > 0 || res.Objects > 0) {
		p.Logger.Info("retention removed personal data", "events", res.Events, "integration_objects", res.Objects)
	}
	return res, nil
}

func heartbeat(ctx context.Context, v any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, v)
	}
}
