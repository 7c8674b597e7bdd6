package cli_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/listen/cli"
)

func TestTriggerBody(t *testing.T) {
	cases := []struct {
		name string
		sets []string
		path []string
		want any
	}{
		{"string", []string{"data.object.user_email=x@example.com"}, []string{"data", "object", "user_email"}, "x@example.com"},
		{"number", []string{"data.object.ticket_count=4"}, []string{"data", "object", "ticket_count"}, float64(4)},
		{"json object", []string{`data.object.answers={"diet":"vegan"}`}, []string{"data", "object", "answers", "diet"}, "vegan"},
		{"new nested", []string{"data.object.extra.note=hi"}, []string{"data", "object", "extra", "note"}, "hi"},
		{"top-level id", []string{"id=evt_cli_1"}, []string{"id"}, "evt_cli_1"},
		{"not json stays a string", []string{"data.object.user_name={oops"}, []string{"data", "object", "user_name"}, "{oops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := cli.TriggerBody("registration.created", tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			var cur any = body
			for _, p := range tc.path {
				m, ok := cur.(map[string]any)
				if !ok {
					t.Fatalf("%v: not an object at %s", body, p)
				}
				cur = m[p]
			}
			if cur != tc.want {
				t.Fatalf("%v = %#v, want %#v", tc.path, cur, tc.want)
			}
		})
	}
	if _, err := cli.TriggerBody("registration.created", []string{"nopath"}); err == nil || !strings.Contains(err.Error(), "path=value") {
		t.Fatalf("--set without =: %v", err)
	}
	if _, err := cli.TriggerBody("registration.created", []string{"type.x=1"}); err == nil || !strings.Contains(err.Error(), "not an object") {
		t.Fatalf("--set through a string: %v", err)
	}
}

func TestTriggerUnknownTypeListsCloseMatches(t *testing.T) {
	_, err := cli.TriggerBody("registration.confirmd", nil)
	var ue *cli.UnknownTypeError
	if !errors.As(err, &ue) || len(ue.Matches) == 0 || ue.Matches[0] != "registration.confirmed" {
		t.Fatalf("unknown type: %v", err)
	}
	if !strings.Contains(err.Error(), "did you mean registration.confirmed") {
		t.Fatalf("message: %v", err)
	}
	_, err = cli.TriggerBody("zzz", nil)
	if err == nil || !strings.Contains(err.Error(), "the catalog has event.created") {
		t.Fatalf("no close match: %v", err)
	}
}

// TestTriggerPostsTheExample: the example is accepted by the real API (its
// schema check included) and the printed id is the stored event's; a key
// without events:write is refused.
func TestTriggerPostsTheExample(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	key := apiKey(t, org, "events:write", "events:read")
	api := cli.API{BaseURL: env.BaseURL, Key: key}
	res, err := cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "invitation.sent", Sets: []string{"id=evt_cli_trigger"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "evt_cli_trigger" || res.Type != "invitation.sent" {
		t.Fatalf("triggered %+v", res)
	}
	if r := env.Do(t, "GET", "/api/events/evt_cli_trigger", nil, "Authorization", "Bearer "+key); r.Status != http.StatusOK {
		t.Fatalf("stored event: %d %s", r.Status, r.Body)
	}
	// A field the schema refuses comes back as the API's field-level error.
	_, err = cli.Trigger(context.Background(), cli.TriggerOptions{API: api, Type: "invitation.sent", Sets: []string{"data.object.email=42"}})
	var ae *cli.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || !strings.Contains(ae.Field, "email") {
		t.Fatalf("schema-breaking override: %v", err)
	}
	readOnly := apiKey(t, org, "events:read")
	_, err = cli.Trigger(context.Background(), cli.TriggerOptions{API: cli.API{BaseURL: env.BaseURL, Key: readOnly}, Type: "invitation.sent"})
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("trigger without events:write: %v", err)
	}
}
