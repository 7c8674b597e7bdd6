// Package activities holds every side effect of the workflows: HTTP to
// endpoints and providers, and the database writes that project workflow
// progress into tables the API lists.
package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/egress"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/metrics"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/payload"
	"github.com/aqio/connect/signing"
	"github.com/aqio/connect/store"
)

// Error types the delivery workflow's retry policy treats specially.
const (
	ErrTypeHTTPClientError = "HTTPClientError" // 4xx other than 408/409/425/429: not retried
	ErrTypeGone            = "HTTPGone"        // 410: not retried, webhook deactivated
	ErrTypeWebhookInactive = "WebhookInactive" // deleted or disabled: not retried
	ErrTypeRetryable       = "DeliveryRetryable"
)

// NonRetryableErrorTypes go into the delivery RetryPolicy.
var NonRetryableErrorTypes = []string{ErrTypeHTTPClientError, ErrTypeGone, ErrTypeWebhookInactive}

// MaxRetryInterval caps the exponential backoff and a Retry-After header.
const MaxRetryInterval = 24 * time.Hour

// UserAgent names the service on every outbound request.
const UserAgent = "Aqio-Connect-Webhooks/1.0 (+https://aqio.app)"

// Deliveries performs webhook deliveries.
type Deliveries struct {
	Store             *store.Store
	Ring              *keyring.Ring
	HTTP              *http.Client
	Metrics           *metrics.Metrics
	Logger            *slog.Logger
	ResponseBodyLimit int
	Now               func() time.Time
	// AutoDisableAfter is how long a webhook may fail without a success
	// before it is disabled (0: DefaultAutoDisableAfter).
	AutoDisableAfter time.Duration
	// Notifier emits operational events (webhook.disabled); may be nil.
	Notifier Notifier
	// Endpoints wakes a webhook's endpoint workflow, which owns the
	// retries of its messages (parked) and its circuit breaker. Nil: a
	// batch hands each retrying message to its own Delivery run instead.
	Endpoints EndpointWaker
}

// AttemptInput identifies one delivery attempt's message.
type AttemptInput struct {
	OrganizationID    string
	WebhookID         string
	EventID           string
	MessageID         string
	RedeliveryOf      string
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
	// AttemptOffset counts attempts already made by an earlier activity of
	// the same run (1 when a local first attempt failed).
	AttemptOffset int32
}

// AttemptResult is a successful attempt.
type AttemptResult struct {
	DeliveryID string
	StatusCode int
	DurationMS int64
	Attempt    int32
}

