package salesforce_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/salesforce"
)

// Erasure deletes the person's Contact (and a Lead from an earlier
// record type setting) with its campaign membership and the Aqio
// Opportunities quoting them; other people and the org's own
// opportunities stay.
func TestErase(t *testing.T) {
	h := newHarness(t, map[string]any{"sync_campaigns": true, "create_opportunities": true})
	h.objects["event/ev_1"] = providers.Object{Type: "event", ID: "ev_1", Data: json.RawMessage(`{"id":"ev_1","title":"Dreamforce","starts_at":"2031-09-01T09:00:00Z"}`)}
	ada := map[string]any{"id": "reg_1", "event_id": "ev_1", "user_email": "ada_o'neil@example.com", "user_name": "Ada O'Neil", "status": "confirmed"}
	grace := map[string]any{"id": "reg_2", "event_id": "ev_1", "user_email": "grace@example.com", "user_name": "Grace Hopper", "status": "confirmed"}
	for _, reg := range []map[string]any{ada, grace} {
		if _, err := h.push(t, "registration.confirmed", reg); err != nil {
			t.Fatal(err)
		}
		h.objects["registration/"+reg["id"].(string)] = providers.Object{Type: "registration", ID: reg["id"].(string), Data: mustJSON(reg)}
		pay := map[string]any{"id": "pay_" + reg["id"].(string), "amount": 100, "currency": "USD", "status": "completed", "event_id": "ev_1",
			"registration_id": reg["id"], "user_email": reg["user_email"]}
		if _, err := h.push(t, "payment.completed", pay); err != nil {
			t.Fatal(err)
		}
	}
	contact := h.srv.Find("Contact", "Email", "ada_o'neil@example.com")
	if len(contact) != 1 || len(h.srv.Find("CampaignMember", "ContactId", contact[0].ID)) != 1 || len(h.srv.Records("Opportunity")) != 2 {
		t.Fatalf("setup: contact %+v, %d opportunities", contact, len(h.srv.Records("Opportunity")))
	}
	// An Opportunity the org's staff made for her (not LeadSource Aqio) stays.
	ctx := context.Background()
	staffOpp := create(t, h, "Opportunity", map[string]any{"Name": "Sponsorship — Ada O'Neil", "StageName": "Prospecting", "CloseDate": "2031-12-01", "ContactId": contact[0].ID})
	// A Lead from when the integration wrote leads; its Aqio Opportunity has no ContactId.
	lead := create(t, h, "Lead", map[string]any{"LastName": "O'Neil", "FirstName": "Ada", "Company": "Aqio guests", "Email": "ADA_O'NEIL@example.com"})
	leadOpp := create(t, h, "Opportunity", map[string]any{"Name": "Summit — Ada O'Neil", "StageName": "Closed Won", "CloseDate": "2031-01-01", "LeadSource": "Aqio"})
	// Not her: a name that only matches when _ or ' are wildcards.
	other := create(t, h, "Opportunity", map[string]any{"Name": "Summit — AdaXO'Neil", "StageName": "Closed Won", "CloseDate": "2031-01-01", "LeadSource": "Aqio"})

	out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"ada_o'neil@example.com", "ada.l@example.com"}})
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 4 {
		t.Fatalf("erase: %+v %v", out, err)
	}
	if len(h.srv.Find("Contact", "Email", "ada_o'neil@example.com")) != 0 || has(h, "Lead", lead) ||
		len(h.srv.Find("CampaignMember", "ContactId", contact[0].ID)) != 0 {
		t.Fatal("her contact, lead or campaign membership survived")
	}
	var left []string
	for _, o := range h.srv.Records("Opportunity") {
		left = append(left, o.ID)
		if strings.Contains(o.Fields["Name"].(string), "Ada O'Neil") && o.ID != staffOpp {
			t.Fatalf("her Aqio opportunity survived: %+v", o)
		}
	}
	if len(left) != 3 || has(h, "Opportunity", leadOpp) || !has(h, "Opportunity", other) || !has(h, "Opportunity", staffOpp) {
		t.Fatalf("opportunities left %v (want Grace's, the staff's and the look-alike)", left)
	}
	if len(h.srv.Find("Contact", "Email", "grace@example.com")) != 1 {
		t.Fatal("another person was deleted")
	}
	deletes := 0
	for _, r := range h.srv.Requests() {
		if r.Method == http.MethodDelete {
			deletes++
		}
	}
	if deletes != 4 {
		t.Fatalf("%d DELETE requests, want 4", deletes)
	}

	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"ada_o'neil@example.com"}}); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("again: %+v %v", out, err)
	}
	if out, err := h.conn.Erase(ctx, h.rt, providers.ErasureSubject{UserID: "usr_1"}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("by user id only: %+v %v", out, err)
	}
	h.srv.Fail("DELETE", "/sobjects/", 1, http.StatusInternalServerError, `[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`)
	_, err = h.conn.Erase(ctx, h.rt, providers.ErasureSubject{Emails: []string{"grace@example.com"}})
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRetryable {
		t.Fatalf("500: %v", err)
	}
}

func create(t *testing.T, h *harness, object string, fields map[string]any) string {
	t.Helper()
	cl := &salesforce.Client{InstanceURL: h.rt.APIBaseURL, HTTP: h.rt.HTTP, Usage: &salesforce.Usage{}}
	id, err := cl.Create(context.Background(), object, fields)
	if err != nil {
		t.Fatalf("create %s: %v", object, err)
	}
	return id
}

func has(h *harness, object, id string) bool {
	for _, r := range h.srv.Records(object) {
		if r.ID == id {
			return true
		}
	}
	return false
}
