// Package privacy is the data-subject request service: erasure and
// access-export requests are recorded (the subject encrypted, only hashes
// in the clear) and handed to their Temporal workflows. The subject's
// recognition and redaction rules are in privacy/subject. See
// docs/PRIVACY.md.
package privacy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/privacy/subject"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// Service accepts data-subject requests: it writes the request row
// (subject encrypted) and starts its workflow. It never erases or
// exports itself.
type Service struct {
	Store    *store.Store
	Ring     *keyring.Ring
	Temporal client.Client
	// UIURL and Namespace build links to runs in the Temporal UI.
	UIURL, Namespace string
}

// Request is one data-subject request.
type Request struct {
	OrganizationID string
	RequestID      string
	Email          string
	UserID         string
	RequestedBy    string
	// Audit is the request's audit entry (action, actor; the target is
	// the new row), written in the transaction that records the request;
	// nil: none.
	Audit *audit.Entry
}

// ErrRequestReused: the request id was used for another subject.
var ErrRequestReused = store.ErrRequestReused

func (r Request) hashes() (*string, *string) {
	var eh, uh *string
	if h := subject.EmailHash(r.Email); h != "" {
		eh = &h
	}
	if h := subject.UserIDHash(r.UserID); h != "" {
		uh = &h
	}
	return eh, uh
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RequestErasure records an erasure request and starts its Erasure run.
// The same request id again returns the first request (created false)
// and starts nothing new.
func (s *Service) RequestErasure(ctx context.Context, r Request) (models.PrivacyErasure, bool, error) {
	id := "era_" + uuid.NewString()
	sealed, err := activities.SealSubject(s.Ring, id, subject.Subject{Email: subject.NormalizeEmail(r.Email), UserID: r.UserID})
	if err != nil {
		return models.PrivacyErasure{}, false, err
	}
	eh, uh := r.hashes()
	now := s.Store.Now()
	row := &models.PrivacyErasure{ID: id, OrganizationID: r.OrganizationID, RequestID: r.RequestID, EmailHash: eh, UserIDHash: uh,
		Subject: sealed, Status: models.PrivacyPending, WorkflowID: workflows.ErasureWorkflowID(r.OrganizationID, id),
		RequestedBy: nullable(r.RequestedBy), CreatedAt: now, UpdatedAt: now}
	got, existing, err := s.Store.CreateErasure(ctx, row, r.Audit)
	if err != nil {
		return got, false, err
	}
	if got.Status == models.PrivacyPending {
		// Started again (same id) when a first start was lost; Temporal
		// keeps the run it has.
		if err := s.start(ctx, got.WorkflowID, got.OrganizationID, workflows.Erasure, workflows.ErasureInput{OrganizationID: got.OrganizationID, ErasureID: got.ID}); err != nil {
			return got, !existing, err
		}
	}
	return got, !existing, nil
}

// RequestExport records an access-export request and starts its Export run.
func (s *Service) RequestExport(ctx context.Context, r Request) (models.PrivacyExport, bool, error) {
	id := "exp_" + uuid.NewString()
	sealed, err := activities.SealSubject(s.Ring, id, subject.Subject{Email: subject.NormalizeEmail(r.Email), UserID: r.UserID})
	if err != nil {
		return models.PrivacyExport{}, false, err
	}
	eh, uh := r.hashes()
	row := &models.PrivacyExport{ID: id, OrganizationID: r.OrganizationID, RequestID: r.RequestID, EmailHash: eh, UserIDHash: uh,
		Subject: sealed, Status: models.PrivacyPending, WorkflowID: workflows.ExportWorkflowID(r.OrganizationID, id),
		RequestedBy: nullable(r.RequestedBy), CreatedAt: s.Store.Now()}
	got, existing, err := s.Store.CreateExport(ctx, row, r.Audit)
	if err != nil {
		return got, false, err
	}
	if got.Status == models.PrivacyPending {
		if err := s.start(ctx, got.WorkflowID, got.OrganizationID, workflows.Export, workflows.ExportInput{OrganizationID: got.OrganizationID, ExportID: got.ID}); err != nil {
			return got, !existing, err
		}
	}
	return got, !existing, nil
}

func (s *Service) start(ctx context.Context, id, orgID string, wf any, in any) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.WebhooksQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowRunTimeout:       7 * 24 * time.Hour,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.AttrOrganizationID.ValueSet(orgID)),
	}, wf, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// GetErasure loads an erasure of the organization.
func (s *Service) GetErasure(ctx context.Context, orgID, id string) (models.PrivacyErasure, error) {
	return s.Store.GetErasure(ctx, orgID, id)
}

// GetExport loads an export of the organization.
func (s *Service) GetExport(ctx context.Context, orgID, id string) (models.PrivacyExport, error) {
	return s.Store.GetExport(ctx, orgID, id)
}

// ErrGone is an export already downloaded; ErrNotReady one still being built.
var (
	ErrGone     = store.ErrGone
	ErrNotReady = errors.New("export not ready")
)

// DownloadExport returns an export's document and deletes it: it can be
// downloaded once.
func (s *Service) DownloadExport(ctx context.Context, orgID, id string) ([]byte, error) {
	sealed, err := s.Store.TakeExport(ctx, orgID, id)
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrNotReady
	}
	if err != nil {
		return nil, err
	}
	return activities.OpenExport(s.Ring, id, sealed)
}

// RunURL links a workflow run in the Temporal UI ("" without a UI).
func (s *Service) RunURL(workflowID string) string {
	if s.UIURL == "" {
		return ""
	}
	ns := s.Namespace
	if ns == "" {
		ns = "default"
	}
	return s.UIURL + "/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(workflowID)
}