// Deliver makes one HTTP attempt and records it as a webhook_deliveries
// row. Its error decides what Temporal does next.
func (d *Deliveries) Deliver(ctx context.Context, in AttemptInput) (AttemptResult, error) {
	info := activity.GetInfo(ctx)
	// Attempts made before this activity (the workflow's first attempt runs
	// as a local activity) shift the numbering so rows stay in order.
	attempt := info.Attempt + in.AttemptOffset
	row := &models.WebhookDelivery{
		ID:             newDeliveryID(),
		WebhookID:      in.WebhookID,
		OrganizationID: in.OrganizationID,
		EventID:        &in.EventID,
		MessageID:      in.MessageID,
		WorkflowID:     info.WorkflowExecution.ID,
		RunID:          info.WorkflowExecution.RunID,
		AttemptedAt:    d.now(),
		Status:         models.DeliveryPending,
		IsRetry:        attempt > 1 || in.RedeliveryOf != "",
		RetryNumber:    int(attempt - 1),
	}
	if in.RedeliveryOf != "" {
		row.RedeliveryOf = &in.RedeliveryOf
	}

	wh, err := d.Store.GetWebhook(ctx, in.OrganizationID, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted: its rows are gone with it, nothing to record.
		d.count("cancelled", 0)
		return AttemptResult{}, temporal.NewNonRetryableApplicationError("webhook was deleted", ErrTypeWebhookInactive, nil)
	}
	if err != nil {
		return AttemptResult{}, fmt.Errorf("load webhook %s: %w", in.WebhookID, err)
	}
	ev, err := d.Store.GetEvent(ctx, in.OrganizationID, in.EventID)
	if err != nil {
		return AttemptResult{}, fmt.Errorf("load event %s: %w", in.EventID, err)
	}
	row.EventType = ev.Type
	row.Payload = ev.Payload
	if !wh.IsActive {
		return AttemptResult{}, d.finish(ctx, row, models.DeliveryCancelled, "webhook is disabled", true,
			temporal.NewNonRetryableApplicationError("webhook is disabled", ErrTypeWebhookInactive, nil))
	}

	t, err := d.prepare(wh)
	if err != nil {
		return AttemptResult{}, err
	}
	timeout := time.Duration(in.TimeoutSeconds) * time.Second
	m, err := d.build(t, ev, in.MessageID, row)
	if err != nil {
		return AttemptResult{}, err
	}
	// In the log before the request goes out (docs/WEBHOOKS.md, "Every
	// send is recorded").
	if err := d.Store.BeginAttempts(ctx, row.RunID, nil, []*models.WebhookDelivery{row}); err != nil {
		return AttemptResult{}, fmt.Errorf("record attempt start: %w", err)
	}
	oc := d.post(ctx, t, m, timeout, row)
	switch oc.kind {
	case outcomeSuccess:
		if err := d.finishOK(ctx, row, oc.elapsed); err != nil {
			return AttemptResult{}, err
		}
		return AttemptResult{DeliveryID: row.ID, StatusCode: oc.code, DurationMS: *row.DurationMS, Attempt: attempt}, nil
	case outcomeGone:
		if err := d.deactivateGone(ctx, wh, row.AttemptedAt); err != nil {
			return AttemptResult{}, err
		}
		return AttemptResult{}, d.finishObserved(ctx, row, oc.msg, oc.elapsed,
			temporal.NewNonRetryableApplicationError("endpoint answered 410 Gone", ErrTypeGone, nil))
	case outcomeRetryable:
		return AttemptResult{}, d.retryOrFail(ctx, row, in, oc.msg, oc.retryAfter, oc.elapsed)
	default: // outcomeRejected
		return AttemptResult{}, d.finishObserved(ctx, row, oc.msg, oc.elapsed,
			temporal.NewNonRetryableApplicationError(oc.msg, ErrTypeHTTPClientError, nil))
	}
}

// target is a webhook made ready to send to: secrets decrypted, payload
// settings parsed. A batch prepares it once for all its messages.
type target struct {
	wh                  models.Webhook
	secrets             []string
	authName, authValue string
	settings            payload.Settings
	customHeaders       map[string]string
}

func (d *Deliveries) prepare(wh models.Webhook) (*target, error) {
	t := &target{wh: wh}
	var err error
	if t.secrets, err = d.signingSecrets(wh); err != nil {
		return nil, err
	}
	if t.authName, t.authValue, err = d.destinationAuth(wh); err != nil {
		return nil, err
	}
	if t.settings, t.customHeaders, err = payload.ForWebhook(wh); err != nil {
		return nil, err
	}
	return t, nil
}

type outcomeKind int

const (
	outcomeSuccess   outcomeKind = iota
	outcomeRetryable             // transport error, 408/409/425/429, 5xx
	outcomeRejected              // any other status, a blocked address, an unusable URL: not retried
	outcomeGone                  // 410: not retried, webhook deactivated
)

// outcome is what one HTTP attempt came to.
type outcome struct {
	kind       outcomeKind
	code       int
	msg        string
	retryAfter time.Duration
	elapsed    time.Duration
}

// message is one request ready to go: body and headers built and signed.
type message struct {
	body    []byte
	headers http.Header
	// rejected is set when the message cannot be sent (e.g. signing
	// failed): the attempt fails without a request.
	rejected string
}

