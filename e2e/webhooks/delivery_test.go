package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

type webhook struct {
	ID               string   `json:"id"`
	Secret           string   `json:"secret"`
	Events           []string `json:"events"`
	IsActive         bool     `json:"is_active"`
	TotalDeliveries  int      `json:"total_deliveries"`
	FailedDeliveries int      `json:"failed_deliveries"`
}

type delivery struct {
	ID                 string     `json:"id"`
	Status             string     `json:"status"`
	ResponseStatusCode *int       `json:"response_status_code"`
	RetryNumber        int        `json:"retry_number"`
	IsRetry            bool       `json:"is_retry"`
	IsFinal            bool       `json:"is_final"`
	NextRetryAt        *time.Time `json:"next_retry_at"`
	MessageID          string     `json:"message_id"`
	WorkflowID         string     `json:"workflow_id"`
	RunID              string     `json:"run_id"`
	EventType          string     `json:"event_type"`
	TemporalURL        *string    `json:"temporal_url"`
	Payload            string     `json:"payload"`
}

func createWebhook(t *testing.T, org *testenv.Org, body map[string]any) webhook {
	t.Helper()
	resp := org.Do(t, "POST", "/api/webhooks", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}
	var w webhook
	resp.JSON(t, &w)
	return w
}

func postEvent(t *testing.T, org *testenv.Org, body any, headers ...string) testenv.Response {
	t.Helper()
	return org.Do(t, "POST", "/api/events", body, headers...)
}

func listDeliveries(t *testing.T, org *testenv.Org, webhookID, query string) []delivery {
	t.Helper()
	resp := org.Do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("list deliveries: %d %s", resp.Status, resp.Body)
	}
	var page struct {
		Data []delivery `json:"data"`
	}
	resp.JSON(t, &page)
	return page.Data
}

// noneSending reports whether every attempt has its outcome (a pending
// row is a request being sent).
func noneSending(ds []delivery) bool {
	for _, d := range ds {
		if d.Status == "pending" {
			return false
		}
	}
	return true
}

func registration(id string) map[string]any {
	return map[string]any{
		"id":   id,
		"type": "registration.confirmed",
		"data": map[string]any{"object": map[string]any{
			"id": "reg_789", "event_id": "evt_456", "user_email": "user@example.com",
			"registered_at": "2024-09-15T10:00:00Z", "dietary_restrictions": "Vegetarian",
		}},
	}
}

