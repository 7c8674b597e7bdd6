package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	status, code := "ok", http.StatusOK
	for name, check := range s.deps.Degraded {
		if err := check(ctx); err != nil {
			checks[name] = "unavailable"
			status = "degraded"
			s.deps.Logger.Warn("readiness check failed (degraded)", "check", name, "err", err)
			continue
		}
		checks[name] = "ok"
	}
	for name, check := range s.deps.Ready {
		if err := check(ctx); err != nil {
			checks[name] = "unavailable"
			status, code = "unavailable", http.StatusServiceUnavailable
			s.deps.Logger.Warn("readiness check failed", "check", name, "err", err)
			continue
		}
		checks[name] = "ok"
	}
	return c.JSON(code, map[string]any{"status": status, "checks": checks})
}
