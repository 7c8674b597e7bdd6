package kit_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/providers"
)

// Kit cannot delete a subscriber: the erasure unsubscribes them and says
// they must be deleted in Kit.
func TestErase(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		reg := map[string]any{"id": "reg_" + email[:3], "event_id": "ev_1", "user_email": email, "user_name": "X Y", "status": "confirmed", "marketing_consent": true}
		if _, err := h.push(t, "registration.confirmed", reg); err != nil {
			t.Fatal(err)
		}
	}
	if s, ok := h.srv.Subscriber("ada@example.com"); !ok || s.State != "active" {
		t.Fatalf("setup: %+v", s)
	}
	ctx := context.Background()
	out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"Ada@Example.com", "ada.l@example.com"}})
	if err != nil || out.Status != providers.EraseNotPossible || out.Deleted != 0 || !strings.Contains(out.Detail, "1 subscriber(s) unsubscribed") {
		t.Fatalf("erase: %+v %v", out, err)
	}
	if s, _ := h.srv.Subscriber("ada@example.com"); s.State != "cancelled" {
		t.Fatalf("ada %+v, want unsubscribed", s)
	}
	if s, _ := h.srv.Subscriber("grace@example.com"); s.State != "active" {
		t.Fatalf("grace %+v, want untouched", s)
	}
	if n := h.srv.Count("POST", "/v4/subscribers/"); n != 1 {
		t.Fatalf("%d unsubscribe calls, want 1", n)
	}
	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"nobody@example.com"}}); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("unknown: %+v %v", out, err)
	}
	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("by user id only: %+v %v", out, err)
	}
	h.srv.Fail("POST", "/v4/subscribers/", 1, http.StatusInternalServerError, `{"errors":["Internal server error"]}`)
	_, err = h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"grace@example.com"}})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRetryable {
		t.Fatalf("500: %v", err)
	}
}
