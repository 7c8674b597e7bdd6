package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/eventtypes"
)

// warmUp events go first through the main webhook (connections, caches).
const warmUp = 20

type arrival struct {
	id     string
	at     time.Time
	status int
}

// receiver is an HTTP endpoint that answers 204 (or what status says)
// and records every request: the first 2xx arrival per webhook-id, the
// 2xx repeats (duplicates), and every request in order.
type receiver struct {
	mu       sync.Mutex
	first    map[string]time.Time
	oks      map[string]int
	dups     int
	requests int
	arrivals []arrival
	status   func(id string, attempt int) int // nil: 204
	tries    map[string]int
	want     int
	done     chan struct{}
}

func newReceiver() *receiver {
	return &receiver{first: map[string]time.Time{}, oks: map[string]int{}, tries: map[string]int{}, done: make(chan struct{})}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	now := time.Now()
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.tries[id]++
	status := http.StatusNoContent
	if r.status != nil {
		status = r.status(id, r.tries[id])
	}
	r.requests++
	r.arrivals = append(r.arrivals, arrival{id: id, at: now, status: status})
	if status < 300 {
		r.oks[id]++
		if _, seen := r.first[id]; seen {
			r.dups++
		} else {
			r.first[id] = now
			if len(r.first) == r.want {
				close(r.done)
			}
		}
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

// expect arms done for n more distinct deliveries.
func (r *receiver) expect(n int) {
	r.mu.Lock()
	r.done = make(chan struct{})
	r.want = len(r.first) + n
	if n == 0 {
		close(r.done)
	}
	r.mu.Unlock()
}

// expectTotal waits for n messages in all on this receiver (a workload's
// own receiver), counting those that arrived while the events were still
// being sent (a throttled or ordered webhook delivers during the send).
func (r *receiver) expectTotal(n int) {
	r.mu.Lock()
	r.done = make(chan struct{})
	r.want = n
	if len(r.first) >= n {
		close(r.done)
	}
	r.mu.Unlock()
}

func (r *receiver) wait(ctx context.Context, within time.Duration) error {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(within):
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Errorf("%d of %d deliveries arrived within %s", len(r.first), r.want, within)
	}
}

func (r *receiver) at(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

type runner struct {
	ctx          context.Context
	st           *stack
	opts         Options
	progress     io.Writer
	httpc        *http.Client
	main         *receiver
	servers      []*httptest.Server
	ingestErrors atomic.Int64
	tc           client.Client
}

func newRunner(ctx context.Context, st *stack, opts Options, progress io.Writer) *runner {
	return &runner{ctx: ctx, st: st, opts: opts, progress: progress,
		httpc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 60 * time.Second}}
}

func (r *runner) close() {
	for _, s := range r.servers {
		s.Close()
	}
	if r.tc != nil {
		r.tc.Close()
	}
}

func (r *runner) serve(rcv *receiver) string {
	s := httptest.NewServer(rcv)
	r.servers = append(r.servers, s)
	return s.URL
}

func (r *runner) call(method, path string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(r.ctx, method, r.st.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("X-Aqio-Organization-Id", "org_bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.httpc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, nil
}

// createWebhook creates a webhook; a 4xx is returned as (id "", body).
func (r *runner) createWebhook(spec map[string]any) (string, string, error) {
	code, body, err := r.call("POST", "/api/webhooks", spec)
	if err != nil {
		return "", "", err
	}
	if code >= 400 && code < 500 {
		return "", string(body), nil
	}
	if code != http.StatusCreated {
		return "", "", fmt.Errorf("create webhook: %d %s", code, body)
	}
	var w struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &w); err != nil || w.ID == "" {
		return "", "", fmt.Errorf("create webhook: no id in %s", body)
	}
	return w.ID, "", nil
}

// mainEvent is the registration.created event of the burst and steady phases.
func mainEvent(id string) map[string]any {
	return map[string]any{"id": id, "type": "registration.created", "data": map[string]any{"object": map[string]any{
		"id": "reg_" + id, "event_id": "evt_bench", "user_email": "bench@example.com", "registered_at": "2026-11-29T10:00:00Z",
	}}}
}

// exampleEvent is an event of type typ whose object is the catalog's example.
func exampleEvent(typ, id string) map[string]any {
	obj := map[string]any{}
	for _, t := range eventtypes.All() {
		if t.Name == typ {
			_ = json.Unmarshal(t.Example, &obj)
		}
	}
	obj["id"] = "obj_" + id
	return map[string]any{"id": id, "type": typ, "data": map[string]any{"object": obj}}
}

func (r *runner) post(ev map[string]any) bool {
	code, _, err := r.call("POST", "/api/events", ev)
	if err != nil || code != http.StatusAccepted {
		r.ingestErrors.Add(1)
		return false
	}
	return true
}

// send posts n events from opts.Senders concurrent senders; it returns
// how long that took and how many were accepted.
func (r *runner) send(n int, mk func(i int) map[string]any) (time.Duration, int) {
	var next, ok atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < r.opts.Senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if r.post(mk(int(i))) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), int(ok.Load())
}

// paced posts n events evenly over d (each in its own goroutine, so a
// slow answer does not delay the next send); sent[i] is when event i went.
func (r *runner) paced(n int, d time.Duration, mk func(i int) map[string]any) (sent []time.Time, accepted int) {
	sent = make([]time.Time, n)
	interval := d / time.Duration(n)
	var ok atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
		sent[i] = time.Now()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if r.post(mk(i)) {
				ok.Add(1)
			}
		}(i)
	}
	wg.Wait()
	return sent, int(ok.Load())
}

