package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/listen"
	"github.com/aqio/connect/webhooks"
)

// Listen sessions (`aqio-connect listen`, docs/CLI.md): a temporary
// endpoint of the organization whose deliveries stream to a developer's
// CLI. Every route needs webhooks:write (declared in api/openapi.yaml).
func (s *Server) registerListenRoutes(e *echo.Echo) {
	e.POST("/api/listen/sessions", s.createListenSession)
	e.DELETE("/api/listen/sessions/:id", s.endListenSession)
	e.GET("/api/listen/sessions/:id/stream", s.streamListenSession)
	e.POST("/api/listen/sessions/:id/messages/:message_id/response", s.answerListenMessage)
}

type listenSessionView struct {
	ID          string    `json:"id"`
	WebhookID   string    `json:"webhook_id"`
	ForwardTo   string    `json:"forward_to"`
	Events      []string  `json:"events"`
	TTLSeconds  int       `json:"ttl_seconds"`
	ExpiresAt   time.Time `json:"expires_at"`
	CreatedAt   time.Time `json:"created_at"`
	Secret      string    `json:"secret"`
	StreamURL   string    `json:"stream_url"`
	TemporalURL *string   `json:"temporal_url"`
}

func (s *Server) createListenSession(c echo.Context) error {
	if s.deps.Webhooks == nil {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "listen sessions are not available")
	}
	var in webhooks.ListenIn
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	if _, err := s.deps.Store.EnsureOrganization(ctx, p.OrganizationID); err != nil {
		return err
	}
	created, err := s.deps.Webhooks.CreateListenSession(ctx, p.OrganizationID, in)
	if err != nil {
		return serviceError(err)
	}
	ls := created.Session
	v := listenSessionView{
		ID: ls.ID, WebhookID: ls.WebhookID, ForwardTo: ls.ForwardTo, Events: webhooks.Events(created.Webhook),
		TTLSeconds: ls.TTLSeconds, ExpiresAt: ls.ExpiresAt, CreatedAt: ls.CreatedAt, Secret: created.Secret,
		StreamURL: "/api/listen/sessions/" + ls.ID + "/stream",
	}
	if u := s.deps.Webhooks.WorkflowURL(created.WorkflowID, created.RunID); u != "" {
		v.TemporalURL = &u
	}
	c.Response().Header().Set("Location", "/api/listen/sessions/"+ls.ID)
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) endListenSession(c echo.Context) error {
	if s.deps.Webhooks == nil {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "listen sessions are not available")
	}
	err := s.deps.Webhooks.EndListenSession(c.Request().Context(), principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, listen.ErrNotFound) {
		return notFound("listen session")
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// streamListenSession holds the CLI's stream open (server-sent events)
// until the CLI disconnects or the session ends.
func (s *Server) streamListenSession(c echo.Context) error {
	if s.deps.Webhooks == nil {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "listen sessions are not available")
	}
	ctx := c.Request().Context()
	ls, err := s.deps.Webhooks.ListenSession(ctx, principal(c).OrganizationID, c.Param("id"))
	if errors.Is(err, listen.ErrNotFound) {
		return notFound("listen session")
	}
	if err != nil {
		return err
	}
	// The server's write timeout bounds ordinary answers; a stream lasts
	// as long as the CLI runs.
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	c.Response().WriteHeader(http.StatusOK)
	err = s.deps.Webhooks.ServeListenSession(ctx, c.Response(), c.Response().Flush, ls, s.deps.ListenBroker)
	if err != nil && ctx.Err() == nil {
		s.deps.Logger.Error("listen stream", "session_id", ls.ID, "err", err)
	}
	return nil
}

// listenAnswerIn is the CLI's report of its local receiver's response.
type listenAnswerIn struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Error   string              `json:"error"`
}

func (s *Server) answerListenMessage(c echo.Context) error {
	if s.deps.Webhooks == nil {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "listen sessions are not available")
	}
	var in listenAnswerIn
	if err := bind(c, &in); err != nil {
		return err
	}
	hdrs, _ := json.Marshal(in.Headers)
	err := s.deps.Webhooks.AnswerListen(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("message_id"),
		listen.Answer{Status: in.Status, Headers: string(hdrs), Body: in.Body, Error: in.Error}, s.deps.ListenBroker)
	if errors.Is(err, listen.ErrNotFound) {
		return notFound("listen message (the attempt may have stopped waiting)")
	}
	if err != nil {
		return serviceError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
