package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/auth"
)

// JWTAuth authenticates Aqio users by their Keycloak access token. The
// organization is the token's only one, or the one named in
// X-Aqio-Organization-Id, which must be among the token's organizations.
// Roles map to scopes (docs/AUTH.md has the table); only ServiceRoles
// carry the service-level scopes (apikeys.ServiceScopes), "*" does not.
//
// SupportRoles are support staff: in the organizations their token grants
// (the SupportOrganizationsClaim of auth.Config; "*" grants every one,
// named in X-Aqio-Organization-Id) they hold supportScopes only — read
// deliveries, syncs and pushes and re-run them, never secrets, keys or
// configuration. In an organization they are a member of, they hold their
// role's scopes plus supportScopes.
type JWTAuth struct {
	Verifier       *auth.Verifier
	AdminRoles     []string
	OrganizerRoles []string
	ServiceRoles   []string
	SupportRoles   []string
}

// Role permission sets.
var (
	adminScopes     = []string{"*"}
	organizerScopes = []string{
		"events:*", "registrations:*", "webhooks:*", "integrations:*",
		"api_keys:read", "api_keys:write", "api_keys:own", "usage:read", "organizations:read", "request_logs:read",
	}
	memberScopes = []string{
		"events:read", "registrations:read", "webhooks:read", "integrations:read",
		"api_keys:own", "organizations:read",
	}
	// supportScopes see every delivery, sync and push (every user's
	// integrations included) and re-run them. webhooks:read does not reach
	// the signing secret (webhooks:write does), and nothing here creates
	// keys or changes a webhook or an integration.
	supportScopes = []string{
		"webhooks:read", "webhooks:rerun", "integrations:read", "integrations:rerun",
		"integrations:all_users", "organizations:read",
	}
)

// Authenticate implements Authenticator.
func (a JWTAuth) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	tok, ok := bearer(r)
	if !ok || a.Verifier == nil || strings.Count(tok, ".") != 2 {
		return nil, nil
	}
	id, err := a.Verifier.Verify(ctx, tok)
	switch {
	case errors.Is(err, auth.ErrExpired):
		return nil, Errorf(http.StatusUnauthorized, "token_expired", "the access token has expired")
	case errors.Is(err, auth.ErrInvalid):
		return nil, Errorf(http.StatusUnauthorized, "invalid_token", "the access token is not valid for this service")
	case err != nil:
		return nil, err
	}
	org := r.Header.Get(OrganizationHeader)
	if p, ok, err := a.supportPrincipal(id, org); ok || err != nil {
		return p, err
	}
	switch {
	case len(id.Organizations) == 0:
		return nil, Errorf(http.StatusForbidden, "no_organization", "the access token names no organization")
	case org == "" && len(id.Organizations) == 1:
		org = id.Organizations[0]
	case org == "":
		return nil, &Error{Status: http.StatusBadRequest, Code: "organization_required", Field: OrganizationHeader,
			Message: "the user belongs to several organizations: name one in the " + OrganizationHeader + " header"}
	case !slices.Contains(id.Organizations, org):
		return nil, &Error{Status: http.StatusForbidden, Code: "organization_not_allowed", Field: OrganizationHeader,
			Message: "the user is not a member of this organization"}
	}
	if !orgIDPattern.MatchString(org) || !orgIDPattern.MatchString(id.UserID) {
		return nil, Errorf(http.StatusUnauthorized, "invalid_token", "the access token's user or organization id has unsupported characters")
	}
	return &Principal{OrganizationID: org, UserID: id.UserID, Roles: id.Roles,
		Scopes: a.scopes(id.Roles), Method: AuthUserJWT, Support: a.isSupport(id.Roles)}, nil
}

// supportPrincipal is a support user acting in an organization it is
// granted but not a member of (ok false: not that case).
func (a JWTAuth) supportPrincipal(id auth.Identity, org string) (*Principal, bool, error) {
	if !a.isSupport(id.Roles) || (org == "" && len(id.Organizations) > 0) || slices.Contains(id.Organizations, org) {
		return nil, false, nil
	}
	if org == "" {
		return nil, true, &Error{Status: http.StatusBadRequest, Code: "organization_required", Field: OrganizationHeader,
			Message: "support staff name the organization they act in with the " + OrganizationHeader + " header"}
	}
	if !slices.Contains(id.SupportOrganizations, "*") && !slices.Contains(id.SupportOrganizations, org) {
		return nil, true, &Error{Status: http.StatusForbidden, Code: "organization_not_allowed", Field: OrganizationHeader,
			Message: "the support user is not granted this organization"}
	}
	if !orgIDPattern.MatchString(org) || !orgIDPattern.MatchString(id.UserID) {
		return nil, true, Errorf(http.StatusUnauthorized, "invalid_token", "the access token's user or organization id has unsupported characters")
	}
	return &Principal{OrganizationID: org, UserID: id.UserID, Roles: id.Roles,
		Scopes: slices.Clone(supportScopes), Method: AuthUserJWT, Support: true}, true, nil
}

func (a JWTAuth) isSupport(roles []string) bool {
	for _, r := range roles {
		if slices.Contains(a.SupportRoles, r) {
			return true
		}
	}
	return false
}

func (a JWTAuth) scopes(roles []string) []string {
	set := a.roleScopes(roles)
	for _, r := range roles {
		if slices.Contains(a.ServiceRoles, r) {
			return apikeys.WithServiceScopes(set)
		}
	}
	return set
}

func (a JWTAuth) roleScopes(roles []string) []string {
	set := a.memberRoleScopes(roles)
	if !a.isSupport(roles) {
		return set
	}
	out := slices.Clone(set)
	for _, s := range supportScopes {
		if !apikeys.Covers(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (a JWTAuth) memberRoleScopes(roles []string) []string {
	for _, r := range roles {
		if slices.Contains(a.AdminRoles, r) {
			return adminScopes
		}
	}
	for _, r := range roles {
		if slices.Contains(a.OrganizerRoles, r) {
			return organizerScopes
		}
	}
	return memberScopes
}
