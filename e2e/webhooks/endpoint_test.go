package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/workflows"
)

// switchReceiver answers 503 while down, 200 otherwise, and counts the
// requests and successes per webhook-id.
type switchReceiver struct {
	*httptest.Server
	down     atomic.Bool
	requests atomic.Int64
	mu       sync.Mutex
	failed   map[string]int
	ok       map[string]int
}

func newSwitchReceiver(t *testing.T) *switchReceiver {
	r := &switchReceiver{failed: map[string]int{}, ok: map[string]int{}}
	r.down.Store(true)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.requests.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down.Load() {
			r.failed[id]++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.ok[id]++
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *switchReceiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ok)
}

func (r *switchReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.ok {
		n += c - 1
	}
	return n
}

func parkedCount(t *testing.T, webhookID string) int64 {
	t.Helper()
	var n int64
	if err := testenv.Get(t).App.DB.Model(&models.ParkedMessage{}).Where("webhook_id = ?", webhookID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func circuitOpen(t *testing.T, webhookID string) bool {
	t.Helper()
	var n int64
	if err := testenv.Get(t).App.DB.Model(&models.Circuit{}).Where("webhook_id = ?", webhookID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// runsOf counts the workflow executions of a webhook by type (visibility
// is eventually consistent: callers poll).
func runsOf(t *testing.T, webhookID string) map[string]int {
	t.Helper()
	env := testenv.Get(t)
	out := map[string]int{}
	q := fmt.Sprintf("%s = %q", workflows.AttrWebhookID.GetName(), webhookID)
	var token []byte
	for {
		res, err := env.App.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.GetExecutions() {
			out[e.GetType().GetName()]++
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			return out
		}
	}
}

// An endpoint that fails is probed, not hammered: once its circuit is
// open, new messages are parked without a request and without a workflow
// run of their own, one probe goes out per probe interval, and when a
// probe succeeds every parked message is delivered by the endpoint's
// workflow, each once, with its attempts in the log naming that run.
func TestFailingEndpointIsProbedAndDrainedOnRecovery(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := newSwitchReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "outage", "url": rcv.URL, "events": []string{"registration.*"},
		"retry_count": 5, "retry_delay_seconds": 1})

	// The first message fails: the circuit opens.
	if resp := postEvent(t, org, registration("out_first")); resp.Status != http.StatusAccepted {
		t.Fatalf("post: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 30*time.Second, "the circuit to open", func() bool { return circuitOpen(t, wh.ID) })

	// 200 more arrive while the endpoint is down: parked, not sent.
	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if resp := postEvent(t, org, registration(fmt.Sprintf("out_%03d", i))); resp.Status != http.StatusAccepted {
				t.Errorf("post %d: %d %s", i, resp.Status, resp.Body)
			}
		}()
	}
	wg.Wait()
	testenv.Eventually(t, 30*time.Second, "every message parked", func() bool { return parkedCount(t, wh.ID) == n+1 })
	before := rcv.requests.Load()
	if before > 10 {
		t.Fatalf("%d requests reached the failing endpoint before the messages were parked", before)
	}
	// Three probes later (one per second at retry_delay_seconds 1) the
	// endpoint got exactly three more requests, where 201 messages on
	// their own schedule would have sent hundreds.
	testenv.Eventually(t, 30*time.Second, "three probes", func() bool { return rcv.requests.Load() >= before+3 })
	if got := rcv.requests.Load(); got != before+3 {
		t.Fatalf("%d requests during three probe intervals, want 3", got-before)
	}
	if !circuitOpen(t, wh.ID) || parkedCount(t, wh.ID) != n+1 {
		t.Fatalf("circuit open %v, parked %d", circuitOpen(t, wh.ID), parkedCount(t, wh.ID))
	}

	// Recovery: the next probe succeeds and everything parked goes out.
	rcv.down.Store(false)
	testenv.Eventually(t, 60*time.Second, "every message delivered", func() bool { return rcv.delivered() == n+1 })
	if d := rcv.duplicates(); d != 0 {
		t.Fatalf("%d messages delivered twice", d)
	}
	testenv.Eventually(t, 30*time.Second, "nothing parked, circuit closed", func() bool {
		return parkedCount(t, wh.ID) == 0 && !circuitOpen(t, wh.ID)
	})

	// The log: every message has one success, made by the endpoint's
	// workflow (but the first, whose first attempt a batch made), with a
	// link to that run.
	endpoint := workflows.EndpointWorkflowID(wh.ID)
	var all []delivery
	cursor := ""
	for {
		resp := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries?status=success&limit=100"+cursor, nil)
		var page struct {
			Data       []delivery `json:"data"`
			NextCursor *string    `json:"next_cursor"`
		}
		resp.JSON(t, &page)
		all = append(all, page.Data...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	if len(all) != n+1 {
		t.Fatalf("%d success rows, want %d", len(all), n+1)
	}
	for _, d := range all {
		if d.WorkflowID != endpoint || d.RunID == "" {
			t.Fatalf("success row not made by the endpoint run: %+v", d)
		}
	}
	var detail delivery
	org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries/"+all[0].ID, nil).JSON(t, &detail)
	if detail.TemporalURL == nil || !strings.Contains(*detail.TemporalURL, all[0].RunID) {
		t.Fatalf("detail not linked to the run that made the attempt: %+v", detail)
	}
	w := getWebhook(t, org, wh.ID)
	if w.TotalDeliveries != n+1 || w.FailedDeliveries != 0 {
		t.Fatalf("counters %+v", w)
	}

	// Executions: the first message's batch and the endpoint workflow
	// (continued as new at most a few times); no run per message.
	var runs map[string]int
	testenv.Eventually(t, 30*time.Second, "the runs in visibility", func() bool {
		runs = runsOf(t, wh.ID)
		return runs["DeliveryBatch"] >= 1 && runs["Endpoint"] >= 1
	})
	if runs["DeliveryBatch"] != 1 || runs["Delivery"] != 0 || runs["Endpoint"] > 3 {
		t.Fatalf("runs %v", runs)
	}
	testenv.Eventually(t, 30*time.Second, "the endpoint run to complete", func() bool {
		desc, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), endpoint, "")
		return err == nil && desc.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	recordHistories(t, env, map[string]string{"endpoint_outage_recovery.json": endpoint})
}

// A message keeps its retry budget while its endpoint fails: retry_count
// 2 means three attempts in all — its first, one probe, and the last at
// its deadline (first attempt + 1 s + 2 s) — then failed for good.
func TestParkedMessageFailsAfterItsBudget(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := newSwitchReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "down", "url": rcv.URL, "events": []string{"registration.*"},
		"retry_count": 2, "retry_delay_seconds": 1})
	if resp := postEvent(t, org, registration("budget_1")); resp.Status != http.StatusAccepted {
		t.Fatalf("post: %d %s", resp.Status, resp.Body)
	}
	var ds []delivery
	testenv.Eventually(t, 30*time.Second, "the final failure", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) > 0 && ds[0].IsFinal
	})
	if len(ds) != 3 {
		t.Fatalf("%d attempts, want 3: %+v", len(ds), ds)
	}
	for i, d := range ds { // newest first
		if d.Status != "failed" || d.RetryNumber != 2-i || d.MessageID != "budget_1" || (i == 0) != d.IsFinal {
			t.Fatalf("attempt %d: %+v", i, d)
		}
	}
	if ds[2].WorkflowID == ds[0].WorkflowID || ds[0].WorkflowID != workflows.EndpointWorkflowID(wh.ID) {
		t.Fatalf("first attempt by %s, last by %s", ds[2].WorkflowID, ds[0].WorkflowID)
	}
	if got := rcv.requests.Load(); got != 3 {
		t.Fatalf("endpoint got %d requests, want 3", got)
	}
	testenv.Eventually(t, 30*time.Second, "nothing parked, circuit closed", func() bool {
		return parkedCount(t, wh.ID) == 0 && !circuitOpen(t, wh.ID)
	})
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != 1 || w.FailedDeliveries != 1 {
		t.Fatalf("counters %+v", w)
	}
	recordHistories(t, env, map[string]string{"endpoint_budget_exhausted.json": workflows.EndpointWorkflowID(wh.ID)})
}

