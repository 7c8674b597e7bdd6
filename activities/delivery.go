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

	secrets, err := d.signingSecrets(wh)
	if err != nil {
		return AttemptResult{}, err
	}
	authName, authValue, err := d.destinationAuth(wh)
	if err != nil {
		return AttemptResult{}, err
	}

	settings, customHeaders, err := payload.ForWebhook(wh)
	if err != nil {
		return AttemptResult{}, err
	}
	body, contentType, err := payload.Build(settings, []byte(ev.Payload))
	if err != nil {
		return AttemptResult{}, fmt.Errorf("build payload of event %s: %w", ev.ID, err)
	}
	row.Payload = string(body) // the log shows exactly what was sent (and signed)
	ts := d.now().Unix()
	sig, err := signing.Sign(secrets, in.MessageID, ts, body)
	if err != nil {
		return AttemptResult{}, temporal.NewNonRetryableApplicationError("sign payload: "+err.Error(), ErrTypeWebhookInactive, nil)
	}
	reqHeaders := http.Header{}
	payload.SetHeaders(reqHeaders, customHeaders) // first, so they never override ours
	reqHeaders.Set("Content-Type", contentType)
	reqHeaders.Set("User-Agent", UserAgent)
	reqHeaders.Set("webhook-id", in.MessageID)
	reqHeaders.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	row.RequestHeaders = jsonHeaders(reqHeaders) // recorded before the signature and credentials are added
	reqHeaders.Set("webhook-signature", sig)
	if authName != "" {
		reqHeaders.Set(authName, authValue)
	}

	timeout := time.Duration(in.TimeoutSeconds) * time.Second
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return AttemptResult{}, d.finish(ctx, row, models.DeliveryFailed, "invalid webhook URL: "+err.Error(), true,
			temporal.NewNonRetryableApplicationError("invalid webhook URL", ErrTypeHTTPClientError, err))
	}
	req.Header = reqHeaders

	start := time.Now()
	resp, err := d.HTTP.Do(req)
	elapsed := time.Since(start)
	ms := elapsed.Milliseconds()
	row.DurationMS = &ms
	if err != nil {
		msg := describeTransportError(err, timeout)
		if errors.Is(err, egress.ErrBlockedAddress) {
			return AttemptResult{}, d.finish(ctx, row, models.DeliveryFailed, msg, true,
				temporal.NewNonRetryableApplicationError(msg, ErrTypeHTTPClientError, nil))
		}
		return AttemptResult{}, d.retryOrFail(ctx, row, in, msg, 0, elapsed)
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

	switch {
	case code >= 200 && code < 300:
		if err := d.finishOK(ctx, row, elapsed); err != nil {
			return AttemptResult{}, err
		}
		return AttemptResult{DeliveryID: row.ID, StatusCode: code, DurationMS: ms, Attempt: attempt}, nil
	case code == http.StatusGone:
		if _, err := d.Store.DeactivateWebhook(ctx, wh.OrganizationID, wh.ID, "endpoint answered 410 Gone"); err != nil {
			return AttemptResult{}, err
		}
		d.Logger.Warn("webhook deactivated: endpoint answered 410 Gone", "webhook_id", wh.ID, "organization_id", wh.OrganizationID)
		return AttemptResult{}, d.finishObserved(ctx, row, "endpoint answered 410 Gone; webhook deactivated", elapsed,
			temporal.NewNonRetryableApplicationError("endpoint answered 410 Gone", ErrTypeGone, nil))
	case retryableStatus(code):
		return AttemptResult{}, d.retryOrFail(ctx, row, in, fmt.Sprintf("endpoint answered %d", code), retryAfter(resp.Header, d.now()), elapsed)
	default:
		msg := fmt.Sprintf("endpoint answered %d (not retried)", code)
		return AttemptResult{}, d.finishObserved(ctx, row, msg, elapsed,
			temporal.NewNonRetryableApplicationError(msg, ErrTypeHTTPClientError, nil))
	}
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
	attempt := int(row.RetryNumber) + 1
	final := attempt >= in.RetryCount+1
	if final {
		row.Status = models.DeliveryFailed
		msg = fmt.Sprintf("%s; gave up after %d attempts", msg, attempt)
		d.observe("failed", elapsed)
		return d.finish(ctx, row, models.DeliveryFailed, msg, true,
			temporal.NewApplicationError(msg, ErrTypeRetryable))
	}
	next := after
	if next <= 0 {
		next = backoff(in.RetryDelaySeconds, attempt)
	}
	if next > MaxRetryInterval {
		next = MaxRetryInterval
	}
	at := d.now().Add(next)
	row.NextRetryAt = &at
	d.observe("retry", elapsed)
	opts := temporal.ApplicationErrorOptions{}
	if after > 0 {
		opts.NextRetryDelay = next
	}
	return d.finish(ctx, row, models.DeliveryFailed, msg, false,
		temporal.NewApplicationErrorWithOptions(msg, ErrTypeRetryable, opts))
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

// finish records the attempt row. If recording fails, the activity returns
// that error and Temporal retries the attempt (the row is keyed by run and
// retry number, so the retry overwrites rather than duplicates).
func (d *Deliveries) finish(ctx context.Context, row *models.WebhookDelivery, status, msg string, final bool, cause error) error {
	now := d.now()
	row.Status = status
	row.CompletedAt = &now
	row.IsFinal = final
	if msg != "" {
		row.ErrorMessage = &msg
	}
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
