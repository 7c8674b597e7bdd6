package apikeys

import (
	"slices"
	"testing"

	"github.com/aqio/connect/models"
)

func TestCoversServiceScopes(t *testing.T) {
	cases := []struct {
		name string
		held []string
		want string
		ok   bool
	}{
		{"star covers an organization scope", []string{"*"}, "webhooks:write", true},
		{"area wildcard covers its area", []string{"integrations:*"}, "integrations:all_users", true},
		{"star does not cover verify", []string{"*"}, "api_keys:verify", false},
		{"area wildcard does not cover verify", []string{"api_keys:*"}, "api_keys:verify", false},
		{"star does not cover organizations:write", []string{"*"}, "organizations:write", false},
		{"organizations:* does not cover organizations:write", []string{"organizations:*"}, "organizations:write", false},
		{"named service scope", WithServiceScopes([]string{"*"}), "api_keys:verify", true},
		{"service token covers everything else", WithServiceScopes([]string{"*"}), "audit_log:read", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Covers(tc.held, tc.want); got != tc.ok {
				t.Fatalf("Covers(%v, %q) = %v", tc.held, tc.want, got)
			}
		})
	}
}

func TestServiceScopesAreNotGrantable(t *testing.T) {
	service := WithServiceScopes([]string{"*"})
	for _, s := range ServiceScopes {
		if _, err := NormalizeScopes([]string{"webhooks:read", s}, service); err == nil {
			t.Errorf("%s granted to a key", s)
		}
	}
	// A key stored with one (before they were refused) does not act with it.
	k := ScopesOf(models.APIKey{Scopes: `["api_keys:verify","webhooks:read"]`})
	if !slices.Equal(k, []string{"webhooks:read"}) {
		t.Fatalf("ScopesOf = %v", k)
	}
}

func TestOwnerRule(t *testing.T) {
	alice, bob := "alice", "bob"
	cases := []struct {
		name    string
		caller  string
		scopes  []string
		owner   *string
		reaches bool
	}{
		{"organization row", bob, []string{"integrations:read"}, nil, true},
		{"own row", alice, []string{"integrations:read"}, &alice, true},
		{"another user's row", bob, []string{"integrations:read", "integrations:write"}, &alice, false},
		{"no user", "", []string{"integrations:write"}, &alice, false},
		{"org-wide scope", bob, []string{"integrations:read", "integrations:all_users"}, &alice, true},
		{"area wildcard is org-wide", bob, []string{"integrations:*"}, &alice, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := OwnerFor("integrations", tc.caller, tc.scopes).Reaches(tc.owner); got != tc.reaches {
				t.Fatalf("Reaches = %v", got)
			}
		})
	}
	if got := orgWideReached([]string{"*"}); !slices.Equal(got, []string{"api_keys:write", "integrations:all_users"}) {
		t.Fatalf("orgWideReached(*) = %v", got)
	}
	if got := orgWideReached([]string{"webhooks:read"}); len(got) != 0 {
		t.Fatalf("orgWideReached(webhooks:read) = %v", got)
	}
}
