package webhookops_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

func verifies(t *testing.T, secret string, r testenv.Received) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header) == nil
}

func TestSecretRotationSignsWithBothDuringGrace(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "rot", "url": rcv.URL, "events": []string{"*"}})
	id, oldSecret := wh["id"].(string), wh["secret"].(string)

	resp := org.Do(t, "POST", "/api/webhooks/"+id+"/rotate-secret", map[string]any{"grace_seconds": 3600})
	if resp.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", resp.Status, resp.Body)
	}
	rot := resp.Map(t)
	newSecret := rot["secret"].(string)
	if newSecret == oldSecret || rot["previous_secret_expires_at"] == nil {
		t.Fatalf("rotation %s", resp.Body)
	}
	post(t, org, "evt_rot1", "event.created")
	wait(t, "first delivery", func() bool { return len(rcv.Got()) == 1 })
	r := rcv.Got()[0]
	if n := len(strings.Fields(r.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("want two signatures during grace, got %q", r.Header.Get("webhook-signature"))
	}
	if !verifies(t, oldSecret, r) || !verifies(t, newSecret, r) {
		t.Fatal("a receiver holding either secret must verify during the grace period")
	}

	// Rotating with no grace: only the newest secret signs.
	newest := org.Do(t, "POST", "/api/webhooks/"+id+"/rotate-secret", map[string]any{"grace_seconds": 0}).Map(t)["secret"].(string)
	post(t, org, "evt_rot2", "event.created")
	wait(t, "second delivery", func() bool { return len(rcv.Got()) == 2 })
	r = rcv.Got()[1]
	if !verifies(t, newest, r) || verifies(t, newSecret, r) || verifies(t, oldSecret, r) {
		t.Fatalf("after the grace only the newest secret may verify (sig %q)", r.Header.Get("webhook-signature"))
	}
	if got := org.Do(t, "GET", "/api/webhooks/"+id+"/secret", nil).Map(t)["secret"]; got != newest {
		t.Fatalf("secret endpoint %v", got)
	}
	if resp := org.Do(t, "POST", "/api/webhooks/"+id+"/rotate-secret", map[string]any{"grace_seconds": -5}); resp.Status != 400 && resp.Status != 422 {
		t.Fatalf("negative grace: %d", resp.Status)
	}
}

