// Package webhooks is the webhook domain service: it validates and stores
// webhook configuration, ingests domain events and starts their delivery
// workflows. The API calls it; it never performs a delivery itself.
package webhooks

import (
	"context"
	"net"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aqio/connect/filters"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// Starter is the part of the Temporal client the service uses.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow interface{}, args ...interface{}) (client.WorkflowRun, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	CancelWorkflow(ctx context.Context, workflowID string, runID string) error
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...interface{}) (converter.EncodedValue, error)
	GetWorkflow(ctx context.Context, workflowID string, runID string) client.WorkflowRun
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg interface{},
		options client.StartWorkflowOptions, workflow interface{}, workflowArgs ...interface{}) (client.WorkflowRun, error)
}

// Service holds the webhook service's dependencies.
type Service struct {
	Store    *store.Store
	Ring     *keyring.Ring
	Temporal Starter
	// AllowPrivate lets webhook URLs point at private and loopback addresses.
	AllowPrivate bool
	// Resolver checks host names on save (nil: skip the DNS check).
	Resolver *net.Resolver
	// UIURL and Namespace build links into the Temporal UI ("" UIURL: none).
	UIURL     string
	Namespace string
	Now       func() time.Time
	// Filters compiles and caches filter expressions (nil: made on first use).
	Filters     *filters.Compiler
	filtersOnce sync.Once
	filtersErr  error
	// Observers see every stored domain event (integrations keep object
	// state and start pushes).
	Observers []EventObserver

	// StaleClaim is how long outbox rows claimed by a dispatcher may wait
	// for their workflow before another dispatcher starts it
	// (0: DefaultStaleClaim).
	StaleClaim time.Duration
	// SignalBatchMax: an outbox batch of at most this many messages, of a
	// webhook whose circuit is closed, is handed to the webhook's Endpoint
	// run (signal) instead of starting a DeliveryBatch run (0: never).
	SignalBatchMax int
	// Pump: the dispatcher starts a webhook's endpoint pump when it hands
	// the webhook's messages to a DeliveryBatch run (dispatcher.go).
	Pump  bool
	pumps pumpState

	dispatcherMu sync.Mutex
	dispatcher   *dispatcher

	// wokenAt is when this process last woke each endpoint workflow for
	// parked messages (dispatcher.go).
	wokenMu sync.Mutex
	wokenAt map[string]time.Time
}

// EventObserver is told about each ingested domain event: Record inside
// the transaction that stores it (st is bound to it), Observe after the
// commit when Record asked for it. Both must be idempotent per event: a
// client's retry of an event whose Observe failed runs them again.
type EventObserver interface {
	Record(ctx context.Context, st *store.Store, ev models.Event) (after bool, err error)
	Observe(ctx context.Context, ev models.Event) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// WorkflowURL links a run in the Temporal UI ("" when no UI is configured).
func (s *Service) WorkflowURL(workflowID, runID string) string {
	if s.UIURL == "" {
		return ""
	}
	u := s.UIURL + "/namespaces/" + s.Namespace + "/workflows/" + pathEscape(workflowID)
	if runID != "" {
		u += "/" + runID
	}
	return u + "/history"
}
