package api

import (
	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/audit"
)

// withAuditActor puts the caller (credential type, user or API key id,
// client address as the API-key checks see it, request id) in the
// request's context, so the services record actions in the audit log
// with who asked (audit.ActorFrom). Public routes (the OAuth callback)
// carry the address and request id only.
func (s *Server) withAuditActor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		a := audit.Actor{Type: string(p.Method), ID: p.UserID, RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
		if ip := clientIP(c.Request(), s.deps.TrustedProxies); ip.IsValid() {
			a.IP = ip.String()
		}
		if p.Method == AuthAPIKey {
			a.ID = p.CredentialID
		}
		r := c.Request()
		c.SetRequest(r.WithContext(audit.WithActor(r.Context(), a)))
		return next(c)
	}
}
