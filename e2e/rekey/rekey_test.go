package rekey_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/providers/googlecalendar"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

const wait = 60 * time.Second

// authorize starts a Google Calendar connection and returns the
// provider's redirect back to the callback (what the browser loads next).
func authorize(t *testing.T, org *testenv.Org, user string) *url.URL {
	t.Helper()
	resp := org.Do(t, "POST", "/api/integrations/google_calendar/authorize",
		map[string]any{"name": "Calendar", "settings": map[string]any{"calendar_id": "primary"}, "return_url": returnURL}, "X-Aqio-User-Id", user)
	if resp.Status != http.StatusCreated {
		t.Fatalf("authorize: %d %s", resp.Status, resp.Body)
	}
	return testenv.Location(t, resp.Map(t)["authorization_url"].(string))
}

// finish loads the callback and returns the connected integration's id.
func finish(t *testing.T, cb *url.URL) string {
	t.Helper()
	back := testenv.Location(t, cb.String())
	if back.Query().Get("integration_status") != "connected" {
		t.Fatalf("callback redirected to %s", back)
	}
	return back.Query().Get("integration_id")
}

func postEvent(t *testing.T, org *testenv.Org, id, typ string, object map[string]any) {
	t.Helper()
	resp := org.Do(t, "POST", "/api/events", map[string]any{"id": id, "type": typ, "data": map[string]any{"object": object}})
	if resp.Status != http.StatusAccepted && resp.Status != http.StatusOK {
		t.Fatalf("post %s: %d %s", typ, resp.Status, resp.Body)
	}
}

