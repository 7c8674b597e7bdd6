// Package bench measures webhook delivery end to end: ingest, a burst, a
// steady rate, an endpoint outage, a throttled and an ordered endpoint.
// The load generator and the receiver run in the benchmark's process;
// the service runs, by default, as processes of its own — `dev` (shape
// dev) or temporal-server + api + worker on Postgres (shape production)
// — so the CPU time the report gives per 1,000 deliveries is the
// service's alone. Shape inprocess keeps the older single-process run.
// Run it with `go run ./cmd/aqio-connect bench` (docs/BENCHMARKS.md).
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/aqio/connect/devtemporal"
)

// Shape is how the service runs during the measurement.
type Shape string

const (
	// ShapeDev runs `aqio-connect dev` as a child process.
	ShapeDev Shape = "dev"
	// ShapeProduction runs temporal-server, api and worker as child
	// processes on Postgres.
	ShapeProduction Shape = "production"
	// ShapeInProcess runs the service inside the benchmark's process.
	ShapeInProcess Shape = "inprocess"
)

// Workloads, in the order they run.
var Workloads = []string{"ingest", "burst", "steady", "outage", "throttle", "ordered", "fanout"}

// Options size the run.
type Options struct {
	Shape Shape // default dev
	// Binary is the aqio-connect executable the child processes run
	// (default: this executable).
	Binary     string
	Workloads  []string      // default: all of Workloads
	Burst      int           // events in the burst (default 2000)
	Senders    int           // concurrent senders in the burst (default 32)
	SteadyRate int           // events per second in the steady phase (default 50)
	SteadyFor  time.Duration // length of the steady phase (default 20s)
	// OutageFor is how long the endpoint answers 503 (default 30s);
	// OutageEvents arrive meanwhile (default 2000).
	OutageFor    time.Duration
	OutageEvents int
	// ThrottleRate is the throttled webhook's max_deliveries_per_second
	// (default 100); ThrottleEvents are sent at once (default 2000).
	ThrottleRate   int
	ThrottleEvents int
	// OrderedEvents go to the ordered webhook, one at a time (default 300).
	OrderedEvents int
	DataDir       string // logs and databases (default: a temp dir, removed)
	TemporalSync  bool   // inprocess: embedded SQLite synchronous=FULL
	// TemporalPostgres (inprocess only) persists the embedded Temporal
	// server to Postgres instead of SQLite.
	TemporalPostgres *devtemporal.Postgres
	// AppPostgres (dev, inprocess) is a Postgres maintenance URL on whose
	// server the app database aqio_bench_app is dropped and recreated;
	// "" keeps SQLite.
	AppPostgres string
	// Postgres (production) is the maintenance URL of the Postgres the
	// shape runs on.
	Postgres string
}

// Result is what a run measured.
type Result struct {
	Shape    Shape  `json:"shape"`
	CPUScope string `json:"cpu_scope"`
	LoadAvg  string `json:"load_average_at_start"`

	IngestPerSec       float64 `json:"ingest_per_sec"`
	IngestNoSubsPerSec float64 `json:"ingest_unsubscribed_per_sec"`
	BurstEvents        int     `json:"burst_events"`
	BurstDeliveries    float64 `json:"burst_deliveries_per_sec"`
	BurstSeconds       float64 `json:"burst_seconds"`
	// CPU-seconds per 1,000 deliveries, by service process, and of every
	// Postgres process on the machine (shared: other users count too).
	BurstCPU         map[string]float64 `json:"burst_cpu_s_per_1000"`
	BurstPostgresCPU float64            `json:"burst_postgres_cpu_s_per_1000,omitempty"`

	SteadyEvents      int                `json:"steady_events"`
	P50MS             float64            `json:"steady_p50_ms"`
	P95MS             float64            `json:"steady_p95_ms"`
	P99MS             float64            `json:"steady_p99_ms"`
	MaxMS             float64            `json:"steady_max_ms"`
	SteadyCPU         map[string]float64 `json:"steady_cpu_s_per_1000"`
	SteadyPostgresCPU float64            `json:"steady_postgres_cpu_s_per_1000,omitempty"`

	Received     int   `json:"received_unique"`
	Duplicates   int   `json:"received_duplicates"`
	Lost         int   `json:"lost"`
	IngestErrors int64 `json:"ingest_errors"`

	Outage   *OutageResult   `json:"outage,omitempty"`
	Throttle *ThrottleResult `json:"throttle,omitempty"`
	Ordered  *OrderedResult  `json:"ordered,omitempty"`
	Fanout   *FanoutResult   `json:"fanout,omitempty"`
}

