package privacy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	mailchimpfake "github.com/aqio/connect/internal/fakes/mailchimp"
	"github.com/aqio/connect/internal/testenv"
)

// echoReceiver is a webhook endpoint that answers with the body it got,
// so the delivery log's response bodies hold personal data too.
type echoReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newEchoReceiver(t *testing.T) *echoReceiver {
	r := &echoReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(r.Close)
	return r
}

// types lists the event types received, in order.
func (r *echoReceiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		var env struct{ Type string }
		_ = json.Unmarshal(b, &env)
		out = append(out, env.Type)
	}
	return out
}

func (r *echoReceiver) body(typ string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bodies {
		var env map[string]any
		if json.Unmarshal(b, &env) == nil && env["type"] == typ {
			return env
		}
	}
	return nil
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// column is one column of one table of the database.
type column struct{ table, name string }

// columns lists every column of every table, read from the schema.
func columns(t *testing.T, env *testenv.Env) []column {
	t.Helper()
	db := env.App.Store.DB()
	var out []column
	if env.Dialect == "postgres" {
		rows, err := db.Raw(`SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.table, &c.name); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	var tables []string
	if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		rows, err := db.Raw(`SELECT name FROM pragma_table_info(?)`, tb).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			c := column{table: tb}
			if err := rows.Scan(&c.name); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		rows.Close()
	}
	return out
}

// leaks lists "table.column" of every column of every table that holds
// one of the needles (case-insensitive).
func leaks(t *testing.T, env *testenv.Env, needles ...string) []string {
	t.Helper()
	cols := columns(t, env)
	if len(cols) < 50 {
		t.Fatalf("the schema scan found only %d columns", len(cols))
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	var out []string
	for _, c := range cols {
		for _, n := range needles {
			var hits int64
			q := fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE LOWER(CAST("%s" AS TEXT)) LIKE ? ESCAPE '\'`, c.table, c.name)
			if err := env.App.Store.DB().Raw(q, "%"+esc.Replace(strings.ToLower(n))+"%").Scan(&hits).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if hits > 0 {
				out = append(out, fmt.Sprintf("%s.%s (%q, %d rows)", c.table, c.name, n, hits))
			}
		}
	}
	return out
}

var notAlnum = regexp.MustCompile(`[^a-z0-9]`)

func erasure(t *testing.T, org *testenv.Org, id string) map[string]any {
	t.Helper()
	resp := org.Do(t, "GET", "/api/privacy/erasures/"+id, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("get erasure: %d %s", resp.Status, resp.Body)
	}
	return resp.Map(t)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(s))))
	return hex.EncodeToString(sum[:])
}

