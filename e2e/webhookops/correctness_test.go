package webhookops_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

// scripted is a webhook endpoint that answers per message (webhook-id):
// the listed statuses in order, then 200. It counts what it got.
type scripted struct {
	*httptest.Server
	mu     sync.Mutex
	script map[string][]int
	got    map[string]int
	types  map[string]string
}

func newScripted(t *testing.T, script map[string][]int) *scripted {
	r := &scripted{script: script, got: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		n := r.got[id]
		r.got[id]++
		status := http.StatusOK
		if n < len(r.script[id]) {
			status = r.script[id][n]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *scripted) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

func (r *scripted) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.got {
		n += c
	}
	return n
}

// finalAttempt reports whether the message's newest attempt is final.
func finalAttempt(t *testing.T, org *testenv.Org, webhookID, eventID string) (attempt, bool) {
	t.Helper()
	var page struct {
		Data []attempt `json:"data"`
	}
	org.Do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries?event_id="+eventID, nil).JSON(t, &page)
	if len(page.Data) == 0 {
		return attempt{}, false
	}
	return page.Data[0], page.Data[0].IsFinal
}

// runRecovery posts exactly the recover call a re-enable suggested and
// waits for the recovery to finish.
func runRecovery(t *testing.T, org *testenv.Org, reenabled map[string]any) map[string]any {
	t.Helper()
	call := reenabled["recover"].(map[string]any)
	resp := org.Do(t, call["method"].(string), call["path"].(string), call["body"])
	if resp.Status != http.StatusAccepted {
		t.Fatalf("suggested recover: %d %s", resp.Status, resp.Body)
	}
	progressURL := resp.Map(t)["progress_url"].(string)
	var progress map[string]any
	wait(t, "the recovery to finish", func() bool {
		r := org.Do(t, "GET", progressURL, nil)
		if r.Status != http.StatusOK {
			return false
		}
		progress = r.Map(t)["progress"].(map[string]any)
		return progress["finished"] == true
	})
	return progress
}

// A 410 disables the webhook and says so with webhook.disabled; what it is
// owed on re-enable is the message that got the 410 and every event that
// matched it while it was off, and the suggested recover delivers exactly
// those.
func TestGoneEmitsWebhookDisabledAndReenableRecoversWhatIsOwed(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	ops := testenv.NewReceiver(t)
	createWebhook(t, org, map[string]any{"name": "ops", "url": ops.URL, "events": []string{"webhook.disabled"}})
	rcv := newScripted(t, map[string][]int{"evt_g1": {410}})
	gone := createWebhook(t, org, map[string]any{"name": "gone", "url": rcv.URL, "events": []string{"event.*"}, "retry_count": 0})
	id := gone["id"].(string)

	post(t, org, "evt_g1", "event.created")
	wait(t, "the webhook.disabled event", func() bool { return len(ops.Got()) == 1 })
	body := string(ops.Got()[0].Body)
	if !strings.Contains(body, `"type":"webhook.disabled"`) || !strings.Contains(body, id) || !strings.Contains(body, "410") {
		t.Fatalf("operational event %s", body)
	}
	if w := org.Do(t, "GET", "/api/webhooks/"+id, nil).Map(t); w["is_active"] != false {
		t.Fatalf("410 must disable: %v", w)
	}

	// While disabled: two matching events are owed, one that does not match is not.
	post(t, org, "evt_g2", "event.updated")
	post(t, org, "evt_g3", "event.published")
	post(t, org, "evt_g4", "registration.created")
	ev := org.Do(t, "GET", "/api/events/evt_g2", nil).Map(t)
	if s, _ := ev["skipped_while_disabled"].([]any); len(s) != 1 || s[0] != id {
		t.Fatalf("event log of a skipped event: %v", ev)
	}

	resp := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": true})
	re, _ := resp.Map(t)["reenabled"].(map[string]any)
	if resp.Status != http.StatusOK || re == nil || re["undelivered_while_disabled"] != float64(3) {
		t.Fatalf("re-enable must report the 410'd message and the two skipped ones: %d %s", resp.Status, resp.Body)
	}
	progress := runRecovery(t, org, re)
	if progress["found"] != float64(3) || progress["succeeded"] != float64(3) {
		t.Fatalf("the suggested recover must deliver exactly what was reported: %v", progress)
	}
	for id, want := range map[string]int{"evt_g1": 2, "evt_g2": 1, "evt_g3": 1, "evt_g4": 0} {
		if got := rcv.count(id); got != want {
			t.Fatalf("%s received %d times, want %d", id, got, want)
		}
	}
	// The recovered 410'd message is linked to the run that failed; the
	// skipped ones are first deliveries.
	var page struct {
		Data []struct {
			EventID      string  `json:"event_id"`
			Status       string  `json:"status"`
			RedeliveryOf *string `json:"redelivery_of"`
		} `json:"data"`
	}
	org.Do(t, "GET", "/api/webhooks/"+id+"/deliveries?status=success", nil).JSON(t, &page)
	links := map[string]*string{}
	for _, d := range page.Data {
		links[d.EventID] = d.RedeliveryOf
	}
	if len(links) != 3 || links["evt_g1"] == nil || !strings.HasPrefix(*links["evt_g1"], "webhook-delivery:"+id+":evt_g1") || links["evt_g2"] != nil {
		t.Fatalf("redelivery_of in the delivery log: %s", org.Do(t, "GET", "/api/webhooks/"+id+"/deliveries", nil).Body)
	}
}

// Disabled through the API while one message waited for a retry and
// another had failed: re-enabling is owed the failed one, the cancelled
// one and the event posted while it was off.
func TestReenableAfterDisableOwesFailedCancelledAndSkipped(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := newScripted(t, map[string][]int{"evt_a1": {500}, "evt_a2": {400}})
	wh := createWebhook(t, org, map[string]any{"name": "off", "url": rcv.URL, "events": []string{"*"}, "retry_delay_seconds": 3600})
	id := wh["id"].(string)
	post(t, org, "evt_a1", "invitation.sent")
	post(t, org, "evt_a2", "invitation.sent")
	wait(t, "a failed final and a failed retrying attempt", func() bool {
		_, f2 := finalAttempt(t, org, id, "evt_a2")
		a1, _ := finalAttempt(t, org, id, "evt_a1")
		return f2 && a1.Status == "failed"
	})
	if resp := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": false}); resp.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", resp.Status, resp.Body)
	}
	wait(t, "the cancelled attempt", func() bool {
		a, final := finalAttempt(t, org, id, "evt_a1")
		return final && a.Status == "cancelled"
	})
	post(t, org, "evt_a3", "invitation.accepted")

	resp := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": true})
	re, _ := resp.Map(t)["reenabled"].(map[string]any)
	if resp.Status != http.StatusOK || re == nil || re["undelivered_while_disabled"] != float64(3) {
		t.Fatalf("re-enable must report failed + cancelled + skipped = 3: %d %s", resp.Status, resp.Body)
	}
	body := re["recover"].(map[string]any)["body"].(map[string]any)
	if fmt.Sprint(body["statuses"]) != "[failed cancelled skipped_disabled]" || body["since"] == nil || body["until"] == nil {
		t.Fatalf("recover body %v", body)
	}
	before := rcv.total()
	progress := runRecovery(t, org, re)
	if progress["found"] != float64(3) || progress["succeeded"] != float64(3) {
		t.Fatalf("recovery %v", progress)
	}
	if got := rcv.total() - before; got != 3 {
		t.Fatalf("the recovery sent %d requests, want 3", got)
	}
	for _, e := range []string{"evt_a1", "evt_a2", "evt_a3"} {
		if a, final := finalAttempt(t, org, id, e); !final || a.Status != "success" {
			t.Fatalf("%s after recovery: %+v", e, a)
		}
	}
	// Nothing is owed twice: the same recover again finds nothing new.
	again := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": false})
	if again.Status != http.StatusOK {
		t.Fatal(again.Status)
	}
	re2 := org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"is_active": true}).Map(t)["reenabled"].(map[string]any)
	if re2["undelivered_while_disabled"] != float64(0) {
		t.Fatalf("a second disable/enable after the recovery owes nothing: %v", re2)
	}
	// Bad statuses are named.
	r := org.Do(t, "POST", "/api/webhooks/"+id+"/recover", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339), "statuses": []string{"failed", "nope"}})
	if r.Status != 400 && r.Status != 422 || !strings.Contains(string(r.Body), "statuses") {
		t.Fatalf("bad statuses: %d %s", r.Status, r.Body)
	}
}

