package apikeys

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aqio/connect/store"
)

// Catalog is every scope this service knows, with what it allows. A grant
// may also be "area:*" (every scope of an area) or "*" (everything).
var Catalog = map[string]string{
	"events:read":            "read Aqio events",
	"events:write":           "post Aqio domain events",
	"registrations:read":     "read registrations",
	"registrations:write":    "change registrations",
	"webhooks:read":          "list and read webhooks and their deliveries",
	"webhooks:write":         "create, change, test and delete webhooks",
	"webhooks:rerun":         "redeliver attempts and recover undelivered messages (without changing the webhook)",
	"integrations:read":      "list and read integrations and their sync logs",
	"integrations:write":     "connect, change, sync and disconnect integrations",
	"integrations:rerun":     "re-run failed syncs and pushes (without changing the integration)",
	"integrations:all_users": "reach every user's integrations, not only the caller's own and the organization's (with integrations:read / integrations:write)",
	"api_keys:read":          "list and read the organization's API keys",
	"api_keys:write":         "create, change, rotate, revoke and delete the organization's API keys",
	"api_keys:own":           "manage only the API keys the caller owns (user keys)",
	"api_keys:verify":        "verify any organization's API keys (POST /api/api-keys/verify); service-level",
	"usage:read":             "read API key usage",
	"audit_log:read":         "read the organization's audit log",
	"request_logs:read":      "read the organization's API request log (GET /api/request-logs)",
	"privacy:read":           "request and download a data subject's access export, read erasure requests",
	"privacy:write":          "erase a data subject's personal data here and at connected integrations (POST /api/privacy/erasures)",
	"organizations:read":     "read the organization",
	"organizations:write":    "create an organization and set its name and plan (PUT /api/organizations/{id}); service-level",
}

// ServiceScopes are the service-level powers: verifying any organization's
// keys, and provisioning an organization and its plan (what it is billed
// for). They are not the organization's to grant: no wildcard covers them
// ("*" and "api_keys:*" do not reach api_keys:verify), no API key can hold
// them, and only the service token and the JWT roles configured in
// AQIO_JWT_SERVICE_ROLES carry them, by name.
var ServiceScopes = []string{"api_keys:verify", "organizations:write"}

// IsServiceScope reports whether s is a service-level scope.
func IsServiceScope(s string) bool { return slices.Contains(ServiceScopes, s) }

// WithServiceScopes is scopes plus every service-level scope: the
// permission set of the service token ("*" and the service scopes).
func WithServiceScopes(scopes []string) []string {
	out := slices.Clone(scopes)
	for _, s := range ServiceScopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}

// orgWide is, for each area whose rows a user can own (user API keys,
// user integrations), the scope that reaches every user's rows. The owner
// rule (store.Owner) is the same for both: a user's row is reached by its
// owner, or by a caller holding the area's org-wide scope.
var orgWide = map[string]string{
	"api_keys":     "api_keys:write",
	"integrations": "integrations:all_users",
}

// OwnerFor is the owner rule of an area ("api_keys", "integrations") for
// a caller: whose user-owned rows it reaches.
func OwnerFor(area, userID string, scopes []string) store.Owner {
	wide, ok := orgWide[area]
	return store.Owner{UserID: userID, AllUsers: ok && Covers(scopes, wide)}
}

// orgWideReached lists the org-wide scopes of the owner-checked areas that
// scopes reach: a credential acting as a user with these scopes can act on
// that user's own rows there.
func orgWideReached(scopes []string) []string {
	var out []string
	for area, wide := range orgWide {
		for _, s := range scopes {
			if a, _, _ := strings.Cut(s, ":"); s == "*" || a == area {
				out = append(out, wide)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// CatalogNames lists the catalog sorted.
func CatalogNames() []string {
	out := make([]string, 0, len(Catalog))
	for s := range Catalog {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// ValidScope reports whether s is a catalog scope, "area:*" for a known
// area, or "*".
func ValidScope(s string) bool {
	if s == "*" {
		return true
	}
	if _, ok := Catalog[s]; ok {
		return true
	}
	area, rest, ok := strings.Cut(s, ":")
	if !ok || rest != "*" {
		return false
	}
	for c := range Catalog {
		if strings.HasPrefix(c, area+":") {
			return true
		}
	}
	return false
}

// Covers reports whether the held grants include want, where want may
// itself be a wildcard: "webhooks:*" is covered only by "webhooks:*" or "*".
// It is the one place where wildcards expand: a service-level scope is
// covered only by itself, never by "*" or "area:*".
func Covers(held []string, want string) bool {
	if IsServiceScope(want) {
		return slices.Contains(held, want)
	}
	area, _, _ := strings.Cut(want, ":")
	for _, h := range held {
		switch {
		case h == "*", h == want:
			return true
		case want != "*" && h == area+":*":
			return true
		}
	}
	return false
}

// NormalizeScopes validates, de-duplicates and sorts requested scopes and
// checks that the grantor holds each of them. It returns the offending
// scope in the error.
func NormalizeScopes(requested, grantor []string) ([]string, error) {
	if len(requested) == 0 {
		return nil, &ScopeError{Reason: "at least one scope is required"}
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(requested))
	for _, s := range requested {
		if !ValidScope(s) {
			return nil, &ScopeError{Scope: s, Reason: fmt.Sprintf("unknown scope %q (see the scope catalog)", s)}
		}
		if IsServiceScope(s) {
			return nil, &ScopeError{Scope: s, Reason: fmt.Sprintf("scope %q is a service-level power; an API key cannot hold it", s)}
		}
		if !Covers(grantor, s) {
			return nil, &ScopeError{Scope: s, Exceeds: true, Reason: fmt.Sprintf("scope %q exceeds the caller's own scopes", s)}
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Exceeding returns the first of scopes the holder lacks, and whether
// there is one: a credential with scopes would be stronger than the holder.
func Exceeding(held, scopes []string) (string, bool) {
	for _, s := range scopes {
		if !Covers(held, s) {
			return s, true
		}
	}
	return "", false
}

// ScopeError is a refused scope.
type ScopeError struct {
	Scope   string
	Exceeds bool // the scope is valid but the grantor does not hold it
	Reason  string
}

func (e *ScopeError) Error() string { return e.Reason }