func waitCompleted(t *testing.T, env *testenv.Env, workflowID string) {
	t.Helper()
	var status enums.WorkflowExecutionStatus
	testenv.Eventually(t, wait, "workflow "+workflowID+" to close", func() bool {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil {
			return false
		}
		status = d.GetWorkflowExecutionInfo().GetStatus()
		return status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	if status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("%s ended %v", workflowID, status)
	}
}

type keyringReport struct {
	PrimaryKeyID string           `json:"primary_key_id"`
	KeyIDs       []string         `json:"key_ids"`
	Totals       map[string]int   `json:"totals"`
	Removable    []string         `json:"removable_key_ids"`
	Columns      []store.KeyUsage `json:"columns"`
}

func report(t *testing.T, env *testenv.Env) keyringReport {
	t.Helper()
	resp := env.Do(t, "GET", "/api/admin/keyring", nil, "Authorization", "Bearer "+env.Token)
	if resp.Status != http.StatusOK {
		t.Fatalf("keyring report: %d %s", resp.Status, resp.Body)
	}
	var r keyringReport
	resp.JSON(t, &r)
	return r
}

func (r keyringReport) count(table, column, keyID string) int {
	for _, c := range r.Columns {
		if c.Table == table && c.Column == column {
			return c.Counts[keyID]
		}
	}
	return -1
}

// ciphertextsUnder scans every text column of every table for values
// sealed by keyID ("table.column" → count), so a ciphertext column
// missing from store.CipherTables is found too.
func ciphertextsUnder(t *testing.T, env *testenv.Env, keyID string) map[string]int {
	t.Helper()
	db := env.App.Store.DB()
	type col struct{ Table, Column string }
	var cols []col
	if env.Dialect == "sqlite" {
		var tables []string
		if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			var info []struct {
				Name string
				Type string
			}
			if err := db.Raw(`SELECT name, type FROM pragma_table_info(?)`, tb).Scan(&info).Error; err != nil {
				t.Fatal(err)
			}
			for _, c := range info {
				if strings.Contains(strings.ToUpper(c.Type), "TEXT") || strings.Contains(strings.ToUpper(c.Type), "CHAR") {
					cols = append(cols, col{tb, c.Name})
				}
			}
		}
	} else {
		if err := db.Raw(`SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying')`).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
	}
	if len(cols) < 20 {
		t.Fatalf("found only %d text columns: %v", len(cols), cols)
	}
	out := map[string]int{}
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE CAST(%s AS TEXT) LIKE ?`, c.Table, c.Column)
		if err := db.Raw(q, "%v1:"+keyID+":%").Scan(&n).Error; err != nil {
			t.Fatalf("scan %s.%s: %v", c.Table, c.Column, err)
		}
		if n > 0 {
			out[c.Table+"."+c.Column] = n
		}
	}
	return out
}

func verifies(t *testing.T, secret string, r testenv.Received) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header) == nil
}

// TestKeyRotationToTheEnd writes every kind of secret under k1, restarts
// with k2,k1, re-keys through POST /api/admin/keyring/rekey (a Rekey
// workflow), checks that no ciphertext anywhere is under k1 any more,
// restarts with k2 alone, and uses every secret: deliveries are signed
// with the current and the rotated-previous secret and carry the
// destination credential, Google Calendar pushes and refreshes, the
// ActiveCampaign key works, and an authorization begun under k1 finishes.
func TestKeyRotationToTheEnd(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)

	// Under k1: a webhook with a destination credential and a rotated
	// secret (the previous one still signs), a Google Calendar connection
	// (access and refresh token), an ActiveCampaign connection (API
	// credential), and an authorization waiting for its callback (PKCE
	// verifier).
	rcv := testenv.NewReceiver(t)
	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "rekey", "url": rcv.URL, "events": []string{"event.*"},
		"destination_auth": map[string]any{"type": "bearer", "token": "dest-Tok3n-" + org.ID}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}
	wh := resp.Map(t)
	whID, firstSecret := wh["id"].(string), wh["secret"].(string)
	resp = org.Do(t, "POST", "/api/webhooks/"+whID+"/rotate-secret", map[string]any{"grace_seconds": 86400})
	if resp.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", resp.Status, resp.Body)
	}
	secret := resp.Map(t)["secret"].(string)

	calID := finish(t, authorize(t, org, "user_cal"))
	acKey := "ac-key-" + org.ID
	activecampaignFake.AddKey(acKey)
	resp = org.Do(t, "POST", "/api/integrations/activecampaign/connect", map[string]any{"name": "Marketing",
		"credentials": map[string]any{"api_url": fake.URL + activecampaignFake.APIPath(), "api_key": acKey}, "settings": map[string]any{}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("activecampaign connect: %d %s", resp.Status, resp.Body)
	}
	acID := resp.Map(t)["id"].(string)
	pending := authorize(t, org, "user_later")

	// Data-subject requests: the subject and the export document are
	// key-ring ciphertexts too.
	resp = org.Do(t, "POST", "/api/privacy/exports", map[string]any{"request_id": "rk-export-" + org.ID, "email": "export+" + strings.ToLower(org.ID) + "@example.com"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("export: %d %s", resp.Status, resp.Body)
	}
	exportID := resp.Map(t)["id"].(string)
	testenv.Eventually(t, wait, "the export to be ready", func() bool {
		return org.Do(t, "GET", "/api/privacy/exports/"+exportID, nil).Map(t)["status"] == "ready"
	})
	resp = org.Do(t, "POST", "/api/privacy/erasures", map[string]any{"request_id": "rk-erasure-" + org.ID, "email": "gone+" + strings.ToLower(org.ID) + "@example.com"})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("erasure: %d %s", resp.Status, resp.Body)
	}
	erasureID := resp.Map(t)["id"].(string)
	testenv.Eventually(t, wait, "the erasure to finish", func() bool {
		st := org.Do(t, "GET", "/api/privacy/erasures/"+erasureID, nil).Map(t)["status"]
		return st == "completed" || st == "failed"
	})

	// A console session: the pasted service token, sealed with the key
	// ring and bound to the cookie's hash (console_sessions.credential).
	signIn := consoleDo(t, env, "POST", "/console/session", `{"token": "`+env.Token+`", "organization_id": "`+org.ID+`"}`, "")
	if signIn.StatusCode != http.StatusCreated {
		t.Fatalf("console sign-in: %d", signIn.StatusCode)
	}
	var consoleCookie string
	for _, c := range signIn.Cookies() {
		if c.Name == "aqio_console_session" {
			consoleCookie = c.Name + "=" + c.Value
		}
	}
	if consoleCookie == "" {
		t.Fatalf("console sign-in set no session cookie: %v", resp.Header)
	}

	before := report(t, env)
	if before.PrimaryKeyID != "k1" || before.Totals["k1"] == 0 {
		t.Fatalf("report under k1: %+v", before)
	}
	under := ciphertextsUnder(t, env, "k1")
	for _, c := range []string{"webhooks.secret", "webhooks.previous_secret", "webhooks.destination_auth", "integrations.access_token",
		"integrations.refresh_token", "integrations.api_key", "integration_oauth_states.code_verifier",
		"privacy_erasures.subject", "privacy_exports.subject", "privacy_exports.document", "console_sessions.credential"} {
		if under[c] == 0 {
			t.Fatalf("no k1 ciphertext in %s before re-keying: %v", c, under)
		}
	}

	// The new key first, the old one still readable.
	env.Restart(t, func(c *config.Config) { c.EncryptionKeys = k2 + "," + k1 })
	mid := report(t, env)
	if mid.PrimaryKeyID != "k2" || len(mid.KeyIDs) != 2 || mid.Totals["k1"] == 0 || len(mid.Removable) != 0 {
		t.Fatalf("report after adding k2: %+v", mid)
	}

	// Operators only: an API key, even with every scope, is refused.
	resp = org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "ops", "scopes": []string{"*"}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", resp.Status, resp.Body)
	}
	apiKey := resp.Map(t)["key"].(string)
	for _, r := range []testenv.Response{
		env.Do(t, "GET", "/api/admin/keyring", nil, "Authorization", "Bearer "+apiKey),
		env.Do(t, "POST", "/api/admin/keyring/rekey", nil, "Authorization", "Bearer "+apiKey),
	} {
		if r.Status != http.StatusForbidden {
			t.Fatalf("admin with an API key: %d %s", r.Status, r.Body)
		}
	}

	run := startRekey(t, env)
	if run.KeyID != "k2" || run.WorkflowID != workflows.RekeyWorkflowID("k2") || !strings.Contains(run.TemporalURL, run.WorkflowID) {
		t.Fatalf("rekey run: %+v", run)
	}
	res := rekeyResult(t, env, run)
	resealed := 0
	for _, tr := range res.Tables {
		resealed += tr.Resealed
		if tr.Unreadable != 0 {
			t.Fatalf("unreadable ciphertexts: %+v", res)
		}
	}
	if len(res.Tables) != len(store.CipherTables) || resealed < 10 {
		t.Fatalf("rekey result: %+v", res)
	}
	recordHistory(t, env, run.WorkflowID, run.RunID, "rekey.json")

	after := report(t, env)
	if after.Totals["k1"] != 0 || strings.Join(after.Removable, ",") != "k1" || after.count("integrations", "refresh_token", "k2") == 0 ||
		after.count("console_sessions", "credential", "k2") != 1 {
		t.Fatalf("report after re-keying: %+v", after)
	}
	if left := ciphertextsUnder(t, env, "k1"); len(left) != 0 {
		t.Fatalf("ciphertexts still under k1: %v", left)
	}

	// Running it again does nothing twice.
	again := rekeyResult(t, env, startRekey(t, env))
	for _, tr := range again.Tables {
		if tr.Resealed != 0 || tr.Rows != 0 {
			t.Fatalf("second run re-keyed again: %+v", again)
		}
	}

	// The old key removed: everything still opens.
	env.Restart(t, func(c *config.Config) { c.EncryptionKeys = k2 })
	if r := report(t, env); len(r.KeyIDs) != 1 || r.Totals["k2"] == 0 {
		t.Fatalf("report with k2 alone: %+v", r)
	}

	evID := "evt_rk_" + org.ID
	ev := map[string]any{"id": evID, "title": "Rotation day", "starts_at": "2031-06-01T10:00:00Z", "ends_at": "2031-06-01T11:00:00Z",
		"timezone": "Europe/Oslo", "location_type": "in_person", "max_attendees": 10, "url": "https://aqio.test/e/" + evID, "status": "published"}
	postEvent(t, org, "rk1-"+org.ID, "event.created", ev)
	testenv.Eventually(t, wait, "the webhook delivery", func() bool { return len(rcv.Got()) == 1 })
	got := rcv.Got()[0]
	if !verifies(t, secret, got) || !verifies(t, firstSecret, got) {
		t.Fatalf("delivery not signed with the current and the previous secret: %q", got.Header.Get("webhook-signature"))
	}
	if a := got.Header.Get("Authorization"); a != "Bearer dest-Tok3n-"+org.ID {
		t.Fatalf("destination credential %q", a)
	}

	waitCompleted(t, env, workflows.PushWorkflowID(calID, "rk1-"+org.ID))
	if e := fake.CalendarEvent("primary", googlecalendar.EventID(evID)); e == nil || e["summary"] != "Rotation day" {
		t.Fatalf("calendar event after re-keying: %v", e)
	}
	refreshes := fake.Refreshes()
	if r := org.Do(t, "POST", "/api/integrations/"+calID+"/refresh", nil); r.Status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, wait, "a token refresh with the re-keyed refresh token", func() bool { return fake.Refreshes() > refreshes })

	email := "ada+" + strings.ToLower(org.ID) + "@example.com"
	postEvent(t, org, "rk2-"+org.ID, "registration.confirmed", map[string]any{"id": "rkr_" + org.ID, "event_id": evID,
		"user_email": email, "user_name": "Ada Lovelace", "status": "confirmed", "marketing_consent": true})
	waitCompleted(t, env, workflows.PushWorkflowID(acID, "rk2-"+org.ID))
	if _, ok := activecampaignFake.Contact(email); !ok {
		t.Fatal("no ActiveCampaign contact: the re-keyed API credential did not work")
	}

	// The data-subject requests open: the erasure reads, the export downloads.
	if r := org.Do(t, "GET", "/api/privacy/erasures/"+erasureID, nil); r.Status != http.StatusOK {
		t.Fatalf("erasure after re-keying: %d %s", r.Status, r.Body)
	}
	if r := org.Do(t, "GET", "/api/privacy/exports/"+exportID+"/download", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "export+") {
		t.Fatalf("export download after re-keying: %d %.300s", r.Status, r.Body)
	}

	// The console session signed in under k1 still works under k2 alone.
	if r := consoleDo(t, env, "GET", "/console/api/webhooks", "", consoleCookie); r.StatusCode != http.StatusOK {
		t.Fatalf("console session after re-keying: %d", r.StatusCode)
	}

	// The authorization begun under k1 finishes under k2 alone.
	if id := finish(t, pending); id == "" || id == calID {
		t.Fatalf("pending authorization connected %q", id)
	}
	if r := report(t, env); r.Totals["k1"] != 0 {
		t.Fatalf("k1 in use again: %+v", r)
	}
}

type rekeyRun struct {
	KeyID       string `json:"key_id"`
	WorkflowID  string `json:"workflow_id"`
	RunID       string `json:"run_id"`
	TemporalURL string `json:"temporal_url"`
}

func startRekey(t *testing.T, env *testenv.Env) rekeyRun {
	t.Helper()
	resp := env.Do(t, "POST", "/api/admin/keyring/rekey", nil, "Authorization", "Bearer "+env.Token)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("start rekey: %d %s", resp.Status, resp.Body)
	}
	var r rekeyRun
	resp.JSON(t, &r)
	return r
}

func rekeyResult(t *testing.T, env *testenv.Env, run rekeyRun) workflows.RekeyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var res workflows.RekeyResult
	if err := env.App.Temporal.GetWorkflow(ctx, run.WorkflowID, run.RunID).Get(ctx, &res); err != nil {
		t.Fatalf("rekey run: %v", err)
	}
	return res
}

// recordHistory writes a run's history to $AQIO_RECORD_HISTORIES (for
// workflows/testdata).
func recordHistory(t *testing.T, env *testenv.Env, workflowID, runID, name string) {
	if !testenv.RecordingHistories() {
		return
	}
	testenv.RecordHistory(t, env, workflowID, runID, name)
}

// consoleDo calls the console (not an API operation, so not env.Do's
// contract check) with its session cookie.
func consoleDo(t *testing.T, env *testenv.Env, method, path, body, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, env.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp
}
