package zoom_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/zoom"
)

// Erasure deletes the person's registrants from every scheduled meeting,
// whatever their status; other registrants stay.
func TestErase(t *testing.T) {
	h := newHarness(t, map[string]any{"require_registration": true})
	ev2 := clone(virtual)
	ev2["id"], ev2["title"] = "ev_2", "Second webinar"
	for _, ev := range []map[string]any{virtual, ev2} {
		raw, _ := json.Marshal(ev)
		h.objects["event/"+ev["id"].(string)] = providers.Object{Type: "event", ID: ev["id"].(string), Data: raw}
	}
	for _, r := range []map[string]any{
		{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "user_name": "Ada Lovelace", "status": "confirmed"},
		{"id": "reg_2", "event_id": "ev_1", "user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"},
		{"id": "reg_3", "event_id": "ev_2", "user_email": "Ada@Example.com", "user_name": "Ada Lovelace", "status": "confirmed"},
	} {
		if _, err := h.push(t, "registration.confirmed", r); err != nil {
			t.Fatal(err)
		}
	}
	m1, m2 := h.link(t, "event", "ev_1").ExternalID, h.link(t, "event", "ev_2").ExternalID
	// Her registration on the second meeting was denied by the host: still listed (status denied).
	zc := &zoom.Client{BaseURL: h.rt.APIBaseURL, HTTP: h.rt.HTTP}
	if err := zc.UpdateRegistrantStatus(context.Background(), m2, "deny", zoom.RegistrantRef{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if rs := h.fake.Registrants(m2); len(rs) != 1 || rs[0].Status != "denied" {
		t.Fatalf("setup: %+v", rs)
	}

	ctx := context.Background()
	out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"ada@example.com", "ada.l@example.com"}})
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 2 {
		t.Fatalf("erase: %+v %v", out, err)
	}
	if rs := h.fake.Registrants(m1); len(rs) != 1 || rs[0].Email != "grace@example.com" {
		t.Fatalf("first meeting's registrants %+v", rs)
	}
	if rs := h.fake.Registrants(m2); len(rs) != 0 {
		t.Fatalf("second meeting's registrants %+v", rs)
	}
	dels := 0
	for _, r := range h.fake.Requests() {
		if r.Op == zoomfake.OpDeleteRegistrant {
			dels++
			if r.Method != http.MethodDelete || !strings.Contains(r.Path, "/registrants/") {
				t.Fatalf("delete request %+v", r)
			}
		}
	}
	if dels != 2 {
		t.Fatalf("%d registrant deletions, want 2", dels)
	}

	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}}); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("again: %+v %v", out, err)
	}
	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("by user id only: %+v %v", out, err)
	}
	// Zoom rate-limits the delete: the classified error goes back for the retry policy.
	h.fake.RateLimitNext(zoomfake.OpDeleteRegistrant, 1)
	_, err = h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"grace@example.com"}})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("429: %v", err)
	}
}

// A registrant Aqio cancelled is in none of Zoom's status lists: only the
// registration's link, held from before the local erasure, finds it.
func TestEraseHeldCancelledRegistrant(t *testing.T) {
	h := newHarness(t, map[string]any{"require_registration": true})
	raw, _ := json.Marshal(virtual)
	h.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: raw}
	reg := map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada@example.com", "user_name": "Ada Lovelace", "status": "confirmed"}
	if _, err := h.push(t, "registration.confirmed", reg); err != nil {
		t.Fatal(err)
	}
	reg["status"] = "cancelled"
	if _, err := h.push(t, "registration.cancelled", reg); err != nil {
		t.Fatal(err)
	}
	mid := h.link(t, "event", "ev_1").ExternalID
	if rs := h.fake.Registrants(mid); len(rs) != 1 || rs[0].Status != "cancelled" {
		t.Fatalf("setup: %+v", rs)
	}
	ctx := context.Background()
	s := providers.ErasureSubject{Emails: []string{"ada@example.com"}}
	if out, err := h.conn.Erase(ctx, h.rt, s); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("without the held link: %+v %v", out, err)
	}
	l := h.link(t, "registration", "reg_1")
	s.Held = []providers.HeldObject{{Type: "registration", ID: "reg_1", ParentID: "ev_1", Status: "cancelled", Link: &l}}
	out, err := h.conn.Erase(ctx, h.rt, s)
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 1 {
		t.Fatalf("with the held link: %+v %v", out, err)
	}
	if rs := h.fake.Registrants(mid); len(rs) != 0 {
		t.Fatalf("registrants left %+v", rs)
	}
	var del []string
	for _, r := range h.fake.Requests() {
		if r.Op == zoomfake.OpDeleteRegistrant && r.Status == http.StatusNoContent {
			del = append(del, r.Path)
		}
	}
	if len(del) != 1 || !strings.HasSuffix(del[0], "/meetings/"+mid+"/registrants/"+l.ExternalID) {
		t.Fatalf("deletions %v", del)
	}
	// Again: the registrant is gone (404), nothing is counted twice.
	if out, err := h.conn.Erase(ctx, h.rt, s); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("again: %+v %v", out, err)
	}
}
