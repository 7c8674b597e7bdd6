package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// livePump returns the owner of the webhook's live pump lease ("" none).
func livePump(t *testing.T, env *testenv.Env, webhookID string) string {
	t.Helper()
	live, err := env.App.Store.LivePumps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return live[webhookID]
}

// pumpStatus is the status of the webhook's latest pump run.
func pumpStatus(t *testing.T, env *testenv.Env, webhookID string) enums.WorkflowExecutionStatus {
	t.Helper()
	d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.PumpWorkflowID(webhookID), "")
	if err != nil {
		return enums.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// pumpSetup is where every pump test starts: an organization with one
// webhook (the name given, registration.* events) that posts to a fresh
// receiver.
func pumpSetup(t *testing.T, name string) (*testenv.Env, *testenv.Org, *testenv.Receiver, webhook) {
	t.Helper()
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": name, "url": rcv.URL, "events": []string{"registration.*"}})
	return env, org, rcv, wh
}

// postRegistration posts the registration event id, which must be
// accepted (202: in the outbox).
func postRegistration(t *testing.T, org *testenv.Org, id string) {
	t.Helper()
	if resp := postEvent(t, org, registration(id)); resp.Status != http.StatusAccepted {
		t.Fatalf("post %s: %d %s", id, resp.Status, resp.Body)
	}
}

// startPump starts the webhook's pump run by hand (or joins the running
// one), with the dispatcher's ID, queue and search attributes.
func startPump(t *testing.T, env *testenv.Env, in activities.PumpInput) client.WorkflowRun {
	t.Helper()
	run, err := env.App.Temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.PumpWorkflowID(in.WebhookID), TaskQueue: workflows.WebhooksQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    workflows.EndpointAttributes(in.OrganizationID, in.WebhookID),
	}, workflows.Pump, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// runDispatcher makes sure the app's dispatcher runs (a test before may
// have left it stopped).
func runDispatcher(env *testenv.Env) { env.App.Webhooks.StartDispatcher(env.App.Logger) }

func TestPumpDeliversQuietTrafficUnderItsRun(t *testing.T) {
	env, org, rcv, wh := pumpSetup(t, "pump")
	runDispatcher(env)

	// The first message goes out as a DeliveryBatch; handing it over starts the pump.
	postRegistration(t, org, "pump_0")
	testenv.Eventually(t, 30*time.Second, "the pump's lease", func() bool { return livePump(t, env, wh.ID) != "" })
	ids := []string{"pump_1", "pump_2", "pump_3", "pump_4"}
	// No Temporal call per message: the pump run's history does not grow
	// while it delivers (heartbeats write no events).
	histBefore := historyLength(t, env, workflows.PumpWorkflowID(wh.ID))
	for i, id := range ids {
		postRegistration(t, org, id)
		testenv.Eventually(t, 20*time.Second, "delivery of "+id, func() bool { return len(rcv.Got()) >= i+2 })
	}
	if after := historyLength(t, env, workflows.PumpWorkflowID(wh.ID)); after != histBefore {
		t.Fatalf("the pump run's history grew from %d to %d events over %d messages", histBefore, after, len(ids))
	}
	var ds []delivery
	testenv.Eventually(t, 10*time.Second, "five attempt rows", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == 5 && noneSending(ds)
	})
	desc, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflows.PumpWorkflowID(wh.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	pumpRun := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	byMsg := map[string]delivery{}
	for _, d := range ds {
		byMsg[d.MessageID] = d
	}
	if d := byMsg["pump_0"]; !strings.HasPrefix(d.WorkflowID, workflows.BatchWorkflowID(wh.ID, "")) {
		t.Fatalf("first message's attempt %+v, want a DeliveryBatch run", d)
	}
	for _, id := range ids {
		d := byMsg[id]
		if d.WorkflowID != workflows.PumpWorkflowID(wh.ID) || d.RunID != pumpRun || d.Status != "success" || !d.IsFinal {
			t.Fatalf("attempt of %s %+v, want a success of pump run %s", id, d, pumpRun)
		}
		var one delivery
		org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries/"+d.ID, nil).JSON(t, &one)
		if one.TemporalURL == nil || !strings.Contains(*one.TemporalURL, workflows.PumpWorkflowID(wh.ID)+"/"+pumpRun) {
			t.Fatalf("temporal_url of %s: %v", id, one.TemporalURL)
		}
	}
	got := map[string]int{}
	for _, id := range rcv.IDs() {
		got[id]++
	}
	for _, id := range append([]string{"pump_0"}, ids...) {
		if got[id] != 1 {
			t.Fatalf("%s received %d times (%v)", id, got[id], rcv.IDs())
		}
	}
	if rows := outboxRows(t, env, wh.ID); len(rows) != 0 {
		t.Fatalf("outbox still holds %d rows", len(rows))
	}
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != 5 || w.FailedDeliveries != 0 {
		t.Fatalf("counters %+v", w)
	}
	// The pump shows per webhook in the Temporal UI (search attributes).
	q := fmt.Sprintf("%s = %q AND WorkflowType = 'Pump'", workflows.AttrWebhookID.GetName(), wh.ID)
	testenv.Eventually(t, 10*time.Second, "the pump in visibility", func() bool {
		resp, err := env.App.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: env.Temporal.Namespace(), Query: q})
		return err == nil && len(resp.GetExecutions()) > 0
	})
	cancelPump(t, env, wh.ID)
}