func TestSignedDeliveryEndToEnd(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "crm", "url": rcv.URL + "/hook", "events": []string{"registration.*"}})
	if !strings.HasPrefix(wh.Secret, "whsec_") {
		t.Fatalf("secret %q", wh.Secret)
	}

	resp := postEvent(t, org, registration("wh_evt_123456"))
	if resp.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", resp.Status, resp.Body)
	}
	var accepted struct {
		Deliveries []struct {
			WebhookID string `json:"webhook_id"`
			Status    string `json:"status"`
		} `json:"deliveries"`
	}
	resp.JSON(t, &accepted)
	if len(accepted.Deliveries) != 1 || accepted.Deliveries[0].WebhookID != wh.ID || accepted.Deliveries[0].Status != "queued" {
		t.Fatalf("deliveries %s", resp.Body)
	}

	testenv.Eventually(t, 20*time.Second, "the receiver to get the event", func() bool { return len(rcv.Got()) == 1 })
	got := rcv.Got()[0]
	verifier, err := standardwebhooks.NewWebhook(wh.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier.Verify(got.Body, got.Header); err != nil {
		t.Fatalf("signature does not verify with the Standard Webhooks library: %v", err)
	}
	var payload map[string]any
	if err := json.Unmarshal(got.Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["id"] != "wh_evt_123456" || payload["type"] != "registration.confirmed" || payload["organization_id"] != org.ID {
		t.Fatalf("payload %s", got.Body)
	}
	if obj := payload["data"].(map[string]any)["object"].(map[string]any); obj["user_email"] != "user@example.com" {
		t.Fatalf("data.object %v", obj)
	}

	// The secret can be read again and is the one that signed.
	sec := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/secret", nil).Map(t)
	if sec["secret"] != wh.Secret {
		t.Fatalf("secret endpoint returned %v", sec["secret"])
	}
	// ...and is not returned by the ordinary reads.
	if strings.Contains(string(org.Do(t, "GET", "/api/webhooks/"+wh.ID, nil).Body), wh.Secret) {
		t.Fatal("GET /api/webhooks/{id} leaked the secret")
	}

	var ds []delivery
	testenv.Eventually(t, 10*time.Second, "the attempt row", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == 1 && ds[0].Status == "success"
	})
	detail := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries/"+ds[0].ID, nil)
	var d delivery
	detail.JSON(t, &d)
	// The first attempt is made by a DeliveryBatch run of this webhook.
	if !strings.HasPrefix(d.WorkflowID, workflows.BatchWorkflowID(wh.ID, "")) || d.RunID == "" || d.TemporalURL == nil || d.Payload == "" {
		t.Fatalf("detail %s", detail.Body)
	}

	// The run is in Temporal, completed, and findable by search attribute.
	var desc *workflowservice.DescribeWorkflowExecutionResponse
	testenv.Eventually(t, 10*time.Second, "the run to complete", func() bool {
		var err error
		desc, err = env.App.Temporal.DescribeWorkflowExecution(context.Background(), d.WorkflowID, d.RunID)
		return err == nil && desc.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	if desc.WorkflowExecutionInfo.Type.GetName() != "DeliveryBatch" {
		t.Errorf("first attempt made by a %s run", desc.WorkflowExecutionInfo.Type.GetName())
	}
	fields := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	for _, name := range []string{"AqioOrganizationId", "AqioWebhookId", "AqioEventType"} {
		if fields[name] == nil {
			t.Errorf("search attribute %s not set", name)
		}
	}

	w := getWebhook(t, org, wh.ID)
	if w.TotalDeliveries != 1 || w.FailedDeliveries != 0 {
		t.Fatalf("counters %+v", w)
	}
}

func getWebhook(t *testing.T, org *testenv.Org, id string) webhook {
	t.Helper()
	var w webhook
	org.Do(t, "GET", "/api/webhooks/"+id, nil).JSON(t, &w)
	return w
}

func TestFailTwiceThenSucceed(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t, 500, 503)
	wh := createWebhook(t, org, map[string]any{"name": "flaky", "url": rcv.URL, "events": []string{"*"},
		"retry_count": 3, "retry_delay_seconds": 1})
	if resp := postEvent(t, org, registration("evt_flaky")); resp.Status != http.StatusAccepted {
		t.Fatalf("post: %d %s", resp.Status, resp.Body)
	}

	var ds []delivery
	testenv.Eventually(t, 30*time.Second, "three attempts ending in success", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == 3 && ds[0].Status == "success"
	})
	// Newest first: success, then the two failures.
	for i, want := range []struct {
		status string
		code   int
		retry  int
	}{{"success", 200, 2}, {"failed", 503, 1}, {"failed", 500, 0}} {
		d := ds[i]
		if d.Status != want.status || d.ResponseStatusCode == nil || *d.ResponseStatusCode != want.code || d.RetryNumber != want.retry {
			t.Fatalf("attempt %d: %+v", i, d)
		}
		if d.MessageID != "evt_flaky" {
			t.Fatalf("webhook-id must stay the same across retries, got %q", d.MessageID)
		}
		if want.status == "failed" && (d.NextRetryAt == nil || d.IsFinal) {
			t.Fatalf("failed attempt %d must carry next_retry_at and not be final: %+v", i, d)
		}
	}
	// The receiver saw the same webhook-id three times (so it can deduplicate).
	ids := map[string]int{}
	for _, r := range rcv.Got() {
		ids[r.Header.Get("webhook-id")]++
	}
	if len(ids) != 1 || ids["evt_flaky"] != 3 {
		t.Fatalf("webhook-ids %v", ids)
	}
	// Filter by status.
	if failed := listDeliveries(t, org, wh.ID, "?status=failed"); len(failed) != 2 {
		t.Fatalf("status filter returned %d", len(failed))
	}
	w := getWebhook(t, org, wh.ID)
	if w.TotalDeliveries != 1 || w.FailedDeliveries != 0 {
		t.Fatalf("counters count messages, not attempts: %+v", w)
	}
}

