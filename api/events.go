package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/webhooks"
)

func (s *Server) listEventTypes(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"data": eventtypes.Catalog()})
}

func (s *Server) postEvent(c echo.Context) error {
	var in webhooks.EventIn
	if err := bind(c, &in); err != nil {
		return err
	}
	if err := checkEventData(in.Type, in.Data); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	if err := s.deps.Store.EnsureOrganizationExists(ctx, p.OrganizationID); err != nil {
		return err
	}
	res, err := s.deps.Webhooks.Ingest(ctx, p.OrganizationID, in, c.Request().Header.Get(idempotencyHeader))
	if err != nil {
		if errors.Is(err, webhooks.ErrIdempotencyConflict) {
			return &Error{Status: http.StatusConflict, Code: "idempotency_conflict", Field: "id", Message: "an event with this id or Idempotency-Key was already posted with different content"}
		}
		return serviceError(err)
	}
	refs := make([]map[string]string, len(res.Deliveries))
	for i, d := range res.Deliveries {
		refs[i] = map[string]string{"webhook_id": d.WebhookID, "status": "queued"}
	}
	status := http.StatusAccepted
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"id": res.EventID, "type": res.Type, "duplicate": res.Duplicate, "deliveries": refs})
}

// serviceError maps service validation errors to a field-level 422.
func serviceError(err error) error {
	var inv *webhooks.InvalidError
	if errors.As(err, &inv) {
		return FieldError(inv.Field, "%s", inv.Error())
	}
	return err
}

// eventView is a stored event: what was posted (or emitted) and which
// webhooks it was queued for.
type eventView struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	OrganizationID string          `json:"organization_id"`
	Created        int64           `json:"created"`
	ReceivedAt     time.Time       `json:"received_at"`
	IdempotencyKey *string         `json:"idempotency_key"`
	Operational    bool            `json:"operational"`
	Data           json.RawMessage `json:"data"`
	QueuedFor      []string        `json:"queued_for"`
}

func viewEvent(e models.Event) eventView {
	v := eventView{ID: e.ID, Type: e.Type, OrganizationID: e.OrganizationID, Created: e.CreatedUnix,
		ReceivedAt: e.ReceivedAt.UTC(), IdempotencyKey: e.IdempotencyKey,
		Operational: eventtypes.IsOperational(e.Type), Data: json.RawMessage("null"), QueuedFor: []string{}}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(e.Payload), &env) == nil && len(env.Data) > 0 {
		v.Data = env.Data
	}
	if e.Dispatch != nil {
		var queued []webhooks.Queued
		_ = json.Unmarshal([]byte(*e.Dispatch), &queued)
		for _, q := range queued {
			v.QueuedFor = append(v.QueuedFor, q.WebhookID)
		}
	}
	return v
}

func (s *Server) listEvents(c echo.Context) error {
	f := store.EventFilter{Cursor: c.QueryParam("cursor")}
	f.Limit, _ = strconv.Atoi(c.QueryParam("limit"))
	if t := c.QueryParam("type"); t != "" && t != "*" {
		if err := eventtypes.ValidatePattern(t); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "type",
				Message: "query parameter \"type\": " + err.Error() + "; give a type such as registration.confirmed or a family such as registration.*"}
		}
		if family, ok := strings.CutSuffix(t, ".*"); ok {
			f.Type, f.TypePrefix = family+".", true
		} else {
			f.Type = t
		}
	}
	var err error
	if f.Since, f.Until, err = timeWindow(c); err != nil {
		return err
	}
	rows, next, err := s.deps.Store.ListEvents(c.Request().Context(), principal(c).OrganizationID, f)
	if err != nil {
		return err
	}
	out := make([]eventView, len(rows))
	for i, e := range rows {
		out[i] = viewEvent(e)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nullable(next)})
}

// maxEventDeliveries bounds the attempts GET /api/events/{id} returns.
const maxEventDeliveries = 500

func (s *Server) getEvent(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	e, err := s.deps.Store.GetEvent(ctx, org, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("event")
	}
	if err != nil {
		return err
	}
	out := struct {
		eventView
		Deliveries *[]deliveryView `json:"deliveries,omitempty"`
		Skipped    []string        `json:"skipped_while_disabled"`
	}{eventView: viewEvent(e), Skipped: []string{}}
	// The attempts are webhook data: shown to callers that may read webhooks.
	if principal(c).HasScope("webhooks:read") {
		rows, err := s.deps.Store.EventDeliveries(ctx, org, e.ID, maxEventDeliveries)
		if err != nil {
			return err
		}
		views := make([]deliveryView, len(rows))
		for i, d := range rows {
			views[i] = viewDelivery(d)
		}
		out.Deliveries = &views
	}
	skipped, err := s.deps.Store.SkippedWebhooks(ctx, org, e.ID)
	if err != nil {
		return err
	}
	out.Skipped = append(out.Skipped, skipped...)
	return c.JSON(http.StatusOK, out)
}