// TestErasure: a person's registrations are delivered to a webhook
// (whose receiver echoes them back into the delivery log) and pushed to
// HubSpot and Mailchimp; an API key is named after them. The erasure
// leaves no column of any table holding their address or name, GDPR-
// deletes the HubSpot contact and permanently deletes the Mailchimp
// member, reports every system, emits privacy.erasure_requested, does
// nothing twice when retried, and later data about them is not pushed.
func TestErasure(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := notAlnum.ReplaceAllString(strings.ToLower(org.ID), "")
	email := "Zoe.Quill_" + low + "@Example.com"
	name := "Zoë Quillfeather"
	userID := "usr_zq_" + low
	personal(email, name, "Quillfeather")
	other, otherName := "grace+"+low+"@example.com", "Grace Hopperton"

	recv := newEchoReceiver(t)
	if resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "crm", "url": recv.URL,
		"events": []string{"registration.confirmed", "privacy.erasure_requested"}}); resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}
	list := ("l" + low)[:min(40, len(low)+1)]
	mailchimpFake.AddList(mailchimpfake.List{ID: list, Name: "Aqio " + org.ID})
	hub := connect(t, org, "hubspot", map[string]any{"sync_contacts": true})
	mc := connect(t, org, "mailchimp", map[string]any{"audience_id": list})
	acKey := "ac-key-" + low
	activecampaignFake.AddKey(acKey)
	acResp := org.Do(t, "POST", "/api/integrations/activecampaign/connect", map[string]any{"name": "Marketing",
		"credentials": map[string]any{"api_url": fake.URL + activecampaignFake.APIPath(), "api_key": acKey}, "settings": map[string]any{}})
	if acResp.Status != http.StatusCreated && acResp.Status != http.StatusOK {
		t.Fatalf("connect ActiveCampaign: %d %s", acResp.Status, acResp.Body)
	}
	ac := acResp.Map(t)["id"].(string)

	evID := "pev_" + low
	postEvent(t, org, "pe1-"+low, "event.created", map[string]any{"id": evID, "title": "Privacy summit", "starts_at": "2031-10-01T09:00:00Z",
		"ends_at": "2031-10-01T17:00:00Z", "timezone": "Europe/Oslo", "location_type": "virtual", "status": "published"})
	postEvent(t, org, "pe2-"+low, "registration.confirmed", map[string]any{"id": "preg1_" + low, "event_id": evID, "user_id": userID,
		"user_email": email, "user_name": name, "status": "confirmed", "marketing_consent": true, "answers": map[string]any{"company": "Quillfeather Inks"}})
	postEvent(t, org, "pe3-"+low, "registration.confirmed", map[string]any{"id": "preg2_" + low, "event_id": evID,
		"user_email": other, "user_name": otherName, "status": "confirmed"})
	for _, integ := range []string{hub, mc, ac} {
		pushDone(t, env, integ, "pe2-"+low)
		pushDone(t, env, integ, "pe3-"+low)
	}
	testenv.Eventually(t, wait, "both registrations delivered and their attempts recorded", func() bool {
		var n int64
		env.App.Store.DB().Raw(`SELECT COUNT(*) FROM webhook_deliveries WHERE organization_id = ? AND status = 'success'`, org.ID).Scan(&n)
		return count(recv.types(), "registration.confirmed") == 2 && n == 2
	})
	if _, ok := hubspotFake.Contact(email); !ok {
		t.Fatal("the subject never became a HubSpot contact")
	}
	if _, ok := mailchimpFake.Member(list, email); !ok {
		t.Fatal("the subject never became a Mailchimp member")
	}
	acContact, ok := activecampaignFake.Contact(email)
	if !ok {
		t.Fatal("the subject never became an ActiveCampaign contact")
	}
	if resp := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "Key of " + name, "scopes": []string{"events:read"}}); resp.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", resp.Status, resp.Body)
	}
	// The scan sees them before (so an empty scan afterwards means something).
	before := leaks(t, env, email, name)
	for _, want := range []string{"events.payload", "webhook_deliveries.payload", "webhook_deliveries.response_body", "integration_objects.data", "api_keys.name"} {
		if !slices.ContainsFunc(before, func(s string) bool { return strings.HasPrefix(s, want+" ") }) {
			t.Fatalf("before the erasure %s holds nothing of the subject (scan: %v)", want, before)
		}
	}

	// Bad input names the field.
	for _, tc := range []struct {
		name  string
		body  any
		code  int
		field string
	}{
		{"no request id", map[string]any{"email": email}, 422, "request_id"},
		{"bad request id", map[string]any{"request_id": "a b", "email": email}, 422, "request_id"},
		{"no subject", map[string]any{"request_id": "x"}, 422, "email"},
		{"not an address", map[string]any{"request_id": "x", "email": "nobody"}, 422, "email"},
		{"unknown field", map[string]any{"request_id": "x", "email": email, "phone": "1"}, 422, "phone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/privacy/erasures", tc.body)
			var e struct {
				Error struct{ Code, Field, Message string }
			}
			resp.JSON(t, &e)
			if resp.Status != tc.code || !strings.Contains(e.Error.Field+" "+e.Error.Message, tc.field) {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
		})
	}

	gdprBefore, mcBefore, acBefore := len(hubspotFake.GDPRDeletions()), len(mailchimpFake.PermanentDeletes()), len(activecampaignFake.DeletedContacts())
	req := map[string]any{"request_id": "dsr-" + low, "email": strings.ToUpper(email), "user_id": userID}
	resp := org.Do(t, "POST", "/api/privacy/erasures", req)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("erase: %d %s", resp.Status, resp.Body)
	}
	er := resp.Map(t)
	id := er["id"].(string)
	if er["workflow_id"] != "privacy-erasure:"+org.ID+":"+id || strings.Contains(strings.ToLower(string(resp.Body)), strings.ToLower(email)) {
		t.Fatalf("erasure %s", resp.Body)
	}
	testenv.Eventually(t, wait, "erasure to complete", func() bool { er = erasure(t, org, id); return er["status"] != "pending" && er["status"] != "running" })
	if er["status"] != "completed" {
		t.Fatalf("erasure ended %v", er)
	}
	record(t, env, er["workflow_id"].(string), "privacy_erasure.json")

	// The report: what went where, per table and per system.
	rep := er["report"].(map[string]any)
	local := rep["local"].(map[string]any)
	for _, table := range []string{"events", "webhook_deliveries", "integration_objects", "integration_pushes", "api_keys", "audit_log"} {
		if n, _ := local[table].(float64); n < 1 {
			t.Errorf("report.local.%s = %v (report %v)", table, local[table], rep)
		}
	}
	if rep["suppressed"] != float64(1) || rep["event_id"] == "" {
		t.Errorf("report %v", rep)
	}
	systems := map[string]map[string]any{}
	for _, s := range rep["systems"].([]any) {
		m := s.(map[string]any)
		systems[m["integration_id"].(string)] = m
	}
	if len(systems) != 3 || systems[hub]["status"] != "deleted" || systems[mc]["status"] != "deleted" || systems[mc]["deleted"] != float64(1) ||
		systems[ac]["status"] != "deleted" || systems[ac]["deleted"] != float64(1) {
		t.Fatalf("systems %v", rep["systems"])
	}

	// The providers got their deletion calls.
	gdpr := hubspotFake.GDPRDeletions()[gdprBefore:]
	if len(gdpr) != 1 || !strings.EqualFold(gdpr[0].ObjectID, email) || gdpr[0].IDProperty != "email" || gdpr[0].ContactID == "" {
		t.Fatalf("HubSpot GDPR deletions %+v", gdpr)
	}
	if _, ok := hubspotFake.Contact(email); ok {
		t.Fatal("the HubSpot contact is still there")
	}
	del := mailchimpFake.PermanentDeletes()[mcBefore:]
	if len(del) != 1 || del[0].ListID != list || del[0].Hash != mailchimpfake.SubscriberHash(email) || !del[0].Found {
		t.Fatalf("Mailchimp permanent deletes %+v", del)
	}
	if _, ok := mailchimpFake.Member(list, email); ok {
		t.Fatal("the Mailchimp member is still there")
	}
	if d := activecampaignFake.DeletedContacts()[acBefore:]; len(d) != 1 || d[0] != acContact.ID {
		t.Fatalf("ActiveCampaign deleted contacts %v, want [%s]", d, acContact.ID)
	}
	if _, ok := activecampaignFake.Contact(email); ok {
		t.Fatal("the ActiveCampaign contact is still there")
	}

	// No column of any table holds the address or the name any more; the
	// other registrant is untouched.
	if l := leaks(t, env, email, name, "Quillfeather"); len(l) > 0 {
		t.Fatalf("personal data left after the erasure:\n%s", strings.Join(l, "\n"))
	}
	if l := leaks(t, env, other, otherName); len(l) == 0 {
		t.Fatal("the other registrant's data was erased too")
	}

	// Receivers are told, without the address.
	testenv.Eventually(t, wait, "privacy.erasure_requested delivered", func() bool { return count(recv.types(), "privacy.erasure_requested") == 1 })
	obj := recv.body("privacy.erasure_requested")["data"].(map[string]any)["object"].(map[string]any)
	if obj["id"] != id || obj["user_id"] != userID || fmt.Sprint(obj["email_sha256"]) != "["+sha(email)+"]" {
		t.Fatalf("privacy.erasure_requested object %v", obj)
	}

	// Retried: the same request answers 200 with the same erasure and
	// does nothing again.
	run := func() string {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), er["workflow_id"].(string), "")
		if err != nil {
			t.Fatal(err)
		}
		return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	}
	firstRun := run()
	again := org.Do(t, "POST", "/api/privacy/erasures", req)
	if again.Status != http.StatusOK || again.Map(t)["id"] != id || again.Map(t)["status"] != "completed" {
		t.Fatalf("retried erasure: %d %s", again.Status, again.Body)
	}
	if run() != firstRun || len(hubspotFake.GDPRDeletions()) != gdprBefore+1 || len(mailchimpFake.PermanentDeletes()) != mcBefore+1 ||
		len(activecampaignFake.DeletedContacts()) != acBefore+1 ||
		count(recv.types(), "privacy.erasure_requested") != 1 {
		t.Fatal("the retried erasure did something again")
	}
	if r := org.Do(t, "POST", "/api/privacy/erasures", map[string]any{"request_id": "dsr-" + low, "email": other}); r.Status != http.StatusConflict {
		t.Fatalf("request id reused for another subject: %d %s", r.Status, r.Body)
	}

	// New data about the erased subject is not pushed to any integration.
	upserts := hubspotFake.Count("POST", "/crm/v3/objects/contacts/batch/upsert")
	postEvent(t, org, "pe4-"+low, "registration.confirmed", map[string]any{"id": "preg3_" + low, "event_id": evID,
		"user_email": email, "user_name": name, "status": "confirmed"})
	for _, integ := range []string{hub, mc, ac} {
		pushDone(t, env, integ, "pe4-"+low)
		var row struct{ Status, Detail string }
		if err := env.App.Store.DB().Raw(`SELECT status, detail FROM integration_pushes WHERE integration_id = ? AND event_id = ?`, integ, "pe4-"+low).Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Status != "skipped" || row.Detail != "erased subject" {
			t.Fatalf("push of new data about the erased subject to %s: %+v", integ, row)
		}
	}
	if hubspotFake.Count("POST", "/crm/v3/objects/contacts/batch/upsert") != upserts {
		t.Fatal("HubSpot got the erased subject again")
	}
}
