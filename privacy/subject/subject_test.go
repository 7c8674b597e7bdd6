package subject

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	s := Subject{Email: "Ada+x@Example.com", UserID: "usr_1"}
	m := NewMatcher(s)
	emails, names := m.Discover([]byte(`{"id":"evt_1","data":{"object":{"id":"reg_1","user_id":"usr_1","user_email":"ada+x@example.com","user_name":"Zoë Lovelace"}}}`))
	if len(emails) != 1 || len(names) != 1 || names[0] != "Zoë Lovelace" {
		t.Fatalf("discover: %v %v", emails, names)
	}
	s.Merge(emails, names)
	m = NewMatcher(s)
	cases := []struct {
		name, in  string
		changed   bool
		mustNot   []string
		mustStill []string
	}{
		{"subject object", `{"id":"evt_1","type":"registration.confirmed","data":{"object":{"id":"reg_1","status":"confirmed","user_id":"usr_1","user_email":"ADA+x@example.com","user_name":"Zoë Lovelace","answers":{"company":"Engines"},"amount":3}}}`,
			true, []string{"ada+x", "Zoë", "Lovelace", "Engines", "usr_1"}, []string{`"id":"reg_1"`, `"status":"confirmed"`, `"amount":3`, "registration.confirmed"}},
		{"other object mentions the name", `{"dealname":"Summit — Zoë Lovelace","other":"Zoëlle"}`, true, []string{"Zoë Lovelace"}, []string{"Summit", "Zoëlle"}},
		{"excerpt with first and last name", `HTTP 200 {"properties":{"firstname":"Zoë","lastname":"Lovelace"}`, true, []string{"Zoë", "Lovelace"}, []string{"firstname"}},
		{"plain text address", "mailto:ada+x@example.com refused", true, []string{"ada+x@example.com"}, []string{"refused"}},
		{"nothing of theirs", `{"user_email":"grace@example.com","user_name":"Grace Hopper"}`, false, nil, []string{"Grace Hopper"}},
		{"already redacted", `{"data":{"object":{"user_id":"[erased]","user_email":"[erased]"}}}`, false, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, changed := m.Redact(tc.in)
			if changed != tc.changed {
				t.Fatalf("changed %v, want %v: %s", changed, tc.changed, out)
			}
			for _, s := range tc.mustNot {
				if strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
					t.Errorf("%q still in %s", s, out)
				}
			}
			for _, s := range tc.mustStill {
				if !strings.Contains(out, s) {
					t.Errorf("%q lost from %s", s, out)
				}
			}
			if again, ch := m.Redact(out); ch {
				t.Errorf("redacting twice changed %s to %s", out, again)
			}
		})
	}
	if EmailHash("ADA+x@example.com ") != EmailHash("ada+x@example.com") || EmailHash("") != "" {
		t.Fatal("email hash is not normalized")
	}
}
