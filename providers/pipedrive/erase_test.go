package pipedrive

import (
	"context"
	"net/http"
	"testing"

	"github.com/aqio/connect/providers"
)

func TestErase(t *testing.T) {
	c, rt, f := setup(t, `{"create_deals_for_paid_events":true}`)
	ctx := context.Background()
	pay := map[string]any{"id": "pay_1", "amount": 250, "currency": "nok", "status": "completed", "event_id": "evt_1",
		"registration_id": "reg_1", "user_email": "ada@example.com"}
	if _, err := c.Actions()["payment.completed"](ctx, rt, ev("payment.completed", pay)); err != nil {
		t.Fatal(err)
	}
	p, ok := f.Person("ada@example.com")
	if !ok || len(f.Deals(p.ID)) != 1 {
		t.Fatalf("no person or deal to erase: %+v", p)
	}
	// A deal the organization's staff made for the person stays.
	staff, err := client(rt).CreateDeal(ctx, DealInput{Title: "Sponsorship 2027", Value: 9000, PersonID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else in the same company stays too.
	if _, err := c.Actions()["registration.confirmed"](ctx, rt, ev("registration.confirmed", map[string]any{"id": "reg_2", "event_id": "evt_1", "user_email": "grace@example.com", "user_name": "Grace Hopper"})); err != nil {
		t.Fatal(err)
	}

	out, err := c.Erase(ctx, rt, providers.ErasureSubject{Emails: []string{"ada@example.com", "ada.l@example.com"}})
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 2 {
		t.Fatalf("erase: %+v %v", out, err)
	}
	if _, ok := f.Person("ada@example.com"); ok {
		t.Fatal("the person survived")
	}
	if ds := f.Deals(p.ID); len(ds) != 1 || ds[0].ID != staff.ID {
		t.Fatalf("deals left %+v, want only the staff's deal", ds)
	}
	if _, ok := f.Person("grace@example.com"); !ok {
		t.Fatal("another person was deleted")
	}
	if f.Count("DELETE", "/api/v2/persons/") != 1 || f.Count("DELETE", "/api/v2/deals/") != 1 {
		t.Fatalf("%d person and %d deal deletions, want 1 and 1", f.Count("DELETE", "/api/v2/persons/"), f.Count("DELETE", "/api/v2/deals/"))
	}

	// Again: nobody left.
	if out, err := c.Erase(ctx, rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}}); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("again: %+v %v", out, err)
	}
	// No address: nothing Pipedrive can find the person by.
	if out, err := c.Erase(ctx, rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("by user id only: %+v %v", out, err)
	}
	// Pipedrive refuses: the classified error is returned for the runtime's retry policy.
	f.Fail("DELETE", "/api/v2/persons/", 1, http.StatusTooManyRequests, "")
	if _, err := c.Erase(ctx, rt, providers.ErasureSubject{Emails: []string{"grace@example.com"}}); err == nil {
		t.Fatal("429 on delete: no error")
	} else if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("429: %v", err)
	}
}