// Run starts the service in opts.Shape, runs the workloads and reports.
func Run(ctx context.Context, opts Options, progress io.Writer) (Result, error) {
	if opts.Shape == "" {
		opts.Shape = ShapeDev
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&opts.Burst, 2000)
	def(&opts.Senders, 32)
	def(&opts.SteadyRate, 50)
	def(&opts.OutageEvents, 2000)
	def(&opts.ThrottleRate, 100)
	def(&opts.ThrottleEvents, 2000)
	def(&opts.OrderedEvents, 300)
	if opts.SteadyFor == 0 {
		opts.SteadyFor = 20 * time.Second
	}
	if opts.OutageFor == 0 {
		opts.OutageFor = 30 * time.Second
	}
	if len(opts.Workloads) == 0 {
		opts.Workloads = Workloads
	}
	for _, w := range opts.Workloads {
		if !contains(Workloads, w) {
			return Result{}, fmt.Errorf("unknown workload %q (known: %s)", w, strings.Join(Workloads, ", "))
		}
	}
	if opts.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return Result{}, err
		}
		opts.Binary = exe
	}
	dir := opts.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "aqio-bench-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	res := Result{Shape: opts.Shape, LoadAvg: loadAverage()}
	var st *stack
	var err error
	switch opts.Shape {
	case ShapeInProcess:
		st, err = startInProcess(ctx, opts, dir)
	case ShapeDev:
		st, err = startDev(ctx, opts, dir)
	case ShapeProduction:
		if opts.Postgres == "" {
			return res, fmt.Errorf("shape production needs -postgres (a maintenance URL, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
		}
		st, err = startProduction(ctx, opts, dir)
	default:
		return res, fmt.Errorf("unknown shape %q (dev, production, inprocess)", opts.Shape)
	}
	if err != nil {
		return res, fmt.Errorf("start %s: %w", opts.Shape, err)
	}
	defer st.stop()
	res.CPUScope = st.cpuScope
	fmt.Fprintf(progress, "shape %s: API %s, Temporal %s; load average %s\n", opts.Shape, st.base, st.temporal, res.LoadAvg)

	r := newRunner(ctx, st, opts, progress)
	defer r.close()
	if err := r.prepare(); err != nil {
		return res, err
	}
	for _, w := range opts.Workloads {
		var err error
		switch w {
		case "ingest":
			err = r.ingest(&res)
		case "burst":
			err = r.burst(&res)
		case "steady":
			err = r.steady(&res)
		case "outage":
			res.Outage, err = r.outage()
		case "throttle":
			res.Throttle, err = r.throttle()
		case "ordered":
			res.Ordered, err = r.ordered()
		case "fanout":
			res.Fanout, err = r.fanout()
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", w, err)
		}
	}
	r.main.mu.Lock()
	res.Received = len(r.main.first) - warmUp
	res.Duplicates = r.main.dups
	r.main.mu.Unlock()
	want := 0
	if contains(opts.Workloads, "burst") {
		want += opts.Burst
	}
	if contains(opts.Workloads, "steady") {
		want += res.SteadyEvents
	}
	res.Lost = want - res.Received
	res.IngestErrors = r.ingestErrors.Load()
	return res, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cpuPer1000 turns two cpu() readings into CPU-seconds per 1,000 deliveries.
func cpuPer1000(before, after map[string]float64, deliveries int) map[string]float64 {
	out := map[string]float64{}
	total := 0.0
	for k, v := range after {
		d := (v - before[k]) / float64(deliveries) * 1000
		out[k] = round2(d)
		total += d
	}
	if len(after) > 1 {
		out["total"] = round2(total)
	}
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// FormatCPU prints a cpu map sorted by process name, total last.
func FormatCPU(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "total" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %.2f, ", k, m[k])
	}
	if t, ok := m["total"]; ok {
		fmt.Fprintf(&b, "total %.2f", t)
	}
	return strings.TrimSuffix(b.String(), ", ")
}

// freshPostgres drops and recreates database name on the server of
// maintenanceURL and returns its URL.
func freshPostgres(ctx context.Context, maintenanceURL, name string) (string, error) {
	db, err := sql.Open("pgx", maintenanceURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(maintenanceURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
