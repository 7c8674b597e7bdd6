package eventtypes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEveryTypeHasSchemaAndValidExample(t *testing.T) {
	for _, typ := range All() {
		t.Run(typ.Name, func(t *testing.T) {
			var sch map[string]any
			if err := json.Unmarshal(typ.Schema, &sch); err != nil {
				t.Fatalf("schema: %v", err)
			}
			if sch["type"] != "object" {
				t.Fatalf("schema type = %v, want object", sch["type"])
			}
			req, _ := sch["required"].([]any)
			if len(req) == 0 || req[0] != "id" || len(req) > 3 {
				t.Fatalf("required = %v, want id plus at most two essentials", req)
			}
			if len(typ.Example) == 0 {
				t.Fatal("no example")
			}
			if err := ValidateObject(typ.Name, typ.Example); err != nil {
				t.Fatalf("the example breaks its own schema: %v", err)
			}
		})
	}
}

func TestValidateObject(t *testing.T) {
	cases := []struct {
		name      string
		typ       string
		object    string
		wantField string // "" means valid
		wantMsg   string
	}{
		{"seed registration", "registration.confirmed", `{"id":"reg_789","event_id":"evt_456","user_email":"user@example.com","registered_at":"2024-09-15T10:00:00Z","dietary_restrictions":"Vegetarian"}`, "", ""},
		{"additional properties allowed", "registration.created", `{"id":"r","event_id":"e","favourite_colour":"green"}`, "", ""},
		{"missing id", "event.created", `{"title":"x"}`, "data.object.id", "is required"},
		{"missing event_id", "registration.confirmed", `{"id":"reg_1"}`, "data.object.event_id", "is required"},
		{"two missing, first in order", "payment.completed", `{"id":"p"}`, "data.object.amount", "is required"},
		{"wrong type", "event.updated", `{"id":"e","max_attendees":"fifty"}`, "data.object.max_attendees", "must be null or integer, not string"},
		{"wrong id type", "invitation.sent", `{"id":7}`, "data.object.id", "must be string, not number"},
		{"nested wrong type", "event.created", `{"id":"e","tags":["ok",3]}`, "data.object.tags.1", "must be string"},
		{"bad enum", "event.published", `{"id":"e","location_type":"moon"}`, "data.object.location_type", "virtual"},
		{"negative amount", "payment.failed", `{"id":"p","amount":-1,"currency":"NOK"}`, "data.object.amount", "minimum"},
		{"null where nullable", "event.cancelled", `{"id":"e","ends_at":null,"cancellation_reason":null}`, "", ""},
		{"user joined", "user.joined_organization", `{"id":"usr_1","role":"member"}`, "", ""},
		{"unknown type is not checked", "webhook.test", `{"anything":1}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateObject(tc.typ, []byte(tc.object))
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ValidateObject = %v, want *FieldError", err)
			}
			if fe.Field != tc.wantField || !strings.Contains(fe.Message, tc.wantMsg) {
				t.Fatalf("got %q %q, want field %q with %q", fe.Field, fe.Message, tc.wantField, tc.wantMsg)
			}
		})
	}
}