func (r *runner) prepare() error {
	r.main = newReceiver()
	id, rejected, err := r.createWebhook(map[string]any{
		"name": "bench", "url": r.serve(r.main), "events": []string{"registration.*"}, "retry_delay_seconds": 1,
	})
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("create webhook: %s", rejected)
	}
	r.main.expect(warmUp)
	for i := 0; i < warmUp; i++ {
		if code, body, err := r.call("POST", "/api/events", mainEvent(fmt.Sprintf("warm_%d", i))); err != nil || code != http.StatusAccepted {
			return fmt.Errorf("warm-up: %d %s %v", code, body, err)
		}
	}
	return r.main.wait(r.ctx, 2*time.Minute)
}

// ingest: events no webhook subscribes to (stored, nothing started).
func (r *runner) ingest(res *Result) error {
	took, _ := r.send(r.opts.Burst, func(i int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("quiet_%d", i), "type": "invitation.sent",
			"data": map[string]any{"object": map[string]any{"id": fmt.Sprintf("inv_%d", i)}}}
	})
	res.IngestNoSubsPerSec = float64(r.opts.Burst) / took.Seconds()
	fmt.Fprintf(r.progress, "ingest without subscribers: %.0f/s\n", res.IngestNoSubsPerSec)
	return nil
}

// burst: opts.Burst events from opts.Senders senders.
func (r *runner) burst(res *Result) error {
	fmt.Fprintf(r.progress, "burst: %d events, %d senders\n", r.opts.Burst, r.opts.Senders)
	res.BurstEvents = r.opts.Burst
	r.main.expect(r.opts.Burst)
	cpu0, pg0 := r.st.cpu(), postgresCPU()
	start := time.Now()
	ingested, _ := r.send(r.opts.Burst, func(i int) map[string]any { return mainEvent(fmt.Sprintf("burst_%d", i)) })
	res.IngestPerSec = float64(r.opts.Burst) / ingested.Seconds()
	if err := r.main.wait(r.ctx, 5*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	cpu1, pg1 := r.st.cpu(), postgresCPU()
	res.BurstSeconds = took.Seconds()
	res.BurstDeliveries = float64(r.opts.Burst) / took.Seconds()
	res.BurstCPU = cpuPer1000(cpu0, cpu1, r.opts.Burst)
	if r.pgInUse() {
		res.BurstPostgresCPU = round2((pg1 - pg0) / float64(r.opts.Burst) * 1000)
	}
	fmt.Fprintf(r.progress, "burst: ingest %.0f/s, delivered in %.2fs (%.0f/s), CPU-s per 1,000: %s\n",
		res.IngestPerSec, took.Seconds(), res.BurstDeliveries, FormatCPU(res.BurstCPU))
	return nil
}

func (r *runner) pgInUse() bool {
	return r.opts.Shape == ShapeProduction || r.opts.AppPostgres != "" || r.opts.TemporalPostgres != nil
}

// steady: opts.SteadyRate events/s for opts.SteadyFor, latency send → receipt.
func (r *runner) steady(res *Result) error {
	n := int(float64(r.opts.SteadyRate) * r.opts.SteadyFor.Seconds())
	res.SteadyEvents = n
	fmt.Fprintf(r.progress, "steady: %d events/s for %s\n", r.opts.SteadyRate, r.opts.SteadyFor)
	r.main.expect(n)
	cpu0, pg0 := r.st.cpu(), postgresCPU()
	sent, _ := r.paced(n, r.opts.SteadyFor, func(i int) map[string]any { return mainEvent(fmt.Sprintf("steady_%d", i)) })
	if err := r.main.wait(r.ctx, 2*time.Minute); err != nil {
		return err
	}
	cpu1, pg1 := r.st.cpu(), postgresCPU()
	res.SteadyCPU = cpuPer1000(cpu0, cpu1, n)
	if r.pgInUse() {
		res.SteadyPostgresCPU = round2((pg1 - pg0) / float64(n) * 1000)
	}
	lat := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if at, ok := r.main.at(fmt.Sprintf("steady_%d", i)); ok {
			lat = append(lat, float64(at.Sub(sent[i]).Microseconds())/1000)
		}
	}
	if len(lat) == 0 {
		return fmt.Errorf("no steady event arrived")
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
	res.P50MS, res.P95MS, res.P99MS, res.MaxMS = pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]
	fmt.Fprintf(r.progress, "steady: p50 %.1f ms, p99 %.1f ms, CPU-s per 1,000: %s\n", res.P50MS, res.P99MS, FormatCPU(res.SteadyCPU))
	return nil
}