// build builds and signs one message and fills in the attempt row
// (payload as it will be sent, request headers without credentials). An
// error means the payload could not be built: nothing is recorded or sent.
func (d *Deliveries) build(t *target, ev models.Event, messageID string, row *models.WebhookDelivery) (*message, error) {
	body, contentType, err := payload.Build(t.settings, []byte(ev.Payload))
	if err != nil {
		return nil, fmt.Errorf("build payload of event %s: %w", ev.ID, err)
	}
	row.Payload = string(body) // the log shows exactly what was sent (and signed)
	ts := d.now().Unix()
	sig, err := signing.Sign(t.secrets, messageID, ts, body)
	if err != nil {
		return &message{body: body, rejected: "sign payload: " + err.Error()}, nil
	}
	reqHeaders := http.Header{}
	payload.SetHeaders(reqHeaders, t.customHeaders) // first, so they never override ours
	reqHeaders.Set("Content-Type", contentType)
	reqHeaders.Set("User-Agent", UserAgent)
	reqHeaders.Set("webhook-id", messageID)
	reqHeaders.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	row.RequestHeaders = jsonHeaders(reqHeaders) // recorded before the signature and credentials are added
	reqHeaders.Set("webhook-signature", sig)
	if t.authName != "" {
		reqHeaders.Set(t.authName, t.authValue)
	}
	return &message{body: body, headers: reqHeaders}, nil
}

// post sends a built message and fills in the attempt row's response.
func (d *Deliveries) post(ctx context.Context, t *target, m *message, timeout time.Duration, row *models.WebhookDelivery) outcome {
	if m.rejected != "" {
		return outcome{kind: outcomeRejected, msg: m.rejected}
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodPost, t.wh.URL, bytes.NewReader(m.body))
	if err != nil {
		return outcome{kind: outcomeRejected, msg: "invalid webhook URL: " + err.Error()}
	}
	req.Header = m.headers

	start := time.Now()
	resp, err := d.HTTP.Do(req)
	elapsed := time.Since(start)
	ms := elapsed.Milliseconds()
	row.DurationMS = &ms
	if err != nil {
		msg := describeTransportError(err, timeout)
		if errors.Is(err, egress.ErrBlockedAddress) {
			return outcome{kind: outcomeRejected, msg: msg}
		}
		return outcome{kind: outcomeRetryable, msg: msg, elapsed: elapsed}
	}
	respBody, truncated, _ := egress.ReadLimited(resp.Body, d.ResponseBodyLimit)
	resp.Body.Close()
	code := resp.StatusCode
	row.ResponseStatusCode = &code
	row.ResponseHeaders = jsonHeaders(resp.Header)
	bodyStr := string(bytes.ToValidUTF8(respBody, []byte("\uFFFD")))
	if truncated {
		bodyStr += "…[truncated]"
	}
	row.ResponseBody = &bodyStr

	oc := outcome{code: code, elapsed: elapsed}
	switch {
	case code >= 200 && code < 300:
		oc.kind = outcomeSuccess
	case code == http.StatusGone:
		oc.kind, oc.msg = outcomeGone, "endpoint answered 410 Gone; webhook deactivated"
	case retryableStatus(code):
		oc.kind, oc.msg, oc.retryAfter = outcomeRetryable, fmt.Sprintf("endpoint answered %d", code), retryAfter(resp.Header, d.now())
	default:
		oc.kind, oc.msg = outcomeRejected, fmt.Sprintf("endpoint answered %d (not retried)", code)
	}
	return oc
}

// goneReason is the disabled_reason of a webhook whose endpoint answered 410.
const goneReason = "endpoint answered 410 Gone"

// deactivateGone turns a webhook off because its endpoint answered 410
// and emits webhook.disabled, as auto-disable does. failingSince is when
// the run of failures that ended with the 410 began (the 410 itself when
// the attempt before it succeeded).
func (d *Deliveries) deactivateGone(ctx context.Context, wh models.Webhook, goneAt time.Time) error {
	since := goneAt
	if s, failing, err := d.Store.FailingSince(ctx, wh.ID); err != nil {
		return err
	} else if failing && s.Before(since) {
		since = s
	}
	return d.disable(ctx, wh.OrganizationID, wh.ID, goneReason, since)
}

// retryableStatus: 408, 409, 425, 429 and 5xx are retried.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

func (d *Deliveries) retryOrFail(ctx context.Context, row *models.WebhookDelivery, in AttemptInput, msg string, after, elapsed time.Duration) error {
	next, final := d.schedule(row, in.RetryCount, in.RetryDelaySeconds, after)
	if final {
		msg = fmt.Sprintf("%s; gave up after %d attempts", msg, row.RetryNumber+1)
		d.observe("failed", elapsed)
		return d.finish(ctx, row, models.DeliveryFailed, msg, true,
			temporal.NewApplicationError(msg, ErrTypeRetryable))
	}
	d.observe("retry", elapsed)
	opts := temporal.ApplicationErrorOptions{}
	if after > 0 {
		opts.NextRetryDelay = next
	}
	return d.finish(ctx, row, models.DeliveryFailed, msg, false,
		temporal.NewApplicationErrorWithOptions(msg, ErrTypeRetryable, opts))
}

