package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/webhooks"
	"github.com/aqio/connect/workflows"
)

// pauseDispatcher stops the app's outbox dispatcher until the test ends
// (or resume is called), so events pile up in the outbox.
func pauseDispatcher(t *testing.T, env *testenv.Env) (resume func()) {
	env.App.Webhooks.StopDispatcher()
	var once sync.Once
	resume = func() { once.Do(func() { env.App.Webhooks.StartDispatcher(env.App.Logger) }) }
	t.Cleanup(resume)
	return resume
}

func outboxRows(t *testing.T, env *testenv.Env, webhookID string) []models.OutboxEntry {
	t.Helper()
	var rows []models.OutboxEntry
	if err := env.App.DB.Where("webhook_id = ?", webhookID).Order("event_id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestQueuedEventsWaitInTheOutboxAndGoOutAsOneBatch(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "outbox", "url": rcv.URL, "events": []string{"registration.*"}})
	resume := pauseDispatcher(t, env)

	ids := []string{"ob_1", "ob_2", "ob_3", "ob_4", "ob_5"}
	for _, id := range ids {
		if resp := postEvent(t, org, registration(id)); resp.Status != http.StatusAccepted {
			t.Fatalf("post %s: %d %s", id, resp.Status, resp.Body)
		}
	}
	// Accepted means stored: every delivery is in the outbox, none sent.
	if rows := outboxRows(t, env, wh.ID); len(rows) != len(ids) {
		t.Fatalf("outbox holds %d rows, want %d", len(rows), len(ids))
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rcv.Got()); n != 0 {
		t.Fatalf("receiver got %d requests while the dispatcher was stopped", n)
	}
	// Operators see the queue on /metrics.
	m := env.Do(t, "GET", "/metrics", nil)
	var depth float64
	for _, line := range strings.Split(string(m.Body), "\n") {
		if v, ok := strings.CutPrefix(line, "aqio_webhook_outbox_depth "); ok {
			depth, _ = strconv.ParseFloat(v, 64)
		}
	}
	if depth < float64(len(ids)) {
		t.Fatalf("aqio_webhook_outbox_depth %v, want at least %d", depth, len(ids))
	}

	resume()
	testenv.Eventually(t, 20*time.Second, "all five deliveries", func() bool { return len(rcv.Got()) >= len(ids) })
	time.Sleep(200 * time.Millisecond)
	got := map[string]int{}
	for _, id := range rcv.IDs() {
		got[id]++
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("webhook-id %s received %d times (all: %v)", id, got[id], rcv.IDs())
		}
	}
	if rows := outboxRows(t, env, wh.ID); len(rows) != 0 {
		t.Fatalf("outbox still holds %d rows after dispatch", len(rows))
	}
	// One DeliveryBatch run made all five first attempts.
	var ds []delivery
	testenv.Eventually(t, 10*time.Second, "five attempt rows", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == len(ids) && noneSending(ds)
	})
	for _, d := range ds {
		if d.WorkflowID != ds[0].WorkflowID || d.Status != "success" || !d.IsFinal {
			t.Fatalf("attempts %+v", ds)
		}
	}
	if !strings.HasPrefix(ds[0].WorkflowID, workflows.BatchWorkflowID(wh.ID, "")) {
		t.Fatalf("workflow %s", ds[0].WorkflowID)
	}
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != len(ids) || w.FailedDeliveries != 0 {
		t.Fatalf("counters %+v", w)
	}
}

