package webhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/listen"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/signing"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// ListenIn asks for a listen session (`aqio-connect listen`): the events
// to subscribe to (default every domain event), the CLI's local URL
// (shown, never dialed by the service) and how long the session outlives
// its CLI's last heartbeat (default listen.DefaultTTL).
type ListenIn struct {
	ForwardTo  *string   `json:"forward_to"`
	Events     *[]string `json:"events"`
	TTLSeconds *int      `json:"ttl_seconds"`
}

// ListenCreated is a new session with its webhook and the signing secret
// (shown once) the CLI's forwarded requests are signed with.
type ListenCreated struct {
	Session    models.ListenSession
	Webhook    models.Webhook
	Secret     string
	WorkflowID string
	RunID      string
}

// Delivery settings of a session's webhook: a local receiver answers fast,
// and a developer watching it wants retries in seconds, not minutes.
const (
	listenTimeoutSeconds    = 15
	listenRetryCount        = 3
	listenRetryDelaySeconds = 5
)

func (s *Service) listenStore() *listen.Store {
	return &listen.Store{DB: s.Store.DB(), Now: s.Now}
}

// CreateListenSession makes a temporary endpoint of the organization: a
// webhook delivering to aqio-listen://<session id>, its session row, and
// the ListenSession run that deletes both once the CLI is gone.
func (s *Service) CreateListenSession(ctx context.Context, orgID string, in ListenIn) (ListenCreated, error) {
	if in.ForwardTo == nil {
		return ListenCreated{}, invalid("forward_to", "is required: the local URL the CLI forwards to")
	}
	fwd := strings.TrimSpace(*in.ForwardTo)
	if u, err := url.Parse(fwd); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(fwd) > 2048 {
		return ListenCreated{}, invalid("forward_to", "must be an absolute http or https URL of at most 2048 characters")
	}
	events := []string{"*"}
	if in.Events != nil {
		events = *in.Events
	}
	cols, err := s.validate(ctx, Fields{Events: &events})
	if err != nil {
		return ListenCreated{}, err
	}
	ttl := listen.DefaultTTL
	if in.TTLSeconds != nil {
		ttl = time.Duration(*in.TTLSeconds) * time.Second
		if ttl < listen.MinTTL || ttl > listen.MaxTTL {
			return ListenCreated{}, invalid("ttl_seconds", "must be between %d and %d", int(listen.MinTTL.Seconds()), int(listen.MaxTTL.Seconds()))
		}
	}
	sessionID := ids.New("ls")
	name := "aqio-connect listen → " + fwd
	if len(name) > 200 {
		name = name[:197] + "..."
	}
	w := models.Webhook{
		ID: ids.New("wh"), OrganizationID: orgID, Name: name, URL: listen.URL(sessionID),
		Events: cols["events"].(string), ContentType: "application/json",
		TimeoutSeconds: listenTimeoutSeconds, RetryCount: listenRetryCount, RetryDelaySeconds: listenRetryDelaySeconds,
		IsActive: true, SignatureScheme: signing.SchemeHMAC,
	}
	key, secret, _, err := newSigningKey(signing.SchemeHMAC)
	if err != nil {
		return ListenCreated{}, err
	}
	if w.Secret, err = s.Ring.Encrypt([]byte(key), []byte(w.ID)); err != nil {
		return ListenCreated{}, err
	}
	if err := s.Store.CreateWebhook(ctx, &w); err != nil {
		return ListenCreated{}, err
	}
	ls := models.ListenSession{ID: sessionID, OrganizationID: orgID, WebhookID: w.ID, ForwardTo: fwd, TTLSeconds: int(ttl.Seconds())}
	ss := s.listenStore()
	if err := ss.CreateSession(ctx, nil, &ls); err != nil {
		_ = s.Store.DeleteWebhook(context.WithoutCancel(ctx), orgID, w.ID)
		return ListenCreated{}, err
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.ListenSessionWorkflowID(sessionID),
		TaskQueue: workflows.WebhooksQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrOrganizationID.ValueSet(orgID),
			workflows.AttrWebhookID.ValueSet(w.ID),
		),
	}, workflows.ListenSession, workflows.ListenSessionInput{SessionID: sessionID})
	if err != nil {
		// Without its run nothing would remove the endpoint: do not leave it.
		_ = s.Store.DeleteWebhook(context.WithoutCancel(ctx), orgID, w.ID)
		return ListenCreated{}, fmt.Errorf("start listen session run: %w", err)
	}
	return ListenCreated{Session: ls, Webhook: w, Secret: secret, WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// ListenSession loads a session of the organization (listen.ErrNotFound).
func (s *Service) ListenSession(ctx context.Context, orgID, id string) (models.ListenSession, error) {
	return s.listenStore().Session(ctx, orgID, id)
}

// EndListenSession deletes the session's webhook (its pending runs are
// cancelled) and with it the session.
func (s *Service) EndListenSession(ctx context.Context, orgID, id string) error {
	ls, err := s.listenStore().Session(ctx, orgID, id)
	if err != nil {
		return err
	}
	err = s.Delete(ctx, orgID, ls.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return listen.ErrNotFound
	}
	return err
}

// ServeListenSession writes the session's stream to w until ctx ends or
// the session does (listen.Store.Serve); b wakes it at once for messages
// written in this process.
func (s *Service) ServeListenSession(ctx context.Context, w io.Writer, flush func(), ls models.ListenSession, b *listen.Broker) error {
	return s.listenStore().Serve(ctx, w, flush, ls, b)
}

// AnswerListen records the CLI's report of its local receiver's response
// to a message of the organization's session and wakes the attempt
// waiting for it (listen.ErrNotFound: no such session, or the attempt
// stopped waiting).
func (s *Service) AnswerListen(ctx context.Context, orgID, sessionID, messageID string, a listen.Answer, b *listen.Broker) error {
	ss := s.listenStore()
	if _, err := ss.Session(ctx, orgID, sessionID); err != nil {
		return err
	}
	if a.Error == "" && (a.Status < 100 || a.Status > 599) {
		return invalid("status", "must be an HTTP status between 100 and 599 (or give error)")
	}
	if err := ss.RecordAnswer(ctx, sessionID, messageID, a); err != nil {
		return err
	}
	b.Answered(messageID)
	return nil
}
