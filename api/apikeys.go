package api

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

const apiKeyVerifyPath = "/api/api-keys/verify"

func (s *Server) registerAPIKeyRoutes(e *echo.Echo) {
	e.POST(apiKeyVerifyPath, s.verifyAPIKey)
	e.GET("/api/api-keys", s.listAPIKeys)
	e.POST("/api/api-keys", s.createAPIKey)
	e.GET("/api/api-keys/:id", s.getAPIKey)
	e.PATCH("/api/api-keys/:id", s.patchAPIKey)
	e.DELETE("/api/api-keys/:id", s.deleteAPIKey)
	e.POST("/api/api-keys/:id/rotate", s.rotateAPIKey)
	e.POST("/api/api-keys/:id/revoke", s.revokeAPIKey)
	e.GET("/api/api-keys/:id/usage", s.apiKeyUsage)
	e.GET("/api/usage", s.organizationUsage)
	e.GET("/api/usage/series", s.usageSeries)
	e.GET("/api/audit-log", s.listAuditLog)
}

type apiKeyView struct {
	ID              string     `json:"id"`
	OrganizationID  string     `json:"organization_id"`
	Owner           string     `json:"owner"`
	UserID          *string    `json:"user_id"`
	Name            string     `json:"name"`
	Description     *string    `json:"description"`
	KeyPrefix       string     `json:"key_prefix"`
	Scopes          []string   `json:"scopes"`
	AllowedIPs      []string   `json:"allowed_ips"`
	Status          string     `json:"status"`
	ExpiresAt       *time.Time `json:"expires_at"`
	RevokedAt       *time.Time `json:"revoked_at"`
	RotatedAt       *time.Time `json:"rotated_at"`
	ReplacedByID    *string    `json:"replaced_by_id"`
	CreatedByUserID *string    `json:"created_by_user_id"`
	LastUsedAt      *time.Time `json:"last_used_at"`
	UsageCount      int64      `json:"usage_count"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Key             string     `json:"key,omitempty"`
}

func viewAPIKey(k models.APIKey, now time.Time) apiKeyView {
	status := "active"
	switch {
	case k.RevokedAt != nil || !k.IsActive:
		status = "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) && k.ReplacedByID != nil:
		status = "rotated"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		status = "expired"
	case k.ReplacedByID != nil:
		status = "rotating" // still valid until expires_at (end of grace)
	}
	return apiKeyView{
		ID: k.ID, OrganizationID: deref(k.OrganizationID), Owner: apikeys.OwnerOf(k), UserID: k.UserID,
		Name: k.Name, Description: k.Description, KeyPrefix: k.KeyPrefix, Scopes: apikeys.ScopesOf(k),
		AllowedIPs: apikeys.AllowedIPsOf(k), Status: status, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
		RotatedAt: k.RotatedAt, ReplacedByID: k.ReplacedByID, CreatedByUserID: k.CreatedByUserID,
		LastUsedAt: k.LastUsedAt, UsageCount: k.UsageCount, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt,
	}
}

// caller is the principal as the key service sees it.
func (s *Server) caller(c echo.Context) apikeys.Caller {
	p := principal(c)
	ip := clientIP(c.Request(), s.deps.TrustedProxies)
	ipStr := ""
	if ip.IsValid() {
		ipStr = ip.String()
	}
	return apikeys.Caller{
		OrganizationID: p.OrganizationID, UserID: p.UserID, Scopes: p.Scopes, Method: string(p.Method),
		CredentialID: p.CredentialID, IP: ipStr, RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	}
}

// keyError maps the key service's refusals.
func keyError(err error) error {
	var ke *apikeys.Error
	if !errors.As(err, &ke) {
		return err
	}
	status := map[apikeys.ErrorKind]int{
		apikeys.Invalid: http.StatusUnprocessableEntity, apikeys.Forbidden: http.StatusForbidden,
		apikeys.NotFound: http.StatusNotFound, apikeys.Conflict: http.StatusConflict,
	}[ke.Kind]
	return &Error{Status: status, Code: ke.Code, Field: ke.Field, Message: ke.Message}
}

func (s *Server) createAPIKey(c echo.Context) error {
	var in struct {
		Owner       string   `json:"owner"`
		Name        string   `json:"name"`
		Description *string  `json:"description"`
		Scopes      []string `json:"scopes"`
		AllowedIPs  []string `json:"allowed_ips"`
		ExpiresAt   *string  `json:"expires_at"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil {
			return FieldError("expires_at", "expires_at must be an RFC 3339 time")
		}
		t = t.UTC()
		expires = &t
	}
	created, err := s.deps.APIKeys.Create(c.Request().Context(), s.caller(c), apikeys.CreateInput{
		Owner: in.Owner, Name: in.Name, Description: in.Description, Scopes: in.Scopes,
		AllowedIPs: in.AllowedIPs, ExpiresAt: expires,
	})
	if err != nil {
		return keyError(err)
	}
	v := viewAPIKey(created.Key, time.Now())
	v.Key = created.Secret
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) listAPIKeys(c echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	keys, next, err := s.deps.APIKeys.List(c.Request().Context(), s.caller(c), limit, c.QueryParam("cursor"))
	if errors.Is(err, store.ErrBadCursor) {
		return err // the error handler names the cursor field
	}
	if err != nil {
		return keyError(err)
	}
	now := time.Now()
	out := make([]apiKeyView, len(keys))
	for i, k := range keys {
		out[i] = viewAPIKey(k, now)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": nullable(next)})
}

func (s *Server) getAPIKey(c echo.Context) error {
	k, err := s.deps.APIKeys.Get(c.Request().Context(), s.caller(c), c.Param("id"))
	if err != nil {
		return keyError(err)
	}
	return c.JSON(http.StatusOK, viewAPIKey(k, time.Now()))
}

func (s *Server) patchAPIKey(c echo.Context) error {
	var in struct {
		Name        *string   `json:"name"`
		Description *string   `json:"description"`
		Scopes      *[]string `json:"scopes"`
		AllowedIPs  *[]string `json:"allowed_ips"`
		ExpiresAt   *string   `json:"expires_at"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	var expires *time.Time
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil {
			return FieldError("expires_at", "expires_at must be an RFC 3339 time")
		}
		expires = &t
	}
	k, err := s.deps.APIKeys.Patch(c.Request().Context(), s.caller(c), c.Param("id"), apikeys.PatchInput{
		Name: in.Name, Description: in.Description, Scopes: in.Scopes, AllowedIPs: in.AllowedIPs, ExpiresAt: expires,
	})
	if err != nil {
		return keyError(err)
	}
	return c.JSON(http.StatusOK, viewAPIKey(k, time.Now()))
}

func (s *Server) rotateAPIKey(c echo.Context) error {
	var in struct {
		GraceSeconds int `json:"grace_seconds"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	created, err := s.deps.APIKeys.Rotate(c.Request().Context(), s.caller(c), c.Param("id"), time.Duration(in.GraceSeconds)*time.Second)
	if err != nil {
		return keyError(err)
	}
	v := viewAPIKey(created.Key, time.Now())
	v.Key = created.Secret
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	k, err := s.deps.APIKeys.Revoke(c.Request().Context(), s.caller(c), c.Param("id"))
	if err != nil {
		return keyError(err)
	}
	return c.JSON(http.StatusOK, viewAPIKey(k, time.Now()))
}

func (s *Server) deleteAPIKey(c echo.Context) error {
	if err := s.deps.APIKeys.Delete(c.Request().Context(), s.caller(c), c.Param("id")); err != nil {
		return keyError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// verifyAPIKey is how the rest of Aqio checks a key it was given: always
// 200 with valid=false and a reason code for a refused key.
func (s *Server) verifyAPIKey(c echo.Context) error {
	var in struct {
		Key            string   `json:"key"`
		RequiredScopes []string `json:"required_scopes"`
		IP             string   `json:"ip"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	var ip netip.Addr
	if in.IP != "" {
		var err error
		if ip, err = netip.ParseAddr(in.IP); err != nil {
			return FieldError("ip", "ip must be an IPv4 or IPv6 address")
		}
	}
	for i, sc := range in.RequiredScopes {
		if !apikeys.ValidScope(sc) {
			return FieldError("required_scopes["+itoa(i)+"]", "unknown scope %q", sc)
		}
	}
	v, err := s.deps.APIKeys.Verify(c.Request().Context(), apikeys.VerifyInput{
		Key: in.Key, RequiredScopes: in.RequiredScopes, IP: ip, Source: "verify",
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	})
	if err != nil {
		return err
	}
	out := map[string]any{"valid": v.Valid, "reason": nil, "key_id": nil, "organization_id": nil,
		"user_id": nil, "scopes": []string{}, "rate_limit": nil}
	if !v.Valid {
		out["reason"] = v.Reason
	}
	if v.Key != nil {
		out["key_id"], out["organization_id"], out["user_id"] = v.Key.ID, v.Key.OrganizationID, v.Key.UserID
		out["scopes"] = v.Scopes
	}
	if d := v.RateLimit; d != nil {
		now := time.Now()
		w := d.Tightest()
		rl := map[string]any{"policy": w.Name, "plan": d.Policy.Name, "limit": w.Limit, "remaining": w.Remaining,
			"reset": max(int(w.ResetAt.Sub(now).Round(time.Second).Seconds()), 0)}
		if !d.Allowed {
			rl["retry_after"] = d.RetryAfterSeconds(now)
		}
		out["rate_limit"] = rl
	}
	return c.JSON(http.StatusOK, out)
}
