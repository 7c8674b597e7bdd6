package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// activityView is one entry of GET /api/integrations/{id}/activity.
type activityView struct {
	Kind        string         `json:"kind"`
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	StartedAt   time.Time      `json:"started_at"`
	CompletedAt *time.Time     `json:"completed_at"`
	EventID     *string        `json:"event_id,omitempty"`
	EventType   *string        `json:"event_type,omitempty"`
	Action      *string        `json:"action,omitempty"`
	ExternalID  *string        `json:"external_id,omitempty"`
	Detail      *string        `json:"detail,omitempty"`
	Attempts    *int           `json:"attempts,omitempty"`
	Trigger     *string        `json:"trigger,omitempty"`
	Rotated     *bool          `json:"rotated,omitempty"`
	Records     map[string]int `json:"records,omitempty"`
	Error       *activityError `json:"error"`
	Response    *activityResp  `json:"response"`
	RetryOf     *string        `json:"retry_of"`
	WorkflowID  *string        `json:"workflow_id"`
	TemporalURL string         `json:"temporal_url,omitempty"`
}

type activityError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type activityResp struct {
	Request string `json:"request"`
	Status  int    `json:"status"`
	Excerpt string `json:"excerpt"`
}

func (s *Server) temporalURL(wf *string) string {
	if wf == nil || s.deps.Webhooks == nil {
		return ""
	}
	return s.deps.Webhooks.WorkflowURL(*wf, "")
}

func (s *Server) viewPush(p models.IntegrationPush) activityView {
	v := activityView{Kind: "push", ID: p.ID, Status: p.Status, StartedAt: p.StartedAt, CompletedAt: p.CompletedAt,
		EventID: &p.EventID, EventType: &p.EventType, Action: p.Action, ExternalID: p.ExternalID, Detail: p.Detail,
		Attempts: &p.Attempts, RetryOf: p.RetryOf, WorkflowID: &p.WorkflowID}
	if p.ErrorCode != nil {
		v.Error = &activityError{Code: *p.ErrorCode}
		if p.ErrorMessage != nil {
			v.Error.Message = *p.ErrorMessage
		}
	}
	if p.ResponseStatus != nil {
		v.Response = &activityResp{Status: *p.ResponseStatus}
		if p.Request != nil {
			v.Response.Request = *p.Request
		}
		if p.ResponseExcerpt != nil {
			v.Response.Excerpt = *p.ResponseExcerpt
		}
	}
	v.TemporalURL = s.temporalURL(v.WorkflowID)
	return v
}

func (s *Server) viewActivity(it store.ActivityItem) activityView {
	switch {
	case it.Push != nil:
		return s.viewPush(*it.Push)
	case it.Sync != nil:
		l := it.Sync
		v := activityView{Kind: "sync", ID: l.ID, Status: l.Status, StartedAt: l.StartedAt, CompletedAt: l.CompletedAt,
			RetryOf: l.RetryOf, WorkflowID: l.WorkflowID, Trigger: &l.SyncType,
			Records: map[string]int{"processed": l.RecordsProcessed, "created": l.RecordsCreated, "updated": l.RecordsUpdated, "failed": l.RecordsFailed}}
		if l.Status == models.SyncFailed {
			v.Error = &activityError{Code: "sync_failed", Message: "see GET /api/integrations/{id}/syncs/" + l.ID + " for per-record errors"}
			if l.ErrorDetails != nil {
				v.Response = &activityResp{Excerpt: excerptOf(*l.ErrorDetails)}
			}
		}
		v.TemporalURL = s.temporalURL(v.WorkflowID)
		return v
	default:
		r := it.Refresh
		v := activityView{Kind: "token_refresh", ID: r.ID, Status: r.Status, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt,
			Trigger: &r.Trigger, Rotated: &r.Rotated, WorkflowID: r.WorkflowID}
		if r.ErrorCode != nil {
			v.Error = &activityError{Code: *r.ErrorCode}
			if r.ErrorMessage != nil {
				v.Error.Message = *r.ErrorMessage
			}
		}
		v.TemporalURL = s.temporalURL(v.WorkflowID)
		return v
	}
}

func excerptOf(s string) string {
	if len(s) > 2048 {
		return s[:2048] + "…"
	}
	return s
}

var activityKinds = map[string]bool{"push": true, "sync": true, "token_refresh": true}

func (s *Server) listIntegrationActivity(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	f := store.ActivityFilter{Limit: 50, Status: c.QueryParam("status")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return FieldError("limit", "must be an integer from 1 to 200")
		}
		f.Limit = n
	}
	if v := c.QueryParam("kind"); v != "" {
		for _, k := range strings.Split(v, ",") {
			if !activityKinds[k] {
				return FieldError("kind", "must be push, sync or token_refresh (comma-separated)")
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	if v := c.QueryParam("cursor"); v != "" {
		t, id, ok := decodeActivityCursor(v)
		if !ok {
			return FieldError("cursor", "is not a cursor returned by this endpoint")
		}
		f.BeforeTime, f.BeforeID = &t, id
	}
	items, err := s.deps.Store.ListActivity(c.Request().Context(), in.OrganizationID, in.ID, store.ActivityFilter{
		Kinds: f.Kinds, Status: f.Status, BeforeTime: f.BeforeTime, BeforeID: f.BeforeID, Limit: f.Limit + 1})
	if err != nil {
		return err
	}
	var next *string
	if len(items) > f.Limit {
		items = items[:f.Limit]
		last := items[len(items)-1]
		cur := encodeActivityCursor(last.StartedAt, last.ID)
		next = &cur
	}
	out := make([]activityView, len(items))
	for i, it := range items {
		out[i] = s.viewActivity(it)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": next})
}

func encodeActivityCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeActivityCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	return t, id, ok && err == nil && id != ""
}

func (s *Server) retryPush(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	p, err := s.deps.Integrations.RetryPush(c.Request().Context(), in, c.Param("push_id"))
	if err != nil {
		return integrationError(err, "push")
	}
	return c.JSON(http.StatusAccepted, s.viewPush(p))
}