// A message delivered on its third attempt is one delivered message and
// three attempts, one of them successful.
func TestStatsPerMessageAndPerAttempt(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := newScripted(t, map[string][]int{"evt_third": {503, 503}})
	wh := createWebhook(t, org, map[string]any{"name": "third", "url": rcv.URL, "events": []string{"*"}, "retry_delay_seconds": 1})
	id := wh["id"].(string)
	post(t, org, "evt_third", "event.updated")
	testenv.Eventually(t, 60*time.Second, "the third attempt to succeed", func() bool {
		a, final := finalAttempt(t, org, id, "evt_third")
		return final && a.Status == "success"
	})
	day := org.Do(t, "GET", "/api/webhooks/"+id+"/stats", nil).Map(t)["last_24h"].(map[string]any)
	msgs, att := day["messages"].(map[string]any), day["attempts"].(map[string]any)
	if msgs["total"] != float64(1) || msgs["delivered"] != float64(1) || msgs["success_rate"] != float64(1) || msgs["in_progress"] != float64(0) {
		t.Fatalf("per message: %v", msgs)
	}
	rate, _ := att["success_rate"].(float64)
	if att["total"] != float64(3) || math.Abs(rate-1.0/3) > 1e-9 || att["by_status"].(map[string]any)["failed"] != float64(2) {
		t.Fatalf("per attempt: %v", att)
	}
}

// Every operational type is listed and marked.
func TestEventTypesListOperationalTypes(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	var out struct {
		Data []struct {
			Name        string         `json:"name"`
			Operational bool           `json:"operational"`
			Schema      map[string]any `json:"schema"`
		} `json:"data"`
	}
	org.Do(t, "GET", "/api/event-types", nil).JSON(t, &out)
	ops := map[string]bool{}
	for _, typ := range out.Data {
		if typ.Operational {
			ops[typ.Name] = typ.Schema["properties"] != nil
		}
	}
	for _, name := range []string{"webhook.disabled", "webhook.test", "integration.error"} {
		if !ops[name] {
			t.Fatalf("%s missing or without schema: %v", name, ops)
		}
	}
}
