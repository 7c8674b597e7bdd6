package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/signing"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/webhooks"
)

type webhookView struct {
	ID                string          `json:"id"`
	OrganizationID    string          `json:"organization_id"`
	Name              string          `json:"name"`
	URL               string          `json:"url"`
	Events            []string        `json:"events"`
	EventFilters      json.RawMessage `json:"event_filters"`
	FilterExpression  *string         `json:"filter_expression"`
	PayloadInclude    json.RawMessage `json:"payload_include"`
	PayloadExclude    json.RawMessage `json:"payload_exclude"`
	CustomHeaders     json.RawMessage `json:"custom_headers"`
	ContentType       string          `json:"content_type"`
	TimeoutSeconds    int             `json:"timeout_seconds"`
	RetryCount        int             `json:"retry_count"`
	RetryDelaySeconds int             `json:"retry_delay_seconds"`
	// Ordered and MaxDeliveriesPerSecond (nil: no throttle) pace the endpoint.
	Ordered                bool       `json:"ordered"`
	MaxDeliveriesPerSecond *int       `json:"max_deliveries_per_second"`
	IsActive               bool       `json:"is_active"`
	DisabledReason         *string    `json:"disabled_reason"`
	DisabledAt             *time.Time `json:"disabled_at"`
	LastTriggeredAt        *time.Time `json:"last_triggered_at"`
	TotalDeliveries        int64      `json:"total_deliveries"`
	FailedDeliveries       int64      `json:"failed_deliveries"`
	CreatedAt              time.Time  `json:"created_at"`
	UpdatedAt              time.Time  `json:"updated_at"`
	Secret                 string     `json:"secret,omitempty"`
	// DestinationAuth is the type and a keyed fingerprint of the credential
	// sent to the endpoint (never any part of it).
	DestinationAuth         *string    `json:"destination_auth"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	// SignatureScheme is hmac-sha256 or ed25519; PublicKey (ed25519 only)
	// verifies the v1a signatures; PreviousPublicKey the ones still made
	// with the previous key until PreviousSecretExpiresAt.
	SignatureScheme   string  `json:"signature_scheme"`
	PublicKey         *string `json:"public_key"`
	PreviousPublicKey *string `json:"previous_public_key"`
}

func viewWebhook(w models.Webhook) webhookView {
	v := webhookView{
		ID: w.ID, OrganizationID: w.OrganizationID, Name: w.Name, URL: w.URL,
		Events: webhooks.Events(w), EventFilters: json.RawMessage("null"), ContentType: w.ContentType,
		TimeoutSeconds: w.TimeoutSeconds, RetryCount: w.RetryCount, RetryDelaySeconds: w.RetryDelaySeconds,
		Ordered: w.Ordered, MaxDeliveriesPerSecond: w.MaxDeliveriesPerSecond,
		IsActive: w.IsActive, DisabledReason: w.DisabledReason, DisabledAt: w.DisabledAt,
		LastTriggeredAt: w.LastTriggeredAt, TotalDeliveries: w.TotalDeliveries, FailedDeliveries: w.FailedDeliveries,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if w.EventFilters != nil {
		v.EventFilters = json.RawMessage(*w.EventFilters)
	}
	v.FilterExpression = w.FilterExpression
	v.PayloadInclude = rawOrNull(w.PayloadInclude)
	v.PayloadExclude = rawOrNull(w.PayloadExclude)
	v.CustomHeaders = rawOrNull(w.CustomHeaders)
	v.DestinationAuth = webhooks.AuthHint(w.DestinationAuthHint)
	v.PreviousSecretExpiresAt = w.PreviousSecretExpiresAt
	v.SignatureScheme = w.SignatureScheme
	if v.SignatureScheme == "" {
		v.SignatureScheme = signing.SchemeHMAC
	}
	v.PublicKey, v.PreviousPublicKey = w.PublicKey, w.PreviousPublicKey
	return v
}

// rawOrNull returns a stored JSON column as is, or null.
func rawOrNull(col *string) json.RawMessage {
	if col == nil || *col == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(*col)
}

func (s *Server) listWebhooks(c echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	ws, next, err := s.deps.Store.ListWebhooks(c.Request().Context(), principal(c).OrganizationID, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	out := make([]webhookView, len(ws))
	for i, w := range ws {
		out[i] = viewWebhook(w)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nullable(next)})
}

func (s *Server) createWebhook(c echo.Context) error {
	var f webhooks.Fields
	if err := bind(c, &f); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	if _, err := s.deps.Store.EnsureOrganization(ctx, p.OrganizationID); err != nil {
		return err
	}
	created, err := s.deps.Webhooks.Create(ctx, p.OrganizationID, f)
	if err != nil {
		return serviceError(err)
	}
	v := viewWebhook(created.Webhook)
	v.Secret = created.Secret
	c.Response().Header().Set("Location", "/api/webhooks/"+created.Webhook.ID)
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) getWebhook(c echo.Context) error {
	w, err := s.deps.Store.GetWebhook(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewWebhook(w))
}

func (s *Server) patchWebhook(c echo.Context) error {
	var f webhooks.Fields
	if err := bind(c, &f); err != nil {
		return err
	}
	up, err := s.deps.Webhooks.Update(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), f)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	if err != nil {
		return serviceError(err)
	}
	return c.JSON(http.StatusOK, patchResult(up))
}

func (s *Server) deleteWebhook(c echo.Context) error {
	err := s.deps.Webhooks.Delete(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getWebhookSecret(c echo.Context) error {
	secret, err := s.deps.Webhooks.Secret(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	if errors.Is(err, webhooks.ErrNoSharedSecret) {
		return Errorf(http.StatusConflict, "no_shared_secret",
			"this webhook signs with ed25519: its private key is never returned; verify with public_key from GET /api/webhooks/{id}")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]string{"secret": secret})
}

func (s *Server) testWebhook(c echo.Context) error {
	res, err := s.deps.Webhooks.Test(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("webhook")
	case errors.Is(err, webhooks.ErrWebhookDisabled):
		return Errorf(http.StatusConflict, "webhook_disabled", "the webhook is disabled; enable it with PATCH is_active=true before testing")
	case err != nil:
		return err
	}
	out := map[string]any{
		"workflow_id":  res.WorkflowID,
		"temporal_url": nullable(s.deps.Webhooks.WorkflowURL(res.WorkflowID, res.RunID)),
	}
	if res.Attempt == nil {
		out["delivery_id"] = ""
		out["status"] = "pending"
		out["error_message"] = "no attempt finished in time; the delivery continues in the background"
		return c.JSON(http.StatusOK, out)
	}
	a := res.Attempt
	out["delivery_id"] = a.ID
	out["status"] = a.Status
	out["response_status_code"] = a.ResponseStatusCode
	out["duration_ms"] = a.DurationMS
	out["error_message"] = a.ErrorMessage
	if a.ResponseBody != nil {
		excerpt := *a.ResponseBody
		if len(excerpt) > 512 {
			excerpt = excerpt[:512]
		}
		out["response_excerpt"] = excerpt
	} else {
		out["response_excerpt"] = nil
	}
	return c.JSON(http.StatusOK, out)
}

type deliveryView struct {
	ID                 string     `json:"id"`
	WebhookID          string     `json:"webhook_id"`
	EventType          string     `json:"event_type"`
	EventID            *string    `json:"event_id"`
	MessageID          string     `json:"message_id"`
	Status             string     `json:"status"`
	ResponseStatusCode *int       `json:"response_status_code"`
	ErrorMessage       *string    `json:"error_message"`
	AttemptedAt        time.Time  `json:"attempted_at"`
	CompletedAt        *time.Time `json:"completed_at"`
	DurationMS         *int64     `json:"duration_ms"`
	IsRetry            bool       `json:"is_retry"`
	RetryNumber        int        `json:"retry_number"`
	NextRetryAt        *time.Time `json:"next_retry_at"`
	IsFinal            bool       `json:"is_final"`
	WorkflowID         string     `json:"workflow_id"`
	RunID              string     `json:"run_id"`
	RedeliveryOf       *string    `json:"redelivery_of"`
	Interrupted        bool       `json:"interrupted"`
}

func viewDelivery(d models.WebhookDelivery) deliveryView {
	return deliveryView{
		ID: d.ID, WebhookID: d.WebhookID, EventType: d.EventType, EventID: d.EventID, MessageID: d.MessageID,
		Status: d.Status, ResponseStatusCode: d.ResponseStatusCode, ErrorMessage: d.ErrorMessage,
		AttemptedAt: d.AttemptedAt, CompletedAt: d.CompletedAt, DurationMS: d.DurationMS,
		IsRetry: d.IsRetry, RetryNumber: d.RetryNumber, NextRetryAt: d.NextRetryAt, IsFinal: d.IsFinal,
		WorkflowID: d.WorkflowID, RunID: d.RunID, RedeliveryOf: d.RedeliveryOf,
		Interrupted: d.Interrupted,
	}
}

func (s *Server) listDeliveries(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	if _, err := s.deps.Store.GetWebhook(ctx, org, c.Param("id")); errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	} else if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	since, until, err := timeWindow(c)
	if err != nil {
		return err
	}
	rows, next, err := s.deps.Store.ListDeliveries(ctx, org, c.Param("id"), store.DeliveryFilter{
		Status: c.QueryParam("status"), EventType: c.QueryParam("event_type"), EventID: c.QueryParam("event_id"),
		Since: since, Until: until, Limit: limit, Cursor: c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	out := make([]deliveryView, len(rows))
	for i, d := range rows {
		out[i] = viewDelivery(d)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nullable(next)})
}

func (s *Server) getDelivery(c echo.Context) error {
	d, err := s.deps.Store.GetDelivery(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("delivery_id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("delivery")
	}
	if err != nil {
		return err
	}
	out := struct {
		deliveryView
		Payload         string            `json:"payload"`
		RequestHeaders  map[string]string `json:"request_headers"`
		ResponseHeaders map[string]string `json:"response_headers"`
		ResponseBody    *string           `json:"response_body"`
		TemporalURL     *string           `json:"temporal_url"`
	}{deliveryView: viewDelivery(d), Payload: d.Payload, ResponseBody: d.ResponseBody,
		TemporalURL: nullable(s.deps.Webhooks.WorkflowURL(d.WorkflowID, d.RunID))}
	if d.RequestHeaders != nil {
		_ = json.Unmarshal([]byte(*d.RequestHeaders), &out.RequestHeaders)
	}
	if d.ResponseHeaders != nil {
		_ = json.Unmarshal([]byte(*d.ResponseHeaders), &out.ResponseHeaders)
	}
	return c.JSON(http.StatusOK, out)
}

// timeWindow reads the optional since (inclusive) and until (exclusive)
// query parameters (RFC 3339).
func timeWindow(c echo.Context) (since, until *time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &since}, {"until", &until}} {
		v := c.QueryParam(p.name)
		if v == "" {
			continue
		}
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return nil, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: p.name,
				Message: fmt.Sprintf("query parameter %q must be an RFC 3339 time such as 2024-09-15T10:00:00Z", p.name)}
		}
		t = t.UTC()
		*p.dst = &t
	}
	if since != nil && until != nil && !since.Before(*until) {
		return nil, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "since", Message: "since must be before until"}
	}
	return since, until, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