func TestNonRetryableAndGone(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	bad := testenv.NewReceiver(t, 400)
	gone := testenv.NewReceiver(t, 410)
	whBad := createWebhook(t, org, map[string]any{"name": "bad", "url": bad.URL, "events": []string{"event.*"}, "retry_delay_seconds": 1})
	whGone := createWebhook(t, org, map[string]any{"name": "gone", "url": gone.URL, "events": []string{"event.*"}, "retry_delay_seconds": 1})
	ev := map[string]any{"type": "event.created", "data": map[string]any{"object": map[string]any{"id": "evt_9", "title": "Launch"}}}
	if resp := postEvent(t, org, ev); resp.Status != http.StatusAccepted {
		t.Fatalf("post: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 20*time.Second, "both final failures", func() bool {
		a := listDeliveries(t, org, whBad.ID, "")
		b := listDeliveries(t, org, whGone.ID, "")
		return len(a) == 1 && a[0].IsFinal && len(b) == 1 && b[0].IsFinal
	})
	if n := len(bad.Got()); n != 1 {
		t.Fatalf("400 must not be retried; receiver saw %d requests", n)
	}
	w := getWebhook(t, org, whGone.ID)
	if w.IsActive {
		t.Fatal("410 Gone must deactivate the webhook")
	}
	raw := org.Do(t, "GET", "/api/webhooks/"+whGone.ID, nil).Map(t)
	if r, _ := raw["disabled_reason"].(string); !strings.Contains(r, "410") {
		t.Fatalf("disabled_reason %v", raw["disabled_reason"])
	}
	if wb := getWebhook(t, org, whBad.ID); wb.FailedDeliveries != 1 || wb.TotalDeliveries != 1 {
		t.Fatalf("counters %+v", wb)
	}
	// A deactivated webhook gets nothing more.
	if resp := postEvent(t, org, map[string]any{"type": "event.updated", "data": map[string]any{"object": map[string]any{"id": "evt_9"}}}); resp.Status != http.StatusAccepted {
		t.Fatal(resp.Status)
	} else if !strings.Contains(string(resp.Body), whBad.ID) || strings.Contains(string(resp.Body), whGone.ID) {
		t.Fatalf("deliveries after 410: %s", resp.Body)
	}
}

func TestIdempotentIngest(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "once", "url": rcv.URL, "events": []string{"*"}})

	first := postEvent(t, org, registration("evt_dup"))
	second := postEvent(t, org, registration("evt_dup"))
	if first.Status != http.StatusAccepted || second.Status != http.StatusOK {
		t.Fatalf("statuses %d %d", first.Status, second.Status)
	}
	if !strings.Contains(string(second.Body), `"duplicate":true`) {
		t.Fatalf("second response %s", second.Body)
	}
	// Idempotency-Key without an id: the same key names the same event.
	noID := registration("")
	delete(noID, "id")
	k1 := postEvent(t, org, noID, "Idempotency-Key", "key-1")
	k2 := postEvent(t, org, noID, "Idempotency-Key", "key-1")
	if k1.Status != http.StatusAccepted || k2.Status != http.StatusOK || k1.Map(t)["id"] != k2.Map(t)["id"] {
		t.Fatalf("idempotency key: %d %s / %d %s", k1.Status, k1.Body, k2.Status, k2.Body)
	}
	// Same id, different content: refused.
	changed := registration("evt_dup")
	changed["data"] = map[string]any{"object": map[string]any{"id": "reg_other", "event_id": "evt_456"}}
	if resp := postEvent(t, org, changed); resp.Status != http.StatusConflict {
		t.Fatalf("conflicting duplicate: %d %s", resp.Status, resp.Body)
	}
	// Concurrent duplicates still deliver once.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			postEvent(t, org, registration("evt_race"))
		}()
	}
	wg.Wait()

	testenv.Eventually(t, 20*time.Second, "three deliveries", func() bool { return len(rcv.Got()) >= 3 })
	testenv.Eventually(t, 10*time.Second, "three attempt rows", func() bool {
		ds := listDeliveries(t, org, wh.ID, "")
		return len(ds) == 3 && noneSending(ds)
	})
	seen := map[string]int{}
	for _, r := range rcv.Got() {
		seen[r.Header.Get("webhook-id")]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("deliveries %v", seen)
	}
}