// OutageResult is the outage workload's report.
type OutageResult struct {
	Events        int     `json:"events"`
	Accepted      int     `json:"accepted"`
	OutageSeconds float64 `json:"outage_seconds"`
	// RequestsDuringOutage is every request the endpoint got while it
	// answered 503.
	RequestsDuringOutage int `json:"requests_during_outage"`
	// DrainSeconds is from the endpoint's recovery until every accepted
	// event was delivered.
	DrainSeconds float64 `json:"recovery_to_all_delivered_s"`
	// AttemptsPerMessage counts every request the endpoint got (503s and
	// the delivery) per accepted event.
	AttemptsPerMessage float64 `json:"attempts_per_message"`
	Duplicates         int     `json:"duplicates"`
	Lost               int     `json:"lost"`
	// Executions are the workflow executions created meanwhile: those
	// carrying the webhook's AqioWebhookId, and every new one in the
	// namespace (visibility, read 2 s after the drain).
	WebhookExecutions   int64              `json:"webhook_workflow_executions"`
	NamespaceExecutions int64              `json:"namespace_workflow_executions"`
	CPU                 map[string]float64 `json:"cpu_s_per_1000"`
}

func (r *runner) temporal() (client.Client, error) {
	if r.tc != nil {
		return r.tc, nil
	}
	c, err := client.Dial(client.Options{HostPort: r.st.temporal, Namespace: r.st.namespace})
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s: %w", r.st.temporal, err)
	}
	r.tc = c
	return c, nil
}

func (r *runner) countExecutions(query string) (int64, error) {
	c, err := r.temporal()
	if err != nil {
		return 0, err
	}
	resp, err := c.CountWorkflow(r.ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: r.st.namespace, Query: query})
	if err != nil {
		return 0, fmt.Errorf("count workflow executions %q: %w", query, err)
	}
	return resp.GetCount(), nil
}

