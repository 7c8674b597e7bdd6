package eventtypes

import "testing"

func TestCatalogHasThirteenTypes(t *testing.T) {
	if n := len(All()); n != 13 {
		t.Fatalf("catalog has %d types, want 13", n)
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		patterns []string
		typ      string
		want     bool
	}{
		{"exact", []string{"event.created"}, "event.created", true},
		{"other exact", []string{"event.created"}, "event.updated", false},
		{"family", []string{"registration.*"}, "registration.confirmed", true},
		{"family is not prefix of name", []string{"event.*"}, "eventful.x", false},
		{"all", []string{"*"}, "payment.failed", true},
		{"none", nil, "payment.failed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Match(tc.patterns, tc.typ); got != tc.want {
				t.Fatalf("Match(%v, %q) = %v", tc.patterns, tc.typ, got)
			}
		})
	}
}

func TestValidatePattern(t *testing.T) {
	for _, ok := range []string{"*", "event.created", "registration.*", "user.joined_organization"} {
		if err := ValidatePattern(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "event", "event.exploded", "nope.*", "**", "registration.**"} {
		if err := ValidatePattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCatalogListsOperationalTypes(t *testing.T) {
	got := map[string]Type{}
	for _, typ := range Catalog() {
		got[typ.Name] = typ
	}
	for _, name := range []string{WebhookDisabled, Test, IntegrationError, PrivacyErasureRequested} {
		typ, ok := got[name]
		if !ok {
			t.Fatalf("%s missing from the catalog", name)
		}
		if !typ.Operational || len(typ.Schema) == 0 || len(typ.Example) == 0 {
			t.Fatalf("%s: operational=%v schema=%s example=%s", name, typ.Operational, typ.Schema, typ.Example)
		}
		if Known(name) {
			t.Fatalf("%s must not be postable as a domain event", name)
		}
		if Match([]string{"*"}, name) {
			t.Fatalf("'*' must not cover the operational %s", name)
		}
	}
	for _, typ := range All() {
		if typ.Operational {
			t.Fatalf("domain type %s marked operational", typ.Name)
		}
	}
	if n := len(Catalog()); n != len(All())+4 {
		t.Fatalf("catalog has %d types", n)
	}
}