func TestDestinationAuth(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "auth", "url": rcv.URL, "events": []string{"*"},
		"destination_auth": map[string]any{"type": "bearer", "token": "S3CR3T-Tok#F00D"}})
	id := wh["id"].(string)
	bearerHint, _ := wh["destination_auth"].(string)
	if !regexp.MustCompile(`^bearer hmac-sha256:[0-9a-f]{8}$`).MatchString(bearerHint) {
		t.Fatalf("hint %v", wh["destination_auth"])
	}
	noCredentialIn(t, wh["destination_auth"], "S3CR3T-Tok#F00D")
	post(t, org, "evt_auth", "event.created")
	wait(t, "delivery", func() bool { return len(rcv.Got()) == 1 })
	if got := rcv.Got()[0].Header.Get("Authorization"); got != "Bearer S3CR3T-Tok#F00D" {
		t.Fatalf("Authorization %q", got)
	}
	for _, path := range []string{"/api/webhooks/" + id, "/api/webhooks"} {
		if strings.Contains(string(org.Do(t, "GET", path, nil).Body), "S3CR3T") {
			t.Fatalf("%s leaks the credential", path)
		}
	}
	var ds []attempt
	wait(t, "attempt row", func() bool { ds = attempts(t, org, id); return len(ds) == 1 && noneSending(ds) })
	if strings.Contains(string(org.Do(t, "GET", "/api/webhooks/"+id+"/deliveries/"+ds[0].ID, nil).Body), "S3CR3T") {
		t.Fatal("delivery detail leaks the credential")
	}
	// Switch to basic auth, then refuse a reserved header.
	resp := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "basic", "username": "Us3r#Nm", "password": "Pw!Q7zX9"}})
	basicHint, _ := resp.Map(t)["destination_auth"].(string)
	if resp.Status != http.StatusOK || !regexp.MustCompile(`^basic hmac-sha256:[0-9a-f]{8}$`).MatchString(basicHint) {
		t.Fatalf("patch: %d %s", resp.Status, resp.Body)
	}
	for _, path := range []string{"/api/webhooks/" + id, "/api/webhooks"} {
		noCredentialIn(t, string(org.Do(t, "GET", path, nil).Body), "Us3r#Nm", "Pw!Q7zX9")
	}
	// The same credential keeps its fingerprint; another one changes it.
	same := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "basic", "username": "Us3r#Nm", "password": "Pw!Q7zX9"}})
	if got := same.Map(t)["destination_auth"]; got != basicHint {
		t.Fatalf("same credential, hint %v then %v", basicHint, got)
	}
	other := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "basic", "username": "Us3r#Nm", "password": "Pw!Q7zX8"}})
	if got := other.Map(t)["destination_auth"]; got == basicHint {
		t.Fatalf("another password kept the hint %v", got)
	}
	hdr := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "header", "header": "x-api-key", "value": "K#y-Vq8W"}})
	headerHint, _ := hdr.Map(t)["destination_auth"].(string)
	if hdr.Status != http.StatusOK || !regexp.MustCompile(`^header X-Api-Key hmac-sha256:[0-9a-f]{8}$`).MatchString(headerHint) {
		t.Fatalf("header hint: %d %s", hdr.Status, hdr.Body)
	}
	noCredentialIn(t, string(org.Do(t, "GET", "/api/webhooks/"+id, nil).Body), "K#y-Vq8W")
	// A hint stored by an older version (user name and last four
	// characters) is shown as its type only.
	if err := env.App.DB.Model(&models.Webhook{}).Where("id = ?", id).Update("destination_auth_hint", "basic Us3r#Nm:****3456").Error; err != nil {
		t.Fatal(err)
	}
	if got := org.Do(t, "GET", "/api/webhooks/"+id, nil).Map(t)["destination_auth"]; got != "basic" {
		t.Fatalf("legacy hint shown as %v", got)
	}
	noCredentialIn(t, string(org.Do(t, "GET", "/api/webhooks", nil).Body), "Us3r#Nm", "Pw!Q7zX9")
	resp = org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "basic", "username": "Us3r#Nm", "password": "Pw!Q7zX9"}})
	if got := resp.Map(t)["destination_auth"]; resp.Status != http.StatusOK || got != basicHint {
		t.Fatalf("set again: %d %v, want %s", resp.Status, got, basicHint)
	}
	post(t, org, "evt_auth2", "event.created")
	wait(t, "second delivery", func() bool { return len(rcv.Got()) == 2 })
	if u, p, ok := (&http.Request{Header: rcv.Got()[1].Header}).BasicAuth(); !ok || u != "Us3r#Nm" || p != "Pw!Q7zX9" {
		t.Fatalf("basic auth %q %q %v", u, p, ok)
	}
	resp = org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": map[string]any{"type": "header", "header": "webhook-signature", "value": "x"}})
	if resp.Status != 422 || !strings.Contains(string(resp.Body), "destination_auth.header") {
		t.Fatalf("reserved header: %d %s", resp.Status, resp.Body)
	}
	resp = org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"destination_auth": nil})
	if resp.Status != http.StatusOK || resp.Map(t)["destination_auth"] != nil {
		t.Fatalf("clearing destination auth: %d %s", resp.Status, resp.Body)
	}
	post(t, org, "evt_auth3", "event.created")
	wait(t, "third delivery", func() bool { return len(rcv.Got()) == 3 })
	if got := rcv.Got()[2].Header.Get("Authorization"); got != "" {
		t.Fatalf("cleared credential still sent: %q", got)
	}
}

