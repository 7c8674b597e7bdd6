package mailchimp

import (
	"context"
	"net/http"
	"testing"

	fake "github.com/aqio/connect/internal/fakes/mailchimp"
	"github.com/aqio/connect/providers"
)

func TestErase(t *testing.T) {
	e := newEnv(t, `{"audience_id":"`+listID+`"}`, fake.Options{})
	if _, err := e.push(t, "registration.confirmed", `{"id":"reg_1","event_id":"evt_1","user_email":"ada@example.com","user_name":"Ada Lovelace","status":"confirmed","marketing_consent":true}`); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.f.Member(listID, "ada@example.com"); !ok {
		t.Fatal("no member to erase")
	}
	out, err := e.conn.Erase(context.Background(), e.rt, providers.ErasureSubject{Emails: []string{"ada@example.com", "nobody@example.com"}})
	if err != nil || out.Status != providers.EraseDeleted || out.Deleted != 1 {
		t.Fatalf("erase: %+v %v", out, err)
	}
	dels := e.f.PermanentDeletes()
	if len(dels) != 2 || dels[0].Hash != SubscriberHash("ada@example.com") || !dels[0].Found || dels[1].Found {
		t.Fatalf("deletes %+v", dels)
	}
	// Again: nobody left (404 is not an error).
	if out, err := e.conn.Erase(context.Background(), e.rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}}); err != nil || out.Status != providers.EraseNotFound {
		t.Fatalf("again: %+v %v", out, err)
	}
	// A forgotten address cannot be re-added by a later push.
	if _, err := e.push(t, "registration.confirmed", `{"id":"reg_2","event_id":"evt_1","user_email":"ada@example.com","status":"confirmed","marketing_consent":true}`); err == nil {
		if _, ok := e.f.Member(listID, "ada@example.com"); ok {
			t.Fatal("the permanently deleted address was re-added")
		}
	}
	// Mailchimp unavailable: the classified error is returned.
	e.f.Fail("POST", "/3.0/lists/"+listID+"/members/", 1, http.StatusServiceUnavailable, "")
	if _, err := e.conn.Erase(context.Background(), e.rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}}); err == nil {
		t.Fatal("a 503 was not returned")
	}
	// No audience: Aqio never added anyone.
	noAud := newEnv(t, `{}`, fake.Options{})
	if out, err := noAud.conn.Erase(context.Background(), noAud.rt, providers.ErasureSubject{Emails: []string{"ada@example.com"}}); err != nil || out.Status != providers.EraseNotPossible {
		t.Fatalf("no audience: %+v %v", out, err)
	}
}