// historyLength counts the events of a workflow's latest run.
func historyLength(t *testing.T, env *testenv.Env, workflowID string) int {
	t.Helper()
	iter := env.App.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for iter.HasNext() {
		if _, err := iter.Next(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// cancelPump ends a test's pump (its lease is released when it stops).
func cancelPump(t *testing.T, env *testenv.Env, webhookID string) {
	t.Helper()
	_ = env.App.Temporal.CancelWorkflow(context.Background(), workflows.PumpWorkflowID(webhookID), "")
	testenv.Eventually(t, 60*time.Second, "the pump to stop", func() bool {
		return pumpStatus(t, env, webhookID) != enums.WORKFLOW_EXECUTION_STATUS_RUNNING && livePump(t, env, webhookID) == ""
	})
}

func TestPumpAndDispatcherNeverClaimARowTwice(t *testing.T) {
	env, org, rcv, wh := pumpSetup(t, "race")
	resume := pauseDispatcher(t, env)
	const n = 300
	var want []string
	for i := range n {
		id := fmt.Sprintf("race_%03d", i)
		want = append(want, id)
		postRegistration(t, org, id)
	}
	// Both claims at once, many times over: a dispatcher's (no lease yet)
	// and pumps' of the same webhook.
	ctx := context.Background()
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
		errs    []error
	)
	take := func(ids []string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		for _, id := range ids {
			claimed[id]++
		}
	}
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for k := range 10 {
				rows, err := env.App.Store.ClaimPumpRows(ctx, wh.ID, store.PumpBatchID(fmt.Sprintf("run%d.1.t", g), k), 20)
				var ids []string
				for _, r := range rows {
					ids = append(ids, r.EventID)
				}
				take(ids, err)
			}
		}()
		go func() {
			defer wg.Done()
			for range 5 {
				bs, err := env.App.Store.ClaimOutbox(ctx, 15, 200, func() string { return fmt.Sprintf("race-%d-%d", g, time.Now().UnixNano()) })
				var ids []string
				for _, b := range bs {
					if b.WebhookID == wh.ID {
						ids = append(ids, b.EventIDs...)
					}
				}
				take(ids, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("claims failed: %v", errs)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Fatalf("row %s claimed %d times", id, c)
		}
	}
	// Release what was claimed, then let a pump and the dispatcher race
	// for real: each message reaches the receiver once.
	if err := env.App.DB.Model(&models.OutboxEntry{}).Where("webhook_id = ?", wh.ID).
		Updates(map[string]any{"batch_id": nil, "claimed_at": nil}).Error; err != nil {
		t.Fatal(err)
	}
	startPump(t, env, activities.PumpInput{OrganizationID: org.ID, WebhookID: wh.ID})
	resume()
	testenv.Eventually(t, 60*time.Second, "all deliveries", func() bool { return len(rcv.Got()) >= n })
	testenv.Eventually(t, 30*time.Second, "an empty outbox", func() bool { return len(outboxRows(t, env, wh.ID)) == 0 })
	got := map[string]int{}
	for _, id := range rcv.IDs() {
		got[id]++
	}
	for _, id := range want {
		if got[id] != 1 {
			t.Fatalf("%s received %d times", id, got[id])
		}
	}
	cancelPump(t, env, wh.ID)
}

func TestRowsOfAPumpThatDiedAreDeliveredOnceByTheDispatcher(t *testing.T) {
	env, org, rcv, wh := pumpSetup(t, "dead pump")
	resume := pauseDispatcher(t, env)
	ids := []string{"dead_sent", "dead_inflight", "dead_unsent"}
	for _, id := range ids {
		postRegistration(t, org, id)
	}
	// A pump (run "deadrun") takes the lease and claims the rows, records
	// one success (its outbox rows not yet deleted), has one request in
	// flight (pending) — and its worker dies.
	ctx := context.Background()
	owner := store.PumpOwner("deadrun", 1, "tok")
	if ok, err := env.App.Store.AcquirePumpLease(ctx, wh.ID, owner, time.Now().Add(time.Hour)); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	rows, err := env.App.Store.ClaimPumpRows(ctx, wh.ID, store.PumpBatchID(owner, 0), 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("claim: %v %v", rows, err)
	}
	now := time.Now().UTC().Add(-time.Hour)
	for _, a := range []struct {
		id, status string
	}{{"dead_sent", models.DeliverySuccess}, {"dead_inflight", models.DeliveryPending}} {
		ev := a.id
		row := &models.WebhookDelivery{ID: "dlv_" + a.id, WebhookID: wh.ID, OrganizationID: org.ID, EventID: &ev, EventType: "registration.confirmed",
			MessageID: a.id, Payload: "{}", WorkflowID: workflows.PumpWorkflowID(wh.ID), RunID: "deadrun", AttemptedAt: now, Status: a.status}
		if a.status == models.DeliverySuccess {
			row.IsFinal, row.CompletedAt = true, &now
		}
		if err := env.App.DB.Create(row).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := env.App.DB.Model(&models.OutboxEntry{}).Where("webhook_id = ?", wh.ID).Update("claimed_at", now).Error; err != nil {
		t.Fatal(err)
	}
	// While the lease lives, the rows are the pump's, however old the claim.
	stale, err := env.App.Store.StaleOutbox(ctx, time.Now().UTC(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range stale {
		if b.WebhookID == wh.ID {
			t.Fatalf("a live pump's rows are stale: %+v", b)
		}
	}
	// The lease lapses: the dispatcher restarts the rows as a DeliveryBatch
	// that counts the pump's attempts as its own earlier try.
	if err := env.App.DB.Exec("UPDATE webhook_pumps SET lease_until = ? WHERE webhook_id = ?", now, wh.ID).Error; err != nil {
		t.Fatal(err)
	}
	resume()
	testenv.Eventually(t, 30*time.Second, "an empty outbox", func() bool { return len(outboxRows(t, env, wh.ID)) == 0 })
	testenv.Eventually(t, 20*time.Second, "two deliveries", func() bool { return len(rcv.Got()) >= 2 })
	var ds []delivery
	testenv.Eventually(t, 10*time.Second, "settled attempts", func() bool {
		ds = listDeliveries(t, org, wh.ID, "")
		return len(ds) == 4 && noneSending(ds)
	})
	got := map[string]int{}
	for _, id := range rcv.IDs() {
		got[id]++
	}
	if got["dead_sent"] != 0 || got["dead_inflight"] != 1 || got["dead_unsent"] != 1 {
		t.Fatalf("received %v: the recorded success must not be sent again, the others once", got)
	}
	var interrupted models.WebhookDelivery
	if err := env.App.DB.Where("id = ?", "dlv_dead_inflight").Take(&interrupted).Error; err != nil {
		t.Fatal(err)
	}
	if !interrupted.Interrupted || interrupted.Status != models.DeliveryFailed {
		t.Fatalf("the pump's pending attempt %+v, want marked interrupted", interrupted)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	for _, d := range ds {
		if d.RunID == "deadrun" {
			continue
		}
		if !strings.HasPrefix(d.WorkflowID, workflows.BatchWorkflowID(wh.ID, "")) || d.Status != "success" {
			t.Fatalf("restarted attempt %+v", d)
		}
	}
	cancelPump(t, env, wh.ID)
}

func TestDisablingAWebhookCancelsItsPump(t *testing.T) {
	env, org, _, wh := pumpSetup(t, "disable pump")
	runDispatcher(env)
	postRegistration(t, org, "dis_0")
	testenv.Eventually(t, 30*time.Second, "the pump's lease", func() bool { return livePump(t, env, wh.ID) != "" })
	if resp := org.Do(t, "PATCH", "/api/webhooks/"+wh.ID, map[string]any{"is_active": false}); resp.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", resp.Status, resp.Body)
	}
	testenv.Eventually(t, 60*time.Second, "the pump cancelled", func() bool {
		return pumpStatus(t, env, wh.ID) == enums.WORKFLOW_EXECUTION_STATUS_CANCELED
	})
	testenv.Eventually(t, 10*time.Second, "its lease released", func() bool { return livePump(t, env, wh.ID) == "" })
}

func TestIdlePumpEnds(t *testing.T) {
	env, org, rcv, wh := pumpSetup(t, "idle pump")
	runDispatcher(env)
	ctx := context.Background()
	run := startPump(t, env, activities.PumpInput{OrganizationID: org.ID, WebhookID: wh.ID, Idle: 2 * time.Second})
	testenv.Eventually(t, 30*time.Second, "the pump's lease", func() bool { return livePump(t, env, wh.ID) != "" })
	// One message while it runs: the pump delivers it.
	postRegistration(t, org, "idle_1")
	var out workflows.PumpOutcome
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Reason != activities.PumpIdleEnd || out.Delivered != 1 {
		t.Fatalf("pump outcome %+v, want idle after one delivery", out)
	}
	if live := livePump(t, env, wh.ID); live != "" {
		t.Fatalf("an ended pump still holds its lease (%s)", live)
	}
	if ids := rcv.IDs(); len(ids) != 1 || ids[0] != "idle_1" {
		t.Fatalf("received %v", ids)
	}
	recordHistories(t, env, map[string]string{"pump_idle.json": workflows.PumpWorkflowID(wh.ID)})
}
