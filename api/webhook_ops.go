package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/webhooks"
)

func (s *Server) registerWebhookOpsRoutes(e *echo.Echo) {
	e.POST("/api/webhooks/:id/rotate-secret", s.rotateSecret)
	e.POST("/api/webhooks/:id/deliveries/:delivery_id/redeliver", s.redeliver)
	e.POST("/api/webhooks/:id/recover", s.recoverWebhook)
	e.GET("/api/webhooks/:id/recoveries/:recovery_id", s.getRecovery)
	e.GET("/api/webhooks/:id/stats", s.webhookStats)
}

// patchView is a webhook after PATCH, with what the change did.
type patchView struct {
	webhookView
	CancelledPending int           `json:"cancelled_pending_deliveries"`
	Reenabled        *reenableView `json:"reenabled,omitempty"`
}

type reenableView struct {
	DisabledAt               *time.Time     `json:"disabled_at"`
	DisabledReason           *string        `json:"disabled_reason"`
	UndeliveredWhileDisabled int64          `json:"undelivered_while_disabled"`
	Since                    time.Time      `json:"since"`
	Until                    time.Time      `json:"until"`
	Recover                  map[string]any `json:"recover"`
}

func patchResult(up webhooks.Updated) patchView {
	v := patchView{webhookView: viewWebhook(up.Webhook), CancelledPending: up.CancelledPending}
	if r := up.Reenabled; r != nil {
		// Exactly the window and statuses that were counted: this call
		// re-delivers undelivered_while_disabled messages.
		body := map[string]any{
			"since":    r.Since.Format(time.RFC3339Nano),
			"until":    r.Until.Format(time.RFC3339Nano),
			"statuses": r.Statuses,
		}
		v.Reenabled = &reenableView{
			DisabledAt: r.DisabledAt, DisabledReason: r.DisabledReason, UndeliveredWhileDisabled: r.Undelivered,
			Since: r.Since, Until: r.Until,
			Recover: map[string]any{"method": "POST", "path": "/api/webhooks/" + up.Webhook.ID + "/recover", "body": body},
		}
	}
	return v
}

func (s *Server) rotateSecret(c echo.Context) error {
	var in struct {
		GraceSeconds *int64 `json:"grace_seconds"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &in); err != nil {
			return err
		}
	}
	grace := webhooks.DefaultRotationGrace
	if in.GraceSeconds != nil {
		grace = time.Duration(*in.GraceSeconds) * time.Second
	}
	r, err := s.deps.Webhooks.RotateSecret(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), grace)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	}
	if err != nil {
		return serviceError(err)
	}
	s.auditWebhook(c, audit.WebhookSecretRotated, r.Webhook.ID, map[string]any{"grace_seconds": int64(grace.Seconds())})
	c.Response().Header().Set("Cache-Control", "no-store")
	out := map[string]any{
		"previous_secret_expires_at": r.PreviousValidTil,
		"webhook":                    viewWebhook(r.Webhook),
	}
	if r.Secret != "" {
		out["secret"] = r.Secret
	} else {
		out["public_key"] = r.Webhook.PublicKey
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) redeliver(c echo.Context) error {
	st, err := s.deps.Webhooks.Redeliver(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("delivery_id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("delivery")
	case errors.Is(err, webhooks.ErrWebhookDisabled):
		return Errorf(http.StatusConflict, "webhook_disabled", "the webhook is disabled; enable it with PATCH is_active=true first")
	case err != nil:
		return err
	}
	s.auditWebhook(c, audit.WebhookRedelivered, st.WebhookID, map[string]any{
		"delivery_id": c.Param("delivery_id"), "workflow_id": st.WorkflowID})
	return c.JSON(http.StatusAccepted, map[string]any{
		"webhook_id": st.WebhookID, "workflow_id": st.WorkflowID, "run_id": st.RunID,
		"temporal_url": nullable(s.deps.Webhooks.WorkflowURL(st.WorkflowID, st.RunID)),
	})
}

func (s *Server) recoverWebhook(c echo.Context) error {
	var in struct {
		Since    *time.Time `json:"since"`
		Until    *time.Time `json:"until"`
		Status   string     `json:"status"`
		Statuses []string   `json:"statuses"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Since == nil {
		return FieldError("since", "since is required (RFC 3339 time)")
	}
	rec, err := s.deps.Webhooks.Recover(c.Request().Context(), principal(c).OrganizationID, c.Param("id"),
		webhooks.RecoverRequest{Since: *in.Since, Until: in.Until, Status: in.Status, Statuses: in.Statuses})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("webhook")
	case errors.Is(err, webhooks.ErrWebhookDisabled):
		return Errorf(http.StatusConflict, "webhook_disabled", "the webhook is disabled; enable it with PATCH is_active=true first")
	case err != nil:
		return serviceError(err)
	}
	s.auditWebhook(c, audit.WebhookRecoveryStarted, c.Param("id"), map[string]any{
		"recovery_id": rec.RecoveryID, "workflow_id": rec.WorkflowID, "statuses": rec.Statuses})
	return c.JSON(http.StatusAccepted, map[string]any{
		"recovery_id": rec.RecoveryID, "workflow_id": rec.WorkflowID, "run_id": rec.RunID,
		"since": rec.Since, "until": rec.Until, "status": nullable(rec.Status), "statuses": rec.Statuses,
		"progress_url": "/api/webhooks/" + c.Param("id") + "/recoveries/" + rec.RecoveryID,
		"temporal_url": nullable(s.deps.Webhooks.WorkflowURL(rec.WorkflowID, rec.RunID)),
	})
}

func (s *Server) getRecovery(c echo.Context) error {
	p, err := s.deps.Webhooks.RecoveryProgress(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("recovery_id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("recovery")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"recovery_id": c.Param("recovery_id"), "progress": p})
}

func (s *Server) webhookStats(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	if _, err := s.deps.Store.GetWebhook(ctx, org, c.Param("id")); errors.Is(err, store.ErrNotFound) {
		return notFound("webhook")
	} else if err != nil {
		return err
	}
	now := time.Now().UTC()
	out := map[string]any{"webhook_id": c.Param("id"), "generated_at": now}
	for name, d := range map[string]time.Duration{"last_24h": 24 * time.Hour, "last_7d": 7 * 24 * time.Hour} {
		st, err := s.deps.Store.Stats(ctx, org, c.Param("id"), now.Add(-d))
		if err != nil {
			return err
		}
		out[name] = st
	}
	return c.JSON(http.StatusOK, out)
}

// auditWebhook appends a security-relevant webhook action to the audit log.
// A failure to audit is logged, not returned: the action already happened.
func (s *Server) auditWebhook(c echo.Context, action, webhookID string, details map[string]any) {
	p := principal(c)
	actor := p.UserID
	if p.Method == AuthAPIKey {
		actor = p.CredentialID
	}
	err := audit.Record(c.Request().Context(), s.deps.Store.DB(), audit.Entry{
		OrganizationID: p.OrganizationID, Action: action, ActorType: string(p.Method), ActorID: actor,
		TargetType: "webhook", TargetID: webhookID, SourceIP: c.RealIP(),
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID), Details: details,
	})
	if err != nil {
		s.deps.Logger.Error("audit record failed", "action", action, "err", err)
	}
}