// schedule decides what follows a retryable failure of the attempt in row:
// final when retry_count retries are used up, otherwise the delay to the
// next attempt (Retry-After when given, else the backoff), which it also
// writes to row.NextRetryAt.
func (d *Deliveries) schedule(row *models.WebhookDelivery, retryCount, delaySeconds int, after time.Duration) (time.Duration, bool) {
	attempt := row.RetryNumber + 1
	if attempt >= retryCount+1 {
		return 0, true
	}
	next := after
	if next <= 0 {
		next = backoff(delaySeconds, attempt)
	}
	next = min(next, MaxRetryInterval)
	at := d.now().Add(next)
	row.NextRetryAt = &at
	return next, false
}

// backoff mirrors the workflow's RetryPolicy: delay * 2^(attempt-1).
func backoff(delaySeconds, attempt int) time.Duration {
	d := time.Duration(delaySeconds) * time.Second
	if d <= 0 {
		d = time.Second
	}
	for i := 1; i < attempt && d < MaxRetryInterval; i++ {
		d *= 2
	}
	return min(d, MaxRetryInterval)
}

func (d *Deliveries) finishOK(ctx context.Context, row *models.WebhookDelivery, elapsed time.Duration) error {
	d.observe("success", elapsed)
	return d.finish(ctx, row, models.DeliverySuccess, "", true, nil)
}

func (d *Deliveries) finishObserved(ctx context.Context, row *models.WebhookDelivery, msg string, elapsed time.Duration, cause error) error {
	d.observe("failed", elapsed)
	return d.finish(ctx, row, models.DeliveryFailed, msg, true, cause)
}

// finish records the attempt's outcome. If recording fails, the activity
// returns that error and Temporal retries the attempt: the retry marks this
// attempt's row interrupted (the endpoint may have received it) and sends
// again in a row of its own.
func (d *Deliveries) finish(ctx context.Context, row *models.WebhookDelivery, status, msg string, final bool, cause error) error {
	d.settle(row, status, msg, final)
	if status == models.DeliveryCancelled {
		d.count("cancelled", 0)
	}
	if err := d.Store.RecordAttempt(ctx, row); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	if final && status == models.DeliveryFailed {
		if err := d.autoDisable(ctx, row.OrganizationID, row.WebhookID); err != nil {
			return fmt.Errorf("auto-disable check: %w", err)
		}
	}
	return cause
}

func (d *Deliveries) observe(outcome string, elapsed time.Duration) {
	d.count(outcome, elapsed)
}

func (d *Deliveries) count(outcome string, elapsed time.Duration) {
	if d.Metrics == nil {
		return
	}
	d.Metrics.DeliveryAttempts.WithLabelValues(outcome).Inc()
	if elapsed > 0 {
		d.Metrics.DeliveryLatency.WithLabelValues(outcome).Observe(elapsed.Seconds())
	}
}

func (d *Deliveries) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// retryAfter reads a Retry-After header (seconds or HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func describeTransportError(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no response within %s", timeout)
	case errors.Is(err, egress.ErrBlockedAddress):
		return "destination address is not allowed (private, loopback or metadata range)"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return "request failed: " + uerr.Err.Error()
	}
	return "request failed: " + err.Error()
}

func jsonHeaders(h http.Header) *string {
	flat := make(map[string]string, len(h))
	for k, v := range h {
		flat[k] = strings.Join(v, ", ")
	}
	b, _ := json.Marshal(flat)
	s := string(b)
	return &s
}

func newDeliveryID() string { return ids.New("dlv") }

// activityWorkflow is the workflow execution an activity runs for.
func activityWorkflow(ctx context.Context) struct{ ID, RunID string } {
	info := activity.GetInfo(ctx)
	return struct{ ID, RunID string }{info.WorkflowExecution.ID, info.WorkflowExecution.RunID}
}
