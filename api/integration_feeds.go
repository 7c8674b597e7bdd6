package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/integrations"
	"github.com/aqio/connect/store"
)

// feedRoute serves subscribable calendar feeds; it is public (calendar
// apps send no credential): the secret token in the path is the credential.
const feedRoute = integrations.FeedPathPrefix + ":id/:file"

func (s *Server) registerIntegrationFeedRoutes(e *echo.Echo) {
	e.GET("/api/integrations/:id/feed", s.getIntegrationFeed)
	e.POST("/api/integrations/:id/feed", s.rotateIntegrationFeed)
	e.DELETE("/api/integrations/:id/feed", s.revokeIntegrationFeed)
	e.GET(feedRoute, s.serveFeed)
	e.HEAD(feedRoute, s.serveFeed)
}

// publicBase is the service's public URL, else the request's origin.
func (s *Server) publicBase(c echo.Context) string {
	if u := s.deps.Integrations.PublicURL; u != "" {
		return u
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (s *Server) getIntegrationFeed(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	urls, err := s.deps.Integrations.FeedURLs(c.Request().Context(), in, s.publicBase(c))
	if err != nil {
		return integrationError(err, "integration")
	}
	return c.JSON(http.StatusOK, urls)
}

func (s *Server) rotateIntegrationFeed(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	urls, err := s.deps.Integrations.RotateFeed(c.Request().Context(), in, s.publicBase(c))
	if err != nil {
		return integrationError(err, "integration")
	}
	return c.JSON(http.StatusOK, urls)
}

func (s *Server) revokeIntegrationFeed(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	if err := s.deps.Integrations.RevokeFeed(c.Request().Context(), in); err != nil {
		return integrationError(err, "integration")
	}
	return c.NoContent(http.StatusNoContent)
}

// serveFeed answers a calendar app: the feed with an ETag, 304 when
// If-None-Match names it, 404 for anything it may not see.
func (s *Server) serveFeed(c echo.Context) error {
	token, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok || token == "" {
		return Errorf(http.StatusNotFound, "not_found", "feed not found")
	}
	f, err := s.deps.Integrations.RenderFeed(c.Request().Context(), c.Param("id"), token)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusNotFound, "not_found", "feed not found")
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", f.ETag)
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("Referrer-Policy", "no-referrer")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagListed(inm, f.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", f.ContentType)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, f.ContentType, f.Body)
}

// etagListed reports whether an If-None-Match list names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagListed(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