// orderReceiver logs every request's webhook-id in arrival order; it can
// fail one message's first request (503) and hold another's until
// released.
type orderReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	log     []string
	ok      map[string]bool
	failID  string
	holdID  string
	held    chan struct{}
	release chan struct{}
}

func newOrderReceiver(t *testing.T, failID, holdID string) *orderReceiver {
	r := &orderReceiver{ok: map[string]bool{}, failID: failID, holdID: holdID, held: make(chan struct{}), release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		first := true
		for _, seen := range r.log {
			first = first && seen != id
		}
		r.log = append(r.log, id)
		r.mu.Unlock()
		if first && id == r.failID {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if first && id == r.holdID {
			close(r.held)
			<-r.release // the worker is restarted meanwhile: this answer is lost
		}
		r.mu.Lock()
		r.ok[id] = true
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(func() {
		select {
		case <-r.release:
		default:
			close(r.release)
		}
		r.Close()
	})
	return r
}

// An ordered webhook's message n+1 is not sent before message n was
// delivered: not across a retry (message 5 fails once), nor across a
// worker restart while message 10's request is in flight (its outcome is
// lost; it is sent again, same webhook-id, before message 11).
func TestOrderedDeliveryKeepsOrderAcrossARetryAndARestart(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	const n = 20
	id := func(i int) string { return fmt.Sprintf("ord_%02d", i) }
	rcv := newOrderReceiver(t, id(5), id(10))
	wh := createWebhook(t, org, map[string]any{"name": "fifo", "url": rcv.URL, "events": []string{"registration.*"},
		"retry_count": 5, "retry_delay_seconds": 1, "ordered": true})
	if got := getWebhookMap(t, org, wh.ID); got["ordered"] != true || got["max_deliveries_per_second"] != nil {
		t.Fatalf("webhook %v", got)
	}
	for i := range n {
		if resp := postEvent(t, org, registration(id(i))); resp.Status != http.StatusAccepted {
			t.Fatalf("post %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	select {
	case <-rcv.held:
	case <-time.After(60 * time.Second):
		t.Fatal("message 10 was never sent")
	}
	env.Restart(t)
	close(rcv.release)

	testenv.Eventually(t, 90*time.Second, "every message delivered", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return len(rcv.ok) == n
	})
	rcv.mu.Lock()
	log := append([]string(nil), rcv.log...)
	rcv.mu.Unlock()
	firstAt, lastAt := map[string]int{}, map[string]int{}
	for i, m := range log {
		if _, ok := firstAt[m]; !ok {
			firstAt[m] = i
		}
		lastAt[m] = i
	}
	for i := 1; i < n; i++ {
		if firstAt[id(i)] < lastAt[id(i-1)] {
			t.Fatalf("%s sent before %s was done: %v", id(i), id(i-1), log)
		}
	}
	if firstAt[id(5)] == lastAt[id(5)] || firstAt[id(10)] == lastAt[id(10)] {
		t.Fatalf("the retry and the resend after the restart are missing: %v", log)
	}
	ds := listDeliveries(t, org, wh.ID, "?event_id="+id(10))
	if len(ds) < 2 || ds[0].Status != "success" || ds[0].WorkflowID != workflows.EndpointWorkflowID(wh.ID) {
		t.Fatalf("message 10's attempts %+v", ds)
	}
	recordHistories(t, env, map[string]string{"endpoint_ordered_restart.json": workflows.EndpointWorkflowID(wh.ID)})
}

// A throttled webhook gets at most max_deliveries_per_second requests in
// any second (plus the tenth of a second's worth the endpoint workflow
// sends at once), whatever the backlog.
func TestThrottledWebhookIsPaced(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	const rate, n = 20, 100
	wh := createWebhook(t, org, map[string]any{"name": "slow", "url": srv.URL, "events": []string{"registration.*"},
		"max_deliveries_per_second": rate})
	resume := pauseDispatcher(t, env)
	for i := range n {
		if resp := postEvent(t, org, registration(fmt.Sprintf("thr_%03d", i))); resp.Status != http.StatusAccepted {
			t.Fatalf("post %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	resume()
	testenv.Eventually(t, 60*time.Second, "every message delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrivals) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != n {
		t.Fatalf("%d requests for %d messages", len(arrivals), n)
	}
	limit := rate + rate/10
	for i := range arrivals {
		j := i
		for j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < time.Second {
			j++
		}
		if j-i > limit {
			t.Fatalf("%d requests within one second (from request %d), throttle %d/s", j-i, i, rate)
		}
	}
	w := getWebhookMap(t, org, wh.ID)
	if w["max_deliveries_per_second"] != float64(rate) {
		t.Fatalf("webhook %v", w)
	}
}

func getWebhookMap(t *testing.T, org *testenv.Org, id string) map[string]any {
	t.Helper()
	return org.Do(t, "GET", "/api/webhooks/"+id, nil).Map(t)
}

func TestPacingFieldsAreValidated(t *testing.T) {
	org := testenv.Get(t).NewOrg(t)
	for _, v := range []any{0, 1001, -5} {
		resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "x", "url": "https://example.com/h", "events": []string{"*"},
			"max_deliveries_per_second": v})
		if resp.Status < 400 || resp.Status >= 500 || !strings.Contains(string(resp.Body), "max_deliveries_per_second") {
			t.Fatalf("max_deliveries_per_second %v: %d %s", v, resp.Status, resp.Body)
		}
	}
	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "x", "url": "https://example.com/h", "events": []string{"*"}, "ordered": "yes"})
	if resp.Status < 400 || resp.Status >= 500 || !strings.Contains(string(resp.Body), "ordered") {
		t.Fatalf("ordered \"yes\": %d %s", resp.Status, resp.Body)
	}
	wh := createWebhook(t, org, map[string]any{"name": "x", "url": "https://example.com/h", "events": []string{"*"}, "max_deliveries_per_second": 5})
	resp = org.Do(t, "PATCH", "/api/webhooks/"+wh.ID, map[string]any{"max_deliveries_per_second": nil, "ordered": true})
	if resp.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", resp.Status, resp.Body)
	}
	if got := getWebhookMap(t, org, wh.ID); got["max_deliveries_per_second"] != nil || got["ordered"] != true {
		t.Fatalf("after patch %v", got)
	}
}

// With AQIO_WEBHOOK_SIGNAL_BATCH_MAX set, quiet traffic costs no new
// execution per message: small batches are handed to the webhook's
// running Endpoint run, which makes the first attempts.
func TestQuietTrafficGoesThroughTheEndpointRun(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "quiet", "url": rcv.URL, "events": []string{"registration.*"}})
	resume := pauseDispatcher(t, env)
	env.App.Webhooks.SignalBatchMax = 8
	t.Cleanup(func() {
		env.App.Webhooks.StopDispatcher()
		env.App.Webhooks.SignalBatchMax = 0
		env.App.Webhooks.StartDispatcher(env.App.Logger)
	})
	resume()
	const n = 5
	for i := range n {
		if resp := postEvent(t, org, registration(fmt.Sprintf("quiet_%d", i))); resp.Status != http.StatusAccepted {
			t.Fatalf("post %d: %d %s", i, resp.Status, resp.Body)
		}
		testenv.Eventually(t, 30*time.Second, "the delivery", func() bool { return len(rcv.Got()) == i+1 })
	}
	// Outcomes are recorded after the receiver answered: wait until the
	// last one is no longer pending.
	var ds []delivery
	testenv.Eventually(t, 30*time.Second, "every attempt recorded", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		for _, d := range ds {
			if d.Status == "pending" {
				return false
			}
		}
		return true
	})
	if len(ds) != n {
		t.Fatalf("%d attempts", len(ds))
	}
	for _, d := range ds {
		if d.Status != "success" || d.WorkflowID != workflows.EndpointWorkflowID(wh.ID) || d.RetryNumber != 0 || d.IsRetry {
			t.Fatalf("attempt %+v", d)
		}
	}
	var runs map[string]int
	testenv.Eventually(t, 30*time.Second, "the run in visibility", func() bool {
		runs = runsOf(t, wh.ID)
		return runs["Endpoint"] >= 1
	})
	if runs["Endpoint"] != 1 || runs["DeliveryBatch"] != 0 {
		t.Fatalf("runs %v: want one Endpoint run for %d messages", runs, n)
	}
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != n {
		t.Fatalf("counters %+v", w)
	}
}