// outage: the endpoint answers 503 for OutageFor while OutageEvents
// arrive evenly over that time, then recovers.
func (r *runner) outage() (*OutageResult, error) {
	out := &OutageResult{Events: r.opts.OutageEvents, OutageSeconds: r.opts.OutageFor.Seconds()}
	rcv := newReceiver()
	var down atomic.Bool
	var duringOutage atomic.Int64
	rcv.status = func(string, int) int {
		if down.Load() {
			duringOutage.Add(1)
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	id, rejected, err := r.createWebhook(map[string]any{
		"name": "bench-outage", "url": r.serve(rcv), "events": []string{"payment.*"},
		"retry_delay_seconds": 1, "retry_count": 10,
	})
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("create webhook: %s", rejected)
	}
	before, err := r.countExecutions("")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.progress, "outage: endpoint down for %s while %d events arrive\n", r.opts.OutageFor, r.opts.OutageEvents)
	cpu0 := r.st.cpu()
	down.Store(true)
	t0 := time.Now()
	// Events arrive over the outage's first 90 %, so the last ones meet
	// the endpoint down too.
	_, accepted := r.paced(r.opts.OutageEvents, r.opts.OutageFor*9/10, func(i int) map[string]any {
		return exampleEvent("payment.completed", fmt.Sprintf("outage_%d", i))
	})
	out.Accepted = accepted
	rcv.expectTotal(accepted)
	time.Sleep(time.Until(t0.Add(r.opts.OutageFor)))
	down.Store(false)
	recovered := time.Now()
	out.RequestsDuringOutage = int(duringOutage.Load())
	fmt.Fprintf(r.progress, "outage: recovered; %d requests arrived during the outage\n", out.RequestsDuringOutage)
	if err := rcv.wait(r.ctx, 10*time.Minute); err != nil {
		return out, err
	}
	out.DrainSeconds = round2(time.Since(recovered).Seconds())
	cpu1 := r.st.cpu()
	out.CPU = cpuPer1000(cpu0, cpu1, accepted)
	time.Sleep(2 * time.Second) // visibility is written after the runs close
	rcv.mu.Lock()
	out.AttemptsPerMessage = round2(float64(rcv.requests) / float64(accepted))
	out.Duplicates = rcv.dups
	out.Lost = accepted - len(rcv.first)
	rcv.mu.Unlock()
	if out.WebhookExecutions, err = r.countExecutions(fmt.Sprintf("AqioWebhookId = '%s'", id)); err != nil {
		return out, err
	}
	after, err := r.countExecutions("")
	if err != nil {
		return out, err
	}
	out.NamespaceExecutions = after - before
	fmt.Fprintf(r.progress, "outage: all delivered %.2fs after recovery, %.2f requests per message, %d workflow executions for the webhook\n",
		out.DrainSeconds, out.AttemptsPerMessage, out.WebhookExecutions)
	return out, nil
}

// webhookFields are the request properties of POST /api/webhooks in the
// served OpenAPI document (name → JSON type).
func (r *runner) webhookFields() (map[string]string, error) {
	code, body, err := r.call("GET", "/api/openapi.json", nil)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("GET /api/openapi.json: %d %v", code, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	get := func(m any, keys ...string) any {
		for _, k := range keys {
			mm, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = mm[k]
		}
		return m
	}
	fields := map[string]string{}
	var walk func(s any, depth int)
	walk = func(s any, depth int) {
		if depth > 8 {
			return
		}
		if ref, ok := get(s, "$ref").(string); ok {
			walk(get(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...), depth+1)
		}
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if list, ok := get(s, k).([]any); ok {
				for _, e := range list {
					walk(e, depth+1)
				}
			}
		}
		if props, ok := get(s, "properties").(map[string]any); ok {
			for name, p := range props {
				t, _ := get(p, "type").(string)
				fields[name] = t
			}
		}
	}
	walk(get(doc, "paths", "/api/webhooks", "post", "requestBody", "content", "application/json", "schema"), 0)
	if len(fields) == 0 {
		return nil, fmt.Errorf("openapi.json: no request properties for POST /api/webhooks")
	}
	return fields, nil
}

// ThrottleResult is the throttle workload's report.
type ThrottleResult struct {
	Supported bool   `json:"supported"`
	Note      string `json:"note,omitempty"`
	Limit     int    `json:"max_deliveries_per_second"`
	Events    int    `json:"events"`
	// Achieved is deliveries per second from the first to the last
	// receipt; MaxWindow the most deliveries in any one-second window.
	Achieved   float64 `json:"achieved_per_sec"`
	Deviation  float64 `json:"deviation_percent"`
	MaxWindow  int     `json:"max_in_any_second"`
	Duplicates int     `json:"duplicates"`
}