// noCredentialIn fails when body holds any credential given or any run of
// four of its characters (a "last four" hint).
func noCredentialIn(t *testing.T, body any, secrets ...string) {
	t.Helper()
	s := fmt.Sprint(body)
	for _, secret := range secrets {
		for i := 0; i+4 <= len(secret); i++ {
			if strings.Contains(s, secret[i:i+4]) {
				t.Fatalf("response shows %q of the credential %q: %s", secret[i:i+4], secret, s)
			}
		}
	}
}

func TestRedeliverKeepsMessageID(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t, 400)
	wh := createWebhook(t, org, map[string]any{"name": "re", "url": rcv.URL, "events": []string{"*"}})
	id := wh["id"].(string)
	post(t, org, "evt_re", "registration.created")
	var ds []attempt
	wait(t, "the failed attempt", func() bool { ds = attempts(t, org, id); return len(ds) == 1 && ds[0].IsFinal })

	resp := org.Do(t, "POST", "/api/webhooks/"+id+"/deliveries/"+ds[0].ID+"/redeliver", nil)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("redeliver: %d %s", resp.Status, resp.Body)
	}
	run := resp.Map(t)
	if !strings.HasPrefix(run["workflow_id"].(string), workflows.DeliveryWorkflowID(id, "evt_re")+":redeliver:") {
		t.Fatalf("workflow id %v", run["workflow_id"])
	}
	wait(t, "the redelivery", func() bool { return len(rcv.Got()) == 2 })
	if a, b := rcv.Got()[0].Header.Get("webhook-id"), rcv.Got()[1].Header.Get("webhook-id"); a != b {
		t.Fatalf("webhook-id changed on redelivery: %q → %q", a, b)
	}
	wait(t, "the new attempt row", func() bool { ds = attempts(t, org, id); return len(ds) == 2 && ds[0].Status == "success" })
	var detail map[string]any
	detail = org.Do(t, "GET", "/api/webhooks/"+id+"/deliveries/"+ds[0].ID, nil).Map(t)
	if detail["workflow_id"] != run["workflow_id"] || ds[0].MessageID != "evt_re" {
		t.Fatalf("new attempt %v", detail)
	}
	var row models.WebhookDelivery
	env.App.DB.Where("id = ?", ds[0].ID).Take(&row)
	// Linked to the run that made the redelivered attempt (a DeliveryBatch run).
	if row.RedeliveryOf == nil || *row.RedeliveryOf != ds[1].WorkflowID || !strings.HasPrefix(ds[1].WorkflowID, workflows.BatchWorkflowID(id, "")) || !row.IsRetry {
		t.Fatalf("redelivery_of %v", row.RedeliveryOf)
	}
	if resp := org.Do(t, "POST", "/api/webhooks/"+id+"/deliveries/dlv_nope/redeliver", nil); resp.Status != 404 {
		t.Fatalf("unknown delivery: %d", resp.Status)
	}
}

