package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/filters"
)

// Two small read-only calls the developer console (issue 16) needs and
// any client may use: who the caller is and which scopes it could grant
// a key (GET /api/whoami), and whether a sample event passes a webhook's
// filters (POST /api/webhooks/filter-preview), evaluated by the same
// filters package the delivery pipeline uses.

func (s *Server) registerConsoleSupportRoutes(e *echo.Echo) {
	e.GET("/api/whoami", s.whoami)
	e.POST("/api/webhooks/filter-preview", s.filterPreview)
}

// grantableScopes are the scopes a key created by a holder of held may
// carry: every catalog scope, "area:*" and "*" that held covers, never a
// service-level scope (no key may hold one).
func grantableScopes(held []string) []string {
	var out []string
	areas := map[string]bool{}
	for _, s := range apikeys.CatalogNames() {
		if apikeys.IsServiceScope(s) {
			continue
		}
		if apikeys.Covers(held, s) {
			out = append(out, s)
		}
		area, _, _ := strings.Cut(s, ":")
		areas[area] = true
	}
	for area := range areas {
		if apikeys.Covers(held, area+":*") {
			out = append(out, area+":*")
		}
	}
	if apikeys.Covers(held, "*") {
		out = append(out, "*")
	}
	sort.Strings(out)
	return out
}

func (s *Server) whoami(c echo.Context) error {
	p := principal(c)
	scopes := append([]string{}, p.Scopes...)
	sort.Strings(scopes)
	out := map[string]any{
		"organization_id":  p.OrganizationID,
		"auth":             string(p.Method),
		"scopes":           scopes,
		"grantable_scopes": grantableScopes(p.Scopes),
		"user_id":          nil,
		"credential_id":    nil,
		"roles":            append([]string{}, p.Roles...),
		"support":          p.Support,
	}
	if p.UserID != "" {
		out["user_id"] = p.UserID
	}
	if p.CredentialID != "" {
		out["credential_id"] = p.CredentialID
	}
	return c.JSON(http.StatusOK, out)
}

var previewCompiler = sync.OnceValues(filters.NewCompiler)

type filterPreviewIn struct {
	Event            json.RawMessage `json:"event"`
	EventFilters     json.RawMessage `json:"event_filters"`
	FilterExpression *string         `json:"filter_expression"`
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

func (s *Server) filterPreview(c echo.Context) error {
	var in filterPreviewIn
	if err := bind(c, &in); err != nil {
		return err
	}
	// Numbers stay json.Number so the re-encoded envelope keeps them exact.
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(in.Event))
	dec.UseNumber()
	if isNull(in.Event) || dec.Decode(&env) != nil || env == nil {
		return FieldError("event", "must be an event envelope object, e.g. {\"type\": \"registration.confirmed\", \"data\": {\"object\": {…}}}")
	}
	// The envelope as a delivery would see it: the caller's organization,
	// a preview id and the current time unless the sample names them.
	if d, ok := env["data"]; ok {
		if _, isObj := d.(map[string]any); !isObj {
			return FieldError("event.data", "must be an object holding the event's object under data.object")
		}
	}
	if _, ok := env["organization_id"]; !ok {
		env["organization_id"] = principal(c).OrganizationID
	}
	if _, ok := env["id"]; !ok {
		env["id"] = "evt_filter_preview"
	}
	if _, ok := env["created"]; !ok {
		env["created"] = time.Now().Unix()
	}
	envelope, _ := json.Marshal(env)
	ev, err := filters.ParseEvent(envelope)
	if err != nil {
		return FieldError("event", "%s", err)
	}

	out := map[string]any{"matches": true, "event_filters": nil, "filter_expression": nil}
	matches := true
	if !isNull(in.EventFilters) {
		rules, err := filters.ParseRules(in.EventFilters)
		if err != nil {
			var fe *filters.Error
			if errors.As(err, &fe) && fe.Key != "" {
				return FieldError("event_filters."+fe.Key, "%s", fe.Message)
			}
			return FieldError("event_filters", "%s", err)
		}
		m := rules.Match(ev.Object())
		matches = matches && m
		out["event_filters"] = map[string]any{"matches": m}
	}
	if in.FilterExpression != nil && strings.TrimSpace(*in.FilterExpression) != "" {
		comp, err := previewCompiler()
		if err != nil {
			return err
		}
		x, err := comp.Compile(*in.FilterExpression)
		if err != nil {
			var fe *filters.Error
			if errors.As(err, &fe) {
				return FieldError("filter_expression", "%s", fe.Message)
			}
			return err
		}
		m, evalErr := x.Eval(ev)
		res := map[string]any{"matches": m && evalErr == nil, "error": nil}
		if evalErr != nil {
			res["error"] = evalErr.Error()
		}
		matches = matches && m && evalErr == nil
		out["filter_expression"] = res
	}
	out["matches"] = matches
	return c.JSON(http.StatusOK, out)
}