// throttle: a webhook with max_deliveries_per_second gets ThrottleEvents
// at once; the receipts' rate is measured.
func (r *runner) throttle() (*ThrottleResult, error) {
	out := &ThrottleResult{Limit: r.opts.ThrottleRate, Events: r.opts.ThrottleEvents}
	fields, err := r.webhookFields()
	if err != nil {
		return nil, err
	}
	if _, ok := fields["max_deliveries_per_second"]; !ok {
		out.Note = "not supported by this build: POST /api/webhooks has no max_deliveries_per_second"
		fmt.Fprintln(r.progress, "throttle:", out.Note)
		return out, nil
	}
	rcv := newReceiver()
	id, rejected, err := r.createWebhook(map[string]any{
		"name": "bench-throttle", "url": r.serve(rcv), "events": []string{"event.*"},
		"retry_delay_seconds": 1, "max_deliveries_per_second": r.opts.ThrottleRate,
	})
	if err != nil {
		return nil, err
	}
	if id == "" {
		out.Note = "not supported by this build: the API refused max_deliveries_per_second: " + rejected
		fmt.Fprintln(r.progress, "throttle:", out.Note)
		return out, nil
	}
	out.Supported = true
	fmt.Fprintf(r.progress, "throttle: %d events at once to a webhook limited to %d/s\n", out.Events, out.Limit)
	_, accepted := r.send(out.Events, func(i int) map[string]any {
		return exampleEvent("event.created", fmt.Sprintf("throttle_%d", i))
	})
	rcv.expectTotal(accepted)
	// At the limit the burst takes accepted/limit seconds; a throttle
	// that is much slower is reported, not waited for.
	if err := rcv.wait(r.ctx, time.Duration(accepted/out.Limit*3/2+30)*time.Second); err != nil {
		if r.ctx.Err() != nil {
			return out, err
		}
		out.Note = err.Error()
	}
	rcv.mu.Lock()
	times := make([]time.Time, 0, len(rcv.first))
	for _, t := range rcv.first {
		times = append(times, t)
	}
	out.Duplicates = rcv.dups
	rcv.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if len(times) > 1 {
		out.Achieved = round2(float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Seconds())
		out.Deviation = round2((out.Achieved/float64(out.Limit) - 1) * 100)
	}
	out.MaxWindow = maxInSecond(times)
	fmt.Fprintf(r.progress, "throttle: %.1f/s achieved (%+.1f %%), at most %d in one second\n", out.Achieved, out.Deviation, out.MaxWindow)
	return out, nil
}

// OrderedResult is the ordered workload's report.
type OrderedResult struct {
	Supported bool   `json:"supported"`
	Note      string `json:"note,omitempty"`
	Field     string `json:"field,omitempty"`
	Events    int    `json:"events"`
	// Refused is how many requests the receiver answered 503 (the first
	// try of every 25th message), so retries happen.
	Refused int `json:"refused_first_tries"`
	// Violations counts requests for message n that arrived before some
	// message m < n had been delivered.
	Violations int     `json:"order_violations"`
	Duplicates int     `json:"duplicates"`
	Seconds    float64 `json:"seconds"`
}

// ordered: OrderedEvents sent one after another to an ordered webhook
// whose endpoint refuses the first try of every 25th; no message may be
// sent before every earlier one is delivered.
func (r *runner) ordered() (*OrderedResult, error) {
	out := &OrderedResult{Events: r.opts.OrderedEvents}
	fields, err := r.webhookFields()
	if err != nil {
		return nil, err
	}
	for name, typ := range fields {
		if typ == "boolean" && (strings.Contains(name, "order") || strings.Contains(name, "fifo")) {
			out.Field = name
		}
	}
	if out.Field == "" {
		out.Note = "not supported by this build: POST /api/webhooks has no boolean ordered/fifo field"
		fmt.Fprintln(r.progress, "ordered:", out.Note)
		return out, nil
	}
	seq := func(id string) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "ordered_"))
		return n
	}
	rcv := newReceiver()
	rcv.status = func(id string, attempt int) int {
		if seq(id)%25 == 7 && attempt == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	id, rejected, err := r.createWebhook(map[string]any{
		"name": "bench-ordered", "url": r.serve(rcv), "events": []string{"invitation.accepted"},
		"retry_delay_seconds": 1, "retry_count": 10, out.Field: true,
	})
	if err != nil {
		return nil, err
	}
	if id == "" {
		out.Note = "not supported by this build: the API refused " + out.Field + ": " + rejected
		fmt.Fprintln(r.progress, "ordered:", out.Note)
		return out, nil
	}
	out.Supported = true
	fmt.Fprintf(r.progress, "ordered: %d events, one at a time, to a webhook with %s=true\n", out.Events, out.Field)
	start := time.Now()
	accepted := 0
	skip := map[int]bool{} // refused by the API: not part of the order
	for i := 0; i < out.Events; i++ {
		if r.post(exampleEvent("invitation.accepted", fmt.Sprintf("ordered_%05d", i))) {
			accepted++
		} else {
			skip[i] = true
		}
	}
	rcv.expectTotal(accepted)
	if err := rcv.wait(r.ctx, time.Duration(accepted/10+60)*time.Second); err != nil {
		if r.ctx.Err() != nil {
			return out, err
		}
		out.Note = err.Error()
	}
	out.Seconds = round2(time.Since(start).Seconds())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	out.Violations, out.Refused = orderViolations(rcv.arrivals, seq, skip)
	out.Duplicates = rcv.dups
	fmt.Fprintf(r.progress, "ordered: %d order violations, %d refused first tries, %d duplicates\n", out.Violations, out.Refused, out.Duplicates)
	return out, nil
}