func TestRecoverIsOneWorkflowAndSafeTwice(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	start := time.Now().UTC().Add(-time.Second)
	rcv := testenv.NewReceiver(t, 400, 400, 400)
	wh := createWebhook(t, org, map[string]any{"name": "rec", "url": rcv.URL, "events": []string{"*"}})
	id := wh["id"].(string)
	for _, e := range []string{"evt_r1", "evt_r2", "evt_r3"} {
		post(t, org, e, "invitation.sent")
	}
	wait(t, "three failures", func() bool {
		n := 0
		for _, a := range attempts(t, org, id) {
			if a.IsFinal && a.Status == "failed" {
				n++
			}
		}
		return n == 3
	})
	until := time.Now().UTC().Add(time.Second)
	body := map[string]any{"since": start.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano)}
	first := org.Do(t, "POST", "/api/webhooks/"+id+"/recover", body)
	if first.Status != http.StatusAccepted {
		t.Fatalf("recover: %d %s", first.Status, first.Body)
	}
	rec := first.Map(t)
	var progress map[string]any
	wait(t, "the recovery to finish", func() bool {
		resp := org.Do(t, "GET", rec["progress_url"].(string), nil)
		if resp.Status != http.StatusOK {
			return false
		}
		progress = resp.Map(t)["progress"].(map[string]any)
		return progress["finished"] == true
	})
	if progress["found"] != float64(3) || progress["started"] != float64(3) || progress["succeeded"] != float64(3) {
		t.Fatalf("progress %v", progress)
	}
	second := org.Do(t, "POST", "/api/webhooks/"+id+"/recover", body).Map(t)
	if second["recovery_id"] != rec["recovery_id"] || second["workflow_id"] != rec["workflow_id"] {
		t.Fatalf("second call started another recovery: %v vs %v", second, rec)
	}
	if n := len(rcv.Got()); n != 6 {
		t.Fatalf("receiver got %d requests, want 3 failures + 3 recovered", n)
	}
	// A new window finds nothing left to recover: everything succeeded since.
	body["until"] = time.Now().UTC().Add(2 * time.Second).Format(time.RFC3339Nano)
	third := org.Do(t, "POST", "/api/webhooks/"+id+"/recover", body).Map(t)
	wait(t, "the empty recovery", func() bool {
		p := org.Do(t, "GET", third["progress_url"].(string), nil).Map(t)["progress"].(map[string]any)
		progress = p
		return p["finished"] == true
	})
	if progress["found"] != float64(0) {
		t.Fatalf("already-recovered messages found again: %v", progress)
	}
	if resp := org.Do(t, "POST", "/api/webhooks/"+id+"/recover", map[string]any{}); resp.Status != 422 && resp.Status != 400 {
		t.Fatalf("missing since: %d %s", resp.Status, resp.Body)
	}
}

func TestDisableCancelsPendingAndReenableReports(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t, 500, 500, 500)
	wh := createWebhook(t, org, map[string]any{"name": "slow", "url": rcv.URL, "events": []string{"*"}, "retry_delay_seconds": 3600})
	id := wh["id"].(string)
	post(t, org, "evt_pending", "registration.cancelled")
	wait(t, "the first failed attempt", func() bool { ds := attempts(t, org, id); return len(ds) == 1 && noneSending(ds) })

	resp := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": false})
	if resp.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", resp.Status, resp.Body)
	}
	if got := resp.Map(t)["cancelled_pending_deliveries"]; got != float64(1) {
		t.Fatalf("cancelled %v", got)
	}
	var ds []attempt
	wait(t, "the cancelled row", func() bool {
		ds = attempts(t, org, id)
		return len(ds) == 2 && ds[0].Status == "cancelled" && ds[0].IsFinal
	})
	wait(t, "the run to end cancelled", func() bool {
		desc, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.EndpointWorkflowID(id), "")
		return err == nil && desc.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_CANCELED
	})

	resp = org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": true})
	re, _ := resp.Map(t)["reenabled"].(map[string]any)
	if resp.Status != http.StatusOK || re == nil || re["undelivered_while_disabled"] != float64(1) {
		t.Fatalf("re-enable: %d %s", resp.Status, resp.Body)
	}
	if rec := re["recover"].(map[string]any); rec["path"] != "/api/webhooks/"+id+"/recover" {
		t.Fatalf("recover hint %v", rec)
	}
	if n := len(rcv.Got()); n != 1 {
		t.Fatalf("a cancelled run fired: receiver got %d", n)
	}
}