func TestTenantIsolation(t *testing.T) {
	env := testenv.Get(t)
	a, b := env.NewOrg(t), env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, a, map[string]any{"name": "a", "url": rcv.URL, "events": []string{"*"}})
	if resp := postEvent(t, a, registration("evt_a")); resp.Status != http.StatusAccepted {
		t.Fatal(resp.Status)
	}
	testenv.Eventually(t, 20*time.Second, "org A's delivery", func() bool { return len(rcv.Got()) == 1 })

	for _, call := range []struct{ method, path string }{
		{"GET", "/api/webhooks/" + wh.ID},
		{"PATCH", "/api/webhooks/" + wh.ID},
		{"DELETE", "/api/webhooks/" + wh.ID},
		{"GET", "/api/webhooks/" + wh.ID + "/secret"},
		{"GET", "/api/webhooks/" + wh.ID + "/deliveries"},
		{"POST", "/api/webhooks/" + wh.ID + "/test"},
	} {
		var body any
		if call.method == "PATCH" {
			body = map[string]any{"name": "hijacked"}
		}
		if resp := b.Do(t, call.method, call.path, body); resp.Status != http.StatusNotFound {
			t.Errorf("org B %s %s: %d %s", call.method, call.path, resp.Status, resp.Body)
		}
	}
	var list struct {
		Data []webhook `json:"data"`
	}
	b.Do(t, "GET", "/api/webhooks", nil).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("org B lists %d webhooks", len(list.Data))
	}
	// B's events never reach A's endpoint.
	if resp := postEvent(t, b, registration("evt_b")); resp.Status != http.StatusAccepted || strings.Contains(string(resp.Body), wh.ID) {
		t.Fatalf("org B event: %d %s", resp.Status, resp.Body)
	}
	if w := getWebhook(t, a, wh.ID); w.ID != wh.ID || !w.IsActive {
		t.Fatalf("org A's webhook changed: %+v", w)
	}
	if n := len(rcv.Got()); n != 1 {
		t.Fatalf("receiver got %d requests", n)
	}
}

func TestCountersUnderConcurrency(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "busy", "url": rcv.URL, "events": []string{"*"}})
	const n = 25
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if resp := postEvent(t, org, registration(fmt.Sprintf("evt_c%d", i))); resp.Status != http.StatusAccepted {
				t.Errorf("post %d: %d %s", i, resp.Status, resp.Body)
			}
		}(i)
	}
	wg.Wait()
	testenv.Eventually(t, 30*time.Second, "all counted", func() bool { return getWebhook(t, org, wh.ID).TotalDeliveries == n })
	if w := getWebhook(t, org, wh.ID); w.FailedDeliveries != 0 {
		t.Fatalf("%+v", w)
	}
	if got := len(rcv.Got()); got != n {
		t.Fatalf("receiver got %d, want %d", got, n)
	}
}

func TestWebhookTestEndpoint(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t, 418)
	wh := createWebhook(t, org, map[string]any{"name": "t", "url": rcv.URL, "events": []string{"payment.failed"}})
	resp := org.Do(t, "POST", "/api/webhooks/"+wh.ID+"/test", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("test: %d %s", resp.Status, resp.Body)
	}
	res := resp.Map(t)
	if res["status"] != "failed" || res["response_status_code"] != float64(418) || !strings.Contains(res["response_excerpt"].(string), "received") {
		t.Fatalf("test result %s", resp.Body)
	}
	res = org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/test", nil).Map(t)
	if res["status"] != "success" || res["response_status_code"] != float64(200) {
		t.Fatalf("second test %v", res)
	}
	reqs := rcv.Got()
	if len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), `"type":"webhook.test"`) {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
}

func TestDeliveriesPagination(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "p", "url": rcv.URL, "events": []string{"*"}})
	for i := 0; i < 5; i++ {
		postEvent(t, org, map[string]any{"id": fmt.Sprintf("evt_p%d", i), "type": "invitation.sent", "data": map[string]any{"object": map[string]any{"id": "inv"}}})
	}
	testenv.Eventually(t, 20*time.Second, "five attempts", func() bool {
		ds := listDeliveries(t, org, wh.ID, "")
		return len(ds) == 5 && noneSending(ds)
	})
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var page struct {
			Data       []delivery `json:"data"`
			NextCursor *string    `json:"next_cursor"`
		}
		org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries"+q, nil).JSON(t, &page)
		pages++
		for _, d := range page.Data {
			if seen[d.ID] {
				t.Fatalf("delivery %s on two pages", d.ID)
			}
			seen[d.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("saw %d deliveries over %d pages", len(seen), pages)
	}
	if resp := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries?cursor=garbage!", nil); resp.Status != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d", resp.Status)
	}
	if got := listDeliveries(t, org, wh.ID, "?event_type=payment.failed"); len(got) != 0 {
		t.Fatalf("event_type filter: %d", len(got))
	}
}
