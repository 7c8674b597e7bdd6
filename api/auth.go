package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/apikeys"
)

// AuthMethod says how a caller authenticated.
type AuthMethod string

// Authentication methods.
const (
	AuthServiceToken AuthMethod = "service_token"
	AuthUserJWT      AuthMethod = "user_jwt"
	AuthAPIKey       AuthMethod = "api_key"
)

// Principal is who is calling, whatever the credential: every handler and
// query uses its OrganizationID.
type Principal struct {
	OrganizationID string
	UserID         string
	Scopes         []string
	Method         AuthMethod
	CredentialID   string // API key id, when Method is AuthAPIKey
	// Roles are the user's token roles (user JWTs only).
	Roles []string
	// Support: the user holds a support role (JWTAuth.SupportRoles).
	Support bool
	// ResponseHeaders are set on the response (rate-limit fields of API keys).
	ResponseHeaders http.Header
}

// HasScope reports whether the principal holds scope ("*" and "area:*"
// wildcards included, except for service-level scopes: apikeys.Covers).
func (p Principal) HasScope(scope string) bool {
	return apikeys.Covers(p.Scopes, scope)
}

// Authenticator turns a request's credential into a Principal. It returns
// (nil, nil) when the credential is not its kind, so several can be chained.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*Principal, error)
}

// ServiceTokenAuth authenticates the Aqio backend: a bearer service token
// plus X-Aqio-Organization-Id naming the organization it acts for. It
// holds every scope, the service-level ones included.
type ServiceTokenAuth struct {
	Token string
}

// OrganizationHeader names the organization a service call acts for.
const OrganizationHeader = "X-Aqio-Organization-Id"

// UserHeader optionally names the Aqio user a service call acts for
// (owner of user API keys and user-specific integrations).
const UserHeader = "X-Aqio-User-Id"

var serviceTokenScopes = apikeys.WithServiceScopes([]string{"*"})

var orgIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// Authenticate implements Authenticator.
func (a ServiceTokenAuth) Authenticate(_ context.Context, r *http.Request) (*Principal, error) {
	tok, ok := bearer(r)
	if !ok || a.Token == "" {
		return nil, nil
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(a.Token)) != 1 {
		return nil, nil
	}
	org := r.Header.Get(OrganizationHeader)
	if org == "" && (r.URL.Path == apiKeyVerifyPath || isAdminPath(r.URL.Path) || r.URL.Path == organizationsPath) {
		// Verifying a key is not an action for one organization: the key
		// says which; the operator endpoints and the organization list act
		// on the whole deployment.
		return &Principal{Scopes: serviceTokenScopes, Method: AuthServiceToken}, nil
	}
	if org == "" {
		return nil, &Error{Status: http.StatusBadRequest, Code: "missing_organization", Field: OrganizationHeader,
			Message: "the service token must name the organization in the " + OrganizationHeader + " header"}
	}
	if !orgIDPattern.MatchString(org) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_organization", Field: OrganizationHeader,
			Message: "organization id must be 1-100 characters of letters, digits, '_', '.', ':' or '-'"}
	}
	user := r.Header.Get(UserHeader)
	if user != "" && !orgIDPattern.MatchString(user) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_user", Field: UserHeader,
			Message: "user id must be 1-100 characters of letters, digits, '_', '.', ':' or '-'"}
	}
	return &Principal{OrganizationID: org, UserID: user, Scopes: serviceTokenScopes, Method: AuthServiceToken}, nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

const principalKey = "aqio.principal"

// authenticate runs the authenticators in order; the first that recognises
// the credential decides.
func authenticate(auths []Authenticator, public func(string) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if public(c.Path()) {
				return next(c)
			}
			for _, a := range auths {
				p, err := a.Authenticate(c.Request().Context(), c.Request())
				var hdr interface{ ResponseHeaders() http.Header }
				if errors.As(err, &hdr) {
					setHeaders(c, hdr.ResponseHeaders())
				}
				if err != nil {
					return err
				}
				if p != nil {
					setHeaders(c, p.ResponseHeaders)
					c.Set(principalKey, *p)
					return next(c)
				}
			}
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="aqio-connect"`)
			if _, ok := bearer(c.Request()); !ok {
				return Errorf(http.StatusUnauthorized, "unauthenticated", "missing bearer credential in the Authorization header")
			}
			return Errorf(http.StatusUnauthorized, "invalid_credential", "the bearer credential is not valid")
		}
	}
}

func setHeaders(c echo.Context, h http.Header) {
	for k, v := range h {
		c.Response().Header()[k] = v
	}
}

// principal returns the authenticated caller.
func principal(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}

// insufficientScope is the 403 for a caller holding none of scopes.
func insufficientScope(scopes []string) *Error {
	msg := "this call needs the " + strings.Join(scopes, " or the ") + " scope"
	for _, s := range scopes {
		if apikeys.IsServiceScope(s) {
			msg += ", a service-level scope that only the service token and roles in AQIO_JWT_SERVICE_ROLES hold (never an API key or a wildcard)"
			break
		}
	}
	return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Message: msg}
}