func TestAutoDisableNotifiesOtherWebhooks(t *testing.T) {
	env := testenv.Get(t)
	old := env.App.Deliveries.AutoDisableAfter
	env.App.Deliveries.AutoDisableAfter = time.Nanosecond // every failure is "too long" for this test
	defer func() { env.App.Deliveries.AutoDisableAfter = old }()

	org := env.NewOrg(t)
	dead := testenv.NewReceiver(t, 500)
	ops := testenv.NewReceiver(t)
	bad := createWebhook(t, org, map[string]any{"name": "dead", "url": dead.URL, "events": []string{"*"}, "retry_count": 0})
	watcher := createWebhook(t, org, map[string]any{"name": "ops", "url": ops.URL, "events": []string{"webhook.disabled"}})
	bystander := testenv.NewReceiver(t)
	createWebhook(t, org, map[string]any{"name": "all", "url": bystander.URL, "events": []string{"*"}})
	_ = watcher
	post(t, org, "evt_dead", "event.cancelled")

	wait(t, "the webhook.disabled event", func() bool { return len(ops.Got()) == 1 })
	body := string(ops.Got()[0].Body)
	if !strings.Contains(body, `"type":"webhook.disabled"`) || !strings.Contains(body, bad["id"].(string)) {
		t.Fatalf("operational event %s", body)
	}
	w := org.Do(t, "GET", "/api/webhooks/"+bad["id"].(string), nil).Map(t)
	if w["is_active"] != false || !strings.Contains(w["disabled_reason"].(string), "disabled automatically") {
		t.Fatalf("webhook %v", w)
	}
	// "*" subscribers get domain events only, not the operational one.
	wait(t, "the bystander's domain event", func() bool { return len(bystander.Got()) == 1 })
	if strings.Contains(string(bystander.Got()[0].Body), "webhook.disabled") {
		t.Fatal("a '*' subscription received an operational event")
	}
}

func TestStats(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t, 400)
	wh := createWebhook(t, org, map[string]any{"name": "st", "url": rcv.URL, "events": []string{"*"}})
	id := wh["id"].(string)
	for _, e := range []string{"evt_s1", "evt_s2", "evt_s3", "evt_s4"} {
		post(t, org, e, "event.updated")
	}
	wait(t, "four attempts", func() bool { ds := attempts(t, org, id); return len(ds) == 4 && noneSending(ds) })
	resp := org.Do(t, "GET", "/api/webhooks/"+id+"/stats", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("stats: %d %s", resp.Status, resp.Body)
	}
	day := resp.Map(t)["last_24h"].(map[string]any)
	att := day["attempts"].(map[string]any)
	counts := att["by_status"].(map[string]any)
	msgs := day["messages"].(map[string]any)
	lat := day["attempt_latency_ms"].(map[string]any)
	if counts["success"] != float64(3) || counts["failed"] != float64(1) || att["success_rate"] != 0.75 || lat["p95"] == nil {
		t.Fatalf("stats %s", resp.Body)
	}
	if msgs["total"] != float64(4) || msgs["delivered"] != float64(3) || msgs["failed"] != float64(1) || msgs["success_rate"] != 0.75 {
		t.Fatalf("message stats %s", resp.Body)
	}
}

func TestRetentionScheduleDeletesOldAttempts(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "old", "url": rcv.URL, "events": []string{"*"}})
	id := wh["id"].(string)
	post(t, org, "evt_old", "event.created")
	post(t, org, "evt_new", "event.created")
	wait(t, "two attempts", func() bool { ds := attempts(t, org, id); return len(ds) == 2 && noneSending(ds) })
	// Age one attempt past the retention (30 days).
	res := env.App.DB.Model(&models.WebhookDelivery{}).Where("webhook_id = ? AND event_id = ?", id, "evt_old").
		Update("attempted_at", time.Now().UTC().Add(-31*24*time.Hour))
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("age row: %v %d", res.Error, res.RowsAffected)
	}
	h := env.App.Temporal.ScheduleClient().GetHandle(context.Background(), workflows.RetentionScheduleID)
	if _, err := h.Describe(context.Background()); err != nil {
		t.Fatalf("retention schedule missing: %v", err)
	}
	if err := h.Trigger(context.Background(), clientTrigger()); err != nil {
		t.Fatal(err)
	}
	wait(t, "the old attempt to be purged", func() bool {
		ds := attempts(t, org, id)
		return len(ds) == 1 && ds[0].EventID == "evt_new"
	})
}
