package apikeys

import (
	"fmt"
	"sort"
	"strings"
)

// Catalog is every scope this service knows, with what it allows. A grant
// may also be "area:*" (every scope of an area) or "*" (everything).
var Catalog = map[string]string{
	"events:read":         "read Aqio events",
	"events:write":        "post Aqio domain events",
	"registrations:read":  "read registrations",
	"registrations:write": "change registrations",
	"webhooks:read":       "list and read webhooks and their deliveries",
	"webhooks:write":      "create, change, test and delete webhooks",
	"integrations:read":   "list and read integrations and their sync logs",
	"integrations:write":  "connect, change, sync and disconnect integrations",
	"api_keys:read":       "list and read the organization's API keys",
	"api_keys:write":      "create, change, rotate, revoke and delete the organization's API keys",
	"api_keys:own":        "manage only the API keys the caller owns (user keys)",
	"api_keys:verify":     "verify API keys (POST /api/api-keys/verify; the Aqio backend)",
	"usage:read":          "read API key usage",
	"audit_log:read":      "read the organization's audit log",
	"organizations:read":  "read the organization",
	"organizations:write": "change the organization's name and plan",
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
func Covers(held []string, want string) bool {
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

// ScopeError is a refused scope.
type ScopeError struct {
	Scope   string
	Exceeds bool // the scope is valid but the grantor does not hold it
	Reason  string
}

func (e *ScopeError) Error() string { return e.Reason }
