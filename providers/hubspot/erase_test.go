package hubspot

import (
	"context"
	"net/http"
	"testing"

	"github.com/aqio/connect/providers"
)

func TestErase(t *testing.T) {
	rt, f := runtime(t, `{}`)
	push(t, rt, "registration.confirmed", `{"id":"reg_1","event_id":"evt_1","user_email":"ada@example.com","user_name":"Ada Lovelace","status":"confirmed"}`)
	if _, ok := f.Contact("ada@example.com"); !ok {
		t.Fatal("no contact to erase")
	}
	out, err := New().Erase(context.Background(), rt, providers.ErasureSubject{Emails: []string{"ada@example.com", "ada.l@example.com"}})
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 2 {
		t.Fatalf("erase: %+v %v", out, err)
	}
	dels := f.GDPRDeletions()
	if len(dels) != 2 || dels[0].ObjectID != "ada@example.com" || dels[0].IDProperty != "email" || dels[0].ContactID == "" || dels[1].ContactID != "" {
		t.Fatalf("deletions %+v", dels)
	}
	if _, ok := f.Contact("ada@example.com"); ok || !f.Blocklisted("ada.l@example.com") {
		t.Fatal("the contact survived or the unknown address was not blocklisted")
	}

	// No address: nothing HubSpot can find the person by.
	if out, err := New().Erase(context.Background(), rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("by user id only: %+v %v", out, err)
	}
	// HubSpot refuses: the classified error is returned for the runtime's retry policy.
	f.Fail("POST", "/crm/v3/objects/contacts/gdpr-delete", 1, http.StatusTooManyRequests, "")
	_, err = New().Erase(context.Background(), rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRateLimited {
		t.Fatalf("429: %v", err)
	}
}
