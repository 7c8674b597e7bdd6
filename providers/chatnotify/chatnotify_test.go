package chatnotify_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/chatnotify"
)

type links map[string]providers.Link

func (l links) Get(_ context.Context, typ, id string) (providers.Link, error) {
	if v, ok := l[typ+"/"+id]; ok {
		return v, nil
	}
	return providers.Link{}, providers.ErrNotFound
}
func (l links) Put(_ context.Context, v providers.Link) error {
	l[v.ObjectType+"/"+v.ObjectID] = v
	return nil
}
func (l links) Claim(_ context.Context, v providers.Link, _ string) (bool, error) {
	if _, ok := l[v.ObjectType+"/"+v.ObjectID]; ok {
		return false, nil
	}
	l[v.ObjectType+"/"+v.ObjectID] = v
	return true, nil
}

type objects struct {
	event providers.Object
	n     int
}

func (o *objects) Get(context.Context, string, string) (providers.Object, error) { return o.event, nil }
func (o *objects) Children(context.Context, string, string) ([]providers.Object, error) {
	return nil, nil
}
func (o *objects) CountActive(context.Context, string, string) (int, error) { return o.n, nil }

type milestones map[int]string

func (m milestones) Claim(_ context.Context, _ string, n int) (bool, error) {
	if _, ok := m[n]; ok {
		return false, nil
	}
	m[n] = ""
	return true, nil
}
func (m milestones) Posted(_ context.Context, _ string, n int, id string) error {
	m[n] = id
	return nil
}

type poster struct {
	sent []chatnotify.Message
	fail error
}

func (p *poster) post(_ context.Context, _ *providers.Runtime, m chatnotify.Message) (providers.Result, error) {
	if p.fail != nil {
		return providers.Result{}, p.fail
	}
	p.sent = append(p.sent, m)
	return providers.Result{Action: "posted", ExternalID: "m" + string(rune('0'+len(p.sent)))}, nil
}

func setup(t *testing.T, raw string) (*poster, chatnotify.Notifier, *providers.Runtime, *objects) {
	t.Helper()
	var s chatnotify.Settings
	if err := providers.DecodeSettings([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	p := &poster{}
	n := chatnotify.Notifier{Provider: "test", Strong: "**", Post: p.post,
		Settings: func(v any) chatnotify.Settings { s, _ := v.(chatnotify.Settings); return s }}
	obj := &objects{event: providers.Object{Type: "event", ID: "evt_1", Data: json.RawMessage(`{"id":"evt_1","title":"Launch","max_attendees":10}`)}}
	rt := &providers.Runtime{Settings: s, Links: links{}, Objects: obj, Milestones: milestones{}}
	return p, n, rt, obj
}

func TestEventCreatedPostedOnce(t *testing.T) {
	p, n, rt, _ := setup(t, `{"notifications":{"event_created":true}}`)
	ev := providers.Event{Type: "event.created", Object: json.RawMessage(`{"id":"evt_1","title":"Launch","starts_at":"2031-01-01T10:00:00Z"}`)}
	p.fail = errors.New("down")
	if _, err := n.Actions()["event.created"](context.Background(), rt, ev); err == nil {
		t.Fatal("a failed post reported success")
	}
	p.fail = nil
	for i := 0; i < 2; i++ {
		if _, err := n.Actions()["event.created"](context.Background(), rt, ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.sent) != 1 || p.sent[0].Text != "📅 New event: **Launch** (2031-01-01T10:00:00Z)" || p.sent[0].Kind != chatnotify.KindEventCreated {
		t.Fatalf("sent %+v", p.sent)
	}
}

func TestMilestonesOnceEach(t *testing.T) {
	p, n, rt, obj := setup(t, `{"notifications":{"registration_milestone":{"at":[3,1]}},"message_template":"{{event.title}} at {{milestone}}: {{spots_left}} left"}`)
	reg := providers.Event{Type: "registration.confirmed", Object: json.RawMessage(`{"id":"r","event_id":"evt_1"}`)}
	for _, count := range []int{1, 1, 2, 4, 5} {
		obj.n = count
		if _, err := n.Actions()["registration.confirmed"](context.Background(), rt, reg); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range p.sent {
		got = append(got, m.Text)
	}
	if strings.Join(got, "|") != "Launch at 1: 9 left|Launch at 3: 6 left" {
		t.Fatalf("posted %q", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct{ name, raw, field string }{
		{"unknown variable", `{"message_template":"{{nope}}"}`, "settings.message_template"},
		{"milestone range", `{"notifications":{"registration_milestone":{"at":[0]}}}`, "settings.notifications.registration_milestone.at"},
		{"reminder range", `{"notifications":{"event_reminder":{"hours_before":721}}}`, "settings.notifications.event_reminder.hours_before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s chatnotify.Settings
			if err := providers.DecodeSettings([]byte(tc.raw), &s); err != nil {
				t.Fatal(err)
			}
			var se *providers.SettingsError
			if err := s.Validate(); !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("got %v, want field %s", err, tc.field)
			}
		})
	}
}
