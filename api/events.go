package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/webhooks"
)

func (s *Server) listEventTypes(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"data": eventtypes.All()})
}

func (s *Server) postEvent(c echo.Context) error {
	if err := requireScope(c, "events:write"); err != nil {
		return err
	}
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
	res, err := s.deps.Webhooks.Ingest(ctx, p.OrganizationID, in, c.Request().Header.Get("Idempotency-Key"))
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
