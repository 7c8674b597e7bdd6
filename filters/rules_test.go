package filters

import (
	"errors"
	"testing"
)

const conference = `{"id":"evt_1","type":"event.published","created":1726394400,"organization_id":"org_1",
"data":{"object":{"id":"ev_1","title":"Go Days","event_type":"conference","attendees":120,"max_attendees":150,
"location_type":"virtual","price":49.5,"tags":["go","cloud"],"venue":{"city":"Oslo"},"speakers":[{"name":"Ana"}],
"published":true,"capacity_text":"150","cancelled_at":null}}}`

func TestParseRulesErrors(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		wantKey string
	}{
		{"not an object", `[1,2]`, ""},
		{"a string", `"conference"`, ""},
		{"bound not a number", `{"min_attendees":"10"}`, "min_attendees"},
		{"max bound not a number", `{"max_price":[10]}`, "max_price"},
		{"empty any-of", `{"event_type":[]}`, "event_type"},
		{"object value", `{"venue":{"city":"Oslo"}}`, "venue"},
		{"null value", `{"venue":null}`, "venue"},
		{"nested list element", `{"event_type":["a",["b"]]}`, "event_type.1"},
		{"object list element", `{"event_type":[{"a":1}]}`, "event_type.0"},
		{"bad path", `{"venue..city":"Oslo"}`, "venue..city"},
		{"bad characters", `{"venue city":"Oslo"}`, "venue city"},
		{"bare prefix", `{"min_":3}`, "min_"},
		{"empty key", `{"":3}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tc.raw))
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("ParseRules(%s) = %v, want *Error", tc.raw, err)
			}
			if fe.Key != tc.wantKey {
				t.Fatalf("key = %q, want %q (%v)", fe.Key, tc.wantKey, err)
			}
		})
	}
}

func TestRulesMatch(t *testing.T) {
	ev, err := ParseEvent([]byte(conference))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		rules string
		want  bool
	}{
		{"no filter", ``, true},
		{"null filter", `null`, true},
		{"empty object", `{}`, true},
		{"seed example", `{"event_type":["conference"],"min_attendees":10}`, true},
		{"any-of second value", `{"event_type":["meetup","conference"]}`, true},
		{"any-of no value", `{"event_type":["meetup","workshop"]}`, false},
		{"scalar equality", `{"location_type":"virtual"}`, true},
		{"scalar inequality", `{"location_type":"hybrid"}`, false},
		{"equality is case-sensitive", `{"location_type":"Virtual"}`, false},
		{"number equality", `{"max_attendees_x":1}`, false},
		{"integer equals float", `{"attendees":120.0}`, true},
		{"bool equality", `{"published":true}`, true},
		{"bool is not string", `{"published":"true"}`, false},
		{"min inclusive", `{"min_attendees":120}`, true},
		{"min above", `{"min_attendees":121}`, false},
		{"max inclusive", `{"max_attendees":120}`, true},
		{"max below", `{"max_attendees":119}`, false},
		{"bound on a field named max_", `{"min_max_attendees":150}`, true},
		{"float bound", `{"max_price":49.5,"min_price":49.49}`, true},
		{"missing field under bound", `{"min_guests":1}`, false},
		{"missing field under equality", `{"category":"tech"}`, false},
		{"null field does not match", `{"cancelled_at":"x"}`, false},
		{"numeric string is not numeric", `{"min_capacity_text":100}`, false},
		{"string bound target", `{"min_title":1}`, false},
		{"nested path", `{"venue.city":"Oslo"}`, true},
		{"nested path mismatch", `{"venue.city":"Bergen"}`, false},
		{"list index", `{"speakers.0.name":"Ana"}`, true},
		{"list index out of range", `{"speakers.1.name":"Ana"}`, false},
		{"list field any element", `{"tags":"cloud"}`, true},
		{"list field no element", `{"tags":["rust","zig"]}`, false},
		{"all keys must match", `{"event_type":"conference","location_type":"hybrid"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRules([]byte(tc.rules))
			if err != nil {
				t.Fatalf("ParseRules: %v", err)
			}
			if got := r.Match(ev.Object()); got != tc.want {
				t.Fatalf("Match(%s) = %v, want %v", tc.rules, got, tc.want)
			}
		})
	}
}

func TestRulesMatchWithoutObject(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"id":"e","type":"event.created","created":1,"data":{},"organization_id":"o"}`))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ParseRules([]byte(`{"event_type":"conference"}`))
	if r.Match(ev.Object()) {
		t.Fatal("an event without data.object matched a filter")
	}
}
