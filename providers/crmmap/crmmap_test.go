package crmmap

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aqio/connect/providers"
)

func TestFromRegistration(t *testing.T) {
	p, err := FromRegistration(json.RawMessage(`{"id":"reg_1","event_id":"evt_1","user_email":" Ada@Example.COM ",
		"user_name":"Ada  King Lovelace","guests":2,"dietary_restrictions":"vegan","ticket_type":null,
		"answers":{"company":"Analytical Engines","newsletter":true,"tracks":["a","b"],"nested":{"x":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "ada@example.com" || p.FirstName != "Ada" || p.LastName != "King Lovelace" {
		t.Fatalf("person %+v", p)
	}
	want := map[string]string{
		"user_name": "Ada  King Lovelace", "first_name": "Ada", "last_name": "King Lovelace", "event_id": "evt_1",
		"guests": "2", "dietary_restrictions": "vegan", "answers.company": "Analytical Engines",
		"answers.newsletter": "true", "answers.tracks": "a;b",
	}
	if !reflect.DeepEqual(p.Fields, want) {
		t.Fatalf("fields %v, want %v", p.Fields, want)
	}
}

func TestFromRegistrationRefuses(t *testing.T) {
	for _, tc := range []struct{ name, obj, want string }{
		{"no email", `{"id":"r"}`, "no user_email"},
		{"bad email", `{"user_email":"not an address"}`, "not an email address"},
		{"not an object", `[1]`, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromRegistration(json.RawMessage(tc.obj))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		m          Mapping
		field, msg string
	}{
		{"ok", Mapping{"dietary_restrictions": "dietary_preferences", "answers.company": "company"}, "", ""},
		{"unknown source", Mapping{"shoe_size": "shoe"}, "settings.m.shoe_size", "unknown Aqio field"},
		{"bad answer key", Mapping{"answers.": "x"}, "settings.m.answers.", "unknown Aqio field"},
		{"empty target", Mapping{"guests": " "}, "settings.m.guests", "contact property name"},
		{"spaces", Mapping{"guests": "number of guests"}, "settings.m.guests", "no spaces"},
		{"reserved", Mapping{"user_name": "Email"}, "settings.m.user_name", "written by Aqio"},
		{"twice", Mapping{"first_name": "name", "user_name": "name"}, "settings.m.user_name", "already mapped from first_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate("settings.m", "email")
			checkSettingsErr(t, err, tc.field, tc.msg)
		})
	}
}

func TestCheckTargets(t *testing.T) {
	targets := []Target{{Name: "email"}, {Name: "dietary_preferences"}, {Name: "hs_object_id", ReadOnly: true}}
	for _, tc := range []struct {
		name       string
		m          Mapping
		field, msg string
	}{
		{"ok", Mapping{"dietary_restrictions": "dietary_preferences"}, "", ""},
		{"one unknown", Mapping{"dietary_restrictions": "dietary_preferences", "registration_source": "event_source"},
			"settings.m.registration_source", `HubSpot has no contact property "event_source"`},
		{"two unknown", Mapping{"guests": "seats", "registration_source": "event_source"},
			"settings.m.guests", `"seats", "event_source" (mapped from guests, registration_source)`},
		{"read-only", Mapping{"user_id": "hs_object_id"}, "settings.m.user_id", "is read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSettingsErr(t, tc.m.CheckTargets("settings.m", "HubSpot", targets), tc.field, tc.msg)
		})
	}
}

func TestApply(t *testing.T) {
	p := Person{Email: "a@b.c", Fields: map[string]string{"dietary_restrictions": "vegan", "answers.company": "ACME"}}
	got := Mapping{"dietary_restrictions": "dietary_preferences", "answers.company": "company", "guests": "seats"}.Apply(p)
	want := map[string]string{"dietary_preferences": "vegan", "company": "ACME"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("apply %v, want %v (absent sources are left out)", got, want)
	}
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct{ in, first, last string }{
		{"", "", ""}, {"Cher", "Cher", ""}, {" Grace  Brewster Hopper ", "Grace", "Brewster Hopper"},
	} {
		f, l := SplitName(tc.in)
		if f != tc.first || l != tc.last {
			t.Errorf("SplitName(%q) = %q, %q", tc.in, f, l)
		}
	}
}

func checkSettingsErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	se, ok := err.(*providers.SettingsError)
	if !ok {
		t.Fatalf("error %v (%T), want a SettingsError", err, err)
	}
	if se.Field != field || !strings.Contains(se.Message, msg) {
		t.Fatalf("error %s: %s, want %s containing %q", se.Field, se.Message, field, msg)
	}
}