func TestClaimedBatchOfADeadDispatcherIsStarted(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "stale", "url": rcv.URL, "events": []string{"registration.*"}})
	resume := pauseDispatcher(t, env)
	for _, id := range []string{"stale_1", "stale_2"} {
		if resp := postEvent(t, org, registration(id)); resp.Status != http.StatusAccepted {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
	}
	// A dispatcher claims the rows and dies before starting the workflow.
	batches, err := env.App.Store.ClaimOutbox(context.Background(), 1000, 200, func() string { return "deadbeef-" + wh.ID })
	if err != nil || len(batches) == 0 {
		t.Fatalf("claim: %v %v", batches, err)
	}
	if err := env.App.DB.Model(&models.OutboxEntry{}).Where("webhook_id = ?", wh.ID).
		Update("claimed_at", time.Now().UTC().Add(-time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	// A fresh claim pass does not take them again: they are claimed.
	again, err := env.App.Store.ClaimOutbox(context.Background(), 1000, 200, func() string { return "other" })
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range again {
		if b.WebhookID == wh.ID {
			t.Fatalf("claimed rows claimed twice: %+v", b)
		}
	}

	resume() // the next dispatcher finds the stale claim and starts it under the same id
	testenv.Eventually(t, 20*time.Second, "both deliveries", func() bool { return len(rcv.Got()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	if ids := rcv.IDs(); len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("received %v, want stale_1 and stale_2 once each", ids)
	}
	ds := listDeliveries(t, org, wh.ID, "")
	if len(ds) != 2 || ds[0].WorkflowID != workflows.BatchWorkflowID(wh.ID, "deadbeef-"+wh.ID) {
		t.Fatalf("attempts %+v", ds)
	}
	if rows := outboxRows(t, env, wh.ID); len(rows) != 0 {
		t.Fatalf("outbox still holds %d rows", len(rows))
	}
}

// byIDReceiver answers per webhook-id prefix: ok_ → 200, bad_ → 400,
// flaky_ → 503 the first time, then 200.
type byIDReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

func newByIDReceiver(t *testing.T) *byIDReceiver {
	r := &byIDReceiver{seen: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		r.seen[id]++
		n := r.seen[id]
		r.mu.Unlock()
		switch {
		case strings.HasPrefix(id, "bad_"):
			w.WriteHeader(http.StatusBadRequest)
		case strings.HasPrefix(id, "flaky_") && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *byIDReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id]
}

// A batch hands the messages whose first attempt failed retryably to the
// webhook's endpoint workflow, which makes their retries.
func TestBatchHandsRetriesToTheEndpointWorkflow(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := newByIDReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "mixed", "url": rcv.URL, "events": []string{"registration.*"},
		"retry_count": 2, "retry_delay_seconds": 1})
	resume := pauseDispatcher(t, env)
	for _, id := range []string{"ok_1", "bad_1", "flaky_1"} {
		if resp := postEvent(t, org, registration(id)); resp.Status != http.StatusAccepted {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
	}
	resume()
	testenv.Eventually(t, 30*time.Second, "the flaky message's second attempt", func() bool { return rcv.count("flaky_1") == 2 })

	var ds []delivery
	testenv.Eventually(t, 10*time.Second, "four attempt rows", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == 4 && ds[0].Status == "success"
	})
	byMsg := map[string][]delivery{}
	for _, d := range ds {
		byMsg[d.MessageID] = append(byMsg[d.MessageID], d)
	}
	batch := byMsg["ok_1"][0].WorkflowID
	if !strings.HasPrefix(batch, workflows.BatchWorkflowID(wh.ID, "")) {
		t.Fatalf("ok_1 delivered by %s", batch)
	}
	if b := byMsg["bad_1"]; len(b) != 1 || b[0].WorkflowID != batch || b[0].Status != "failed" || !b[0].IsFinal {
		t.Fatalf("bad_1 attempts %+v", b)
	}
	f := byMsg["flaky_1"] // newest first
	if len(f) != 2 || f[1].WorkflowID != batch || f[1].IsFinal || f[1].NextRetryAt == nil ||
		f[0].WorkflowID != workflows.EndpointWorkflowID(wh.ID) || f[0].RetryNumber != 1 || !f[0].IsRetry || f[0].Status != "success" {
		t.Fatalf("flaky_1 attempts %+v", f)
	}
	if rcv.count("ok_1") != 1 || rcv.count("bad_1") != 1 {
		t.Fatalf("ok_1 sent %d times, bad_1 %d times", rcv.count("ok_1"), rcv.count("bad_1"))
	}
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != 3 || w.FailedDeliveries != 1 {
		t.Fatalf("counters %+v", w)
	}

	// Both runs are in Temporal, completed; the endpoint run outlived the batch.
	for _, id := range []string{batch, f[0].WorkflowID} {
		var status enums.WorkflowExecutionStatus
		testenv.Eventually(t, 10*time.Second, "run "+id+" to complete", func() bool {
			desc, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
			if err == nil {
				status = desc.WorkflowExecutionInfo.Status
			}
			return status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
	}
	recordHistories(t, env, map[string]string{"batch_parks_retries.json": batch, "endpoint_after_batch.json": f[0].WorkflowID})
}

// recordHistories writes the runs' histories to $AQIO_RECORD_HISTORIES
// (for workflows/testdata, whose replay test keeps old runs replayable).
func recordHistories(t *testing.T, env *testenv.Env, runs map[string]string) {
	if !testenv.RecordingHistories() {
		return
	}
	for name, id := range runs {
		testenv.RecordHistory(t, env, id, "", name)
	}
}

func TestConcurrentDispatchersClaimEachDeliveryOnce(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	hooks := []webhook{
		createWebhook(t, org, map[string]any{"name": "a", "url": rcv.URL, "events": []string{"registration.*"}}),
		createWebhook(t, org, map[string]any{"name": "b", "url": rcv.URL, "events": []string{"registration.*"}}),
	}
	pauseDispatcher(t, env)
	const events = 150
	var wg sync.WaitGroup
	for i := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp := postEvent(t, org, registration(fmt.Sprintf("cc_%03d", i))); resp.Status != http.StatusAccepted {
				t.Errorf("post: %d %s", resp.Status, resp.Body)
			}
		}()
	}
	wg.Wait()
	// Eight dispatchers (as if eight API replicas) claim at once.
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		batchN  atomic.Int64
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				bs, err := env.App.Store.ClaimOutbox(context.Background(), 40, 25, func() string {
					return fmt.Sprintf("cc-%d", batchN.Add(1))
				})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				n := 0
				mu.Lock()
				for _, b := range bs {
					if b.OrganizationID != org.ID || len(b.EventIDs) > 25 {
						t.Errorf("batch %+v", b)
					}
					for _, e := range b.EventIDs {
						claimed[b.WebhookID+"/"+e]++
					}
					n += len(b.EventIDs)
				}
				mu.Unlock()
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 2*events {
		t.Fatalf("%d deliveries claimed, want %d", len(claimed), 2*events)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Fatalf("%s claimed %d times", k, n)
		}
	}
	for _, h := range hooks {
		if rows := outboxRows(t, env, h.ID); len(rows) != events {
			t.Fatalf("webhook %s: %d outbox rows left claimed, want %d", h.ID, len(rows), events)
		}
	}
	// Leave nothing behind for the other tests' dispatcher.
	if err := env.App.DB.Where("organization_id = ?", org.ID).Delete(&models.OutboxEntry{}).Error; err != nil {
		t.Fatal(err)
	}
}

// downTemporal is a Temporal client whose workflow starts fail, as when
// the Temporal frontend is unreachable.
type downTemporal struct {
	webhooks.Starter
	starts atomic.Int64
}

func (d *downTemporal) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, interface{}, ...interface{}) (client.WorkflowRun, error) {
	d.starts.Add(1)
	return nil, serviceerror.NewUnavailable("temporal is down (test)")
}

func TestEventsAcceptedWhileTemporalIsDownAreDeliveredLater(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "down", "url": rcv.URL, "events": []string{"registration.*"}})
	svc := env.App.Webhooks
	real, oldStale := svc.Temporal, svc.StaleClaim
	down := &downTemporal{Starter: real}

	resume := pauseDispatcher(t, env)
	svc.Temporal = down // swapped while no dispatcher runs
	t.Cleanup(func() {
		env.App.Webhooks.StopDispatcher()
		svc.Temporal, svc.StaleClaim = real, oldStale
	})
	resume()
	for _, id := range []string{"down_1", "down_2", "down_3"} {
		if resp := postEvent(t, org, registration(id)); resp.Status != http.StatusAccepted {
			t.Fatalf("post while Temporal is down: %d %s", resp.Status, resp.Body)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the dispatcher to try and fail", func() bool {
		rows := outboxRows(t, env, wh.ID)
		return down.starts.Load() > 0 && len(rows) == 3 && rows[0].BatchID != nil
	})
	if n := len(rcv.Got()); n != 0 {
		t.Fatalf("receiver got %d requests while Temporal was down", n)
	}

	// Temporal is back: the claimed batch is started again once its claim
	// is stale, under the same id, and every event arrives once.
	env.App.Webhooks.StopDispatcher()
	svc.Temporal, svc.StaleClaim = real, time.Second
	env.App.Webhooks.StartDispatcher(env.App.Logger)
	testenv.Eventually(t, 20*time.Second, "the three deliveries", func() bool { return len(rcv.Got()) >= 3 })
	time.Sleep(300 * time.Millisecond)
	got := map[string]int{}
	for _, id := range rcv.IDs() {
		got[id]++
	}
	if len(got) != 3 || got["down_1"] != 1 || got["down_2"] != 1 || got["down_3"] != 1 {
		t.Fatalf("received %v", rcv.IDs())
	}
	testenv.Eventually(t, 5*time.Second, "the outbox to empty", func() bool { return len(outboxRows(t, env, wh.ID)) == 0 })
}
