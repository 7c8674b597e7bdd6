package activities

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/privacy/subject"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// SyncPageSize is how many Aqio objects one export activity handles.
const SyncPageSize = 50

// BeginSyncInput starts a sync run. SyncLogID is empty for scheduled runs
// (the activity creates the row).
type BeginSyncInput struct {
	IntegrationID  string
	OrganizationID string
	SyncLogID      string
	SyncType       string
	RetryOf        string
}

// BeginSyncResult is the run's row and where it starts.
type BeginSyncResult struct {
	SyncLogID string
	// Since is the cursor the run exports changes after ("" = everything).
	Since string
}

// BeginSync creates (or adopts) the sync log row and decides the start cursor.
func (a *Integrations) BeginSync(ctx context.Context, in BeginSyncInput) (BeginSyncResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return BeginSyncResult{}, err
	}
	if _, ok := p.Syncer(); !ok {
		return BeginSyncResult{}, temporal.NewNonRetryableApplicationError(p.DisplayName+" does not support syncs", ErrTypeProviderPermanent, nil)
	}
	info := activity.GetInfo(ctx)
	id := in.SyncLogID
	if id == "" {
		sum := sha256.Sum256([]byte(info.WorkflowExecution.RunID))
		id = "sync_" + hex.EncodeToString(sum[:16])
	}
	since := ""
	switch {
	case in.RetryOf != "":
		orig, err := a.Store.GetSyncLog(ctx, in.OrganizationID, in.IntegrationID, in.RetryOf)
		if err != nil {
			return BeginSyncResult{}, fmt.Errorf("load original sync %s: %w", in.RetryOf, err)
		}
		if orig.FromCursor != nil {
			since = *orig.FromCursor
		}
	case in.SyncType == "incremental":
		if since, err = a.Store.LastCompletedCursor(ctx, integ.ID); err != nil {
			return BeginSyncResult{}, err
		}
	}
	wf := info.WorkflowExecution.ID
	org := in.OrganizationID
	row := &models.IntegrationSyncLog{ID: id, IntegrationID: integ.ID, SyncType: in.SyncType, Direction: "export",
		Status: models.SyncRunning, OrganizationID: &org, WorkflowID: &wf}
	if in.RetryOf != "" {
		row.RetryOf = &in.RetryOf
	}
	if err := a.Store.CreateSyncLog(ctx, row); err != nil {
		return BeginSyncResult{}, err
	}
	cols := map[string]any{"workflow_id": wf, "from_cursor": nil}
	if since != "" {
		cols["from_cursor"] = since
	}
	if err := a.Store.FinishSyncLog(ctx, id, cols); err != nil {
		return BeginSyncResult{}, err
	}
	if err := requireActive(integ); err != nil {
		return BeginSyncResult{SyncLogID: id}, err
	}
	return BeginSyncResult{SyncLogID: id, Since: since}, nil
}

// RecordError is one record that failed, with the provider's reason.
type RecordError = providers.RecordError

// ExportPageInput is one page of a sync.
type ExportPageInput struct {
	IntegrationID  string
	OrganizationID string
	SyncLogID      string
	Since          string
	// After is the opaque page key ("" = first page).
	After string
}

// ExportPageResult counts one page.
type ExportPageResult struct {
	Processed, Created, Updated, Failed int
	Errors                              []RecordError
	Next                                string
	Done                                bool
	// Cursor is the newest object time seen (the next incremental start).
	Cursor string
}

func decodeKey(s string) (*store.ObjectKey, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var k store.ObjectKey
	return &k, json.Unmarshal(b, &k)
}

