package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

type auditView struct {
	models.AuditEntry
	Details json.RawMessage `json:"details"`
}

func (s *Server) listAuditLog(c echo.Context) error {
	f := audit.Filter{
		OrganizationID: principal(c).OrganizationID, Action: c.QueryParam("action"), ActorID: c.QueryParam("actor_id"),
		TargetID: c.QueryParam("target_id"), Outcome: c.QueryParam("outcome"), Cursor: c.QueryParam("cursor"),
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.QueryParam(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return FieldError(name, "%s must be an RFC 3339 time", name)
			}
			*dst = t
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		f.Limit, _ = strconv.Atoi(v) // the OpenAPI document bounds it
	}
	rows, next, err := audit.List(c.Request().Context(), s.deps.Store.DB(), f)
	if errors.Is(err, audit.ErrBadCursor) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Field: "cursor", Message: "cursor is not one this API issued"}
	}
	if err != nil {
		return err
	}
	out := make([]auditView, len(rows))
	for i, r := range rows {
		out[i] = auditView{AuditEntry: r, Details: json.RawMessage("{}")}
		if r.Details != nil {
			out[i].Details = json.RawMessage(*r.Details)
		}
	}
	var nc any
	if next != "" {
		nc = next
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nc})
}