// orderViolations counts the requests for a message n that arrived while
// some message m < n (not in skip) was not yet delivered (2xx), and the
// refused (non-2xx) requests.
func orderViolations(arrivals []arrival, seq func(id string) int, skip map[int]bool) (violations, refused int) {
	delivered := map[int]bool{}
	lowestMissing := 0
	for skip[lowestMissing] {
		lowestMissing++
	}
	for _, a := range arrivals {
		n := seq(a.id)
		if n > lowestMissing {
			violations++
		}
		if a.status >= 300 {
			refused++
			continue
		}
		delivered[n] = true
		for delivered[lowestMissing] || skip[lowestMissing] {
			lowestMissing++
		}
	}
	return violations, refused
}

// maxInSecond is the most of the sorted times that fall in any window of
// one second.
func maxInSecond(times []time.Time) int {
	best := 0
	for i, j := 0, 0; i < len(times); i++ {
		for times[i].Sub(times[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// FanoutResult is the fan-out workload: FanoutEvents events, each
// delivered to FanoutEndpoints webhooks (their own receivers).
type FanoutResult struct {
	Endpoints  int                `json:"endpoints"`
	Events     int                `json:"events"`
	Deliveries int                `json:"deliveries"`
	Seconds    float64            `json:"seconds"`
	PerSec     float64            `json:"deliveries_per_sec"`
	Duplicates int                `json:"duplicates"`
	Lost       int                `json:"lost"`
	CPU        map[string]float64 `json:"cpu_s_per_1000"`
}

// Fan-out sizes (issue 15: 10 endpoints × 200 events).
const (
	FanoutEndpoints = 10
	FanoutEvents    = 200
)

// fanout: FanoutEvents events from opts.Senders senders, each subscribed
// by FanoutEndpoints webhooks; from the first send to the last receipt.
func (r *runner) fanout() (*FanoutResult, error) {
	out := &FanoutResult{Endpoints: FanoutEndpoints, Events: FanoutEvents, Deliveries: FanoutEndpoints * FanoutEvents}
	rcvs := make([]*receiver, FanoutEndpoints)
	for i := range rcvs {
		rcvs[i] = newReceiver()
		id, rejected, err := r.createWebhook(map[string]any{
			"name": fmt.Sprintf("bench-fanout-%d", i), "url": r.serve(rcvs[i]), "events": []string{"user.joined_organization"},
		})
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("create webhook: %s", rejected)
		}
		rcvs[i].expectTotal(FanoutEvents)
	}
	fmt.Fprintf(r.progress, "fanout: %d events to %d endpoints\n", FanoutEvents, FanoutEndpoints)
	cpu0 := r.st.cpu()
	start := time.Now()
	r.send(FanoutEvents, func(i int) map[string]any {
		return exampleEvent("user.joined_organization", fmt.Sprintf("fanout_%d", i))
	})
	for _, rcv := range rcvs {
		if err := rcv.wait(r.ctx, 5*time.Minute); err != nil {
			return out, err
		}
	}
	took := time.Since(start)
	out.CPU = cpuPer1000(cpu0, r.st.cpu(), out.Deliveries)
	out.Seconds = round2(took.Seconds())
	out.PerSec = round2(float64(out.Deliveries) / took.Seconds())
	for _, rcv := range rcvs {
		rcv.mu.Lock()
		out.Duplicates += rcv.dups
		out.Lost += FanoutEvents - len(rcv.first)
		rcv.mu.Unlock()
	}
	fmt.Fprintf(r.progress, "fanout: %d deliveries in %.2fs (%.0f/s)\n", out.Deliveries, out.Seconds, out.PerSec)
	return out, nil
}