func encodeKey(k store.ObjectKey) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ExportPage exports one page of Aqio objects to the provider. A record
// the provider refuses is counted and described, not fatal; a rate limit
// fails the page with the provider's Retry-After so Temporal retries it
// later (writes are idempotent: calendar ids derive from Aqio ids).
func (a *Integrations) ExportPage(ctx context.Context, in ExportPageInput) (ExportPageResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return ExportPageResult{}, err
	}
	if err := requireActive(integ); err != nil {
		return ExportPageResult{}, err
	}
	after, err := decodeKey(in.After)
	if err != nil {
		return ExportPageResult{}, temporal.NewNonRetryableApplicationError("bad page key", ErrTypeProviderPermanent, err)
	}
	var since time.Time
	if in.Since != "" {
		if since, err = time.Parse(time.RFC3339Nano, in.Since); err != nil {
			return ExportPageResult{}, temporal.NewNonRetryableApplicationError("bad cursor", ErrTypeProviderPermanent, err)
		}
	}
	syncer, ok := p.Syncer()
	if !ok {
		return ExportPageResult{}, temporal.NewNonRetryableApplicationError(p.DisplayName+" does not support syncs", ErrTypeProviderPermanent, nil)
	}
	objs, err := a.Store.ListObjectsPage(ctx, in.OrganizationID, syncer.SyncObjectTypes(), since, after, SyncPageSize)
	if err != nil {
		return ExportPageResult{}, err
	}
	res := ExportPageResult{Done: len(objs) < SyncPageSize, Cursor: in.Since}
	if len(objs) == 0 {
		return res, nil
	}
	rt, _, err := a.runtime(ctx, integ, p)
	if err != nil {
		return res, err
	}
	page := make([]providers.Object, 0, len(objs))
	for _, o := range objs {
		// Objects of erased subjects are never exported (docs/PRIVACY.md).
		if erased, err := a.Store.Suppressed(ctx, in.OrganizationID, subject.ObjectEmailHashes([]byte(o.Data))); err != nil {
			return ExportPageResult{}, err
		} else if !erased {
			page = append(page, toObject(o))
		}
	}
	activity.RecordHeartbeat(ctx, in.After)
	var out providers.PageResult
	if len(page) > 0 {
		if out, err = syncer.ExportPage(ctx, rt, page); err != nil {
			return ExportPageResult{}, actionError(p.Type, err)
		}
	}
	res.Processed = len(objs)
	res.Created, res.Updated = out.Created, out.Updated
	res.Failed = len(out.Errors)
	res.Errors = out.Errors
	last := objs[len(objs)-1]
	res.Next = encodeKey(store.ObjectKey{UpdatedAt: last.UpdatedAt, Type: last.ObjectType, ID: last.ObjectID})
	res.Cursor = last.UpdatedAt.UTC().Format(time.RFC3339Nano)
	return res, nil
}

// FinishSyncInput is a run's outcome.
type FinishSyncInput struct {
	IntegrationID  string
	SyncLogID      string
	Status         string
	StartedAt      time.Time
	Processed      int
	Created        int
	Updated        int
	Failed         int
	Errors         []RecordError
	Cursor         string
	FailureMessage string
}

// FinishSync writes the outcome into the sync log row.
func (a *Integrations) FinishSync(ctx context.Context, in FinishSyncInput) error {
	now := a.now()
	errs := in.Errors
	if in.FailureMessage != "" {
		errs = append(errs, RecordError{Code: "sync_failed", Message: in.FailureMessage})
	}
	cols := map[string]any{
		"status": in.Status, "completed_at": now,
		"records_processed": in.Processed, "records_created": in.Created,
		"records_updated": in.Updated, "records_failed": in.Failed,
	}
	row := &models.IntegrationSyncLog{}
	if err := a.Store.DB().WithContext(ctx).Where("id = ?", in.SyncLogID).Take(row).Error; err == nil {
		cols["duration_seconds"] = int(now.Sub(row.StartedAt).Round(time.Second).Seconds())
	}
	if len(errs) > 0 {
		b, _ := json.Marshal(errs)
		cols["error_details"] = string(b)
	}
	if in.Cursor != "" {
		cols["sync_cursor"] = in.Cursor
	}
	if err := a.Store.FinishSyncLog(ctx, in.SyncLogID, cols); err != nil {
		return fmt.Errorf("finish sync %s: %w", in.SyncLogID, err)
	}
	if in.Status == models.SyncCompleted {
		return a.Store.SetIntegrationSynced(ctx, in.IntegrationID, now)
	}
	return nil
}
