//go:build !noembed

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/bench"
	"github.com/aqio/connect/devtemporal"
)

// runBench runs the delivery benchmark and prints the results.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o bench.Options
	shape := fs.String("shape", "dev", "how the service runs: dev (`aqio-connect dev` as its own process), production (temporal-server, api and worker as processes of their own, on -postgres), inprocess (the service inside the bench process, as bench ran before)")
	workloads := fs.String("workloads", strings.Join(bench.Workloads, ","), "comma-separated workloads to run, in this order")
	fs.StringVar(&o.Binary, "bin", "", "aqio-connect executable the service processes run (default: this one)")
	fs.IntVar(&o.Burst, "burst", 2000, "events in the burst")
	fs.IntVar(&o.Senders, "senders", 32, "concurrent senders in the burst")
	fs.IntVar(&o.SteadyRate, "rate", 50, "events per second in the steady phase")
	fs.DurationVar(&o.SteadyFor, "for", 20*time.Second, "length of the steady phase")
	fs.DurationVar(&o.OutageFor, "outage-for", 30*time.Second, "how long the endpoint answers 503 in the outage workload")
	fs.IntVar(&o.OutageEvents, "outage-events", 2000, "events that arrive during the outage")
	fs.IntVar(&o.ThrottleRate, "throttle-rate", 100, "max_deliveries_per_second of the throttled webhook")
	fs.IntVar(&o.ThrottleEvents, "throttle-events", 2000, "events sent at once to the throttled webhook")
	fs.IntVar(&o.OrderedEvents, "ordered-events", 300, "events sent one at a time to the ordered webhook")
	fs.StringVar(&o.DataDir, "dir", "", "keep the service's data and logs here (default: a temporary directory, removed)")
	fs.BoolVar(&o.TemporalSync, "temporal-sync", false, "inprocess: run the embedded Temporal store with synchronous=FULL")
	cpuprofile := fs.String("cpuprofile", "", "inprocess: write a CPU profile of the whole run to this file")
	pgHost := fs.String("temporal-postgres", "", "inprocess: host:port of a Postgres (user postgres, trust auth) to persist the embedded Temporal server to, instead of SQLite; databases aqio_bench_temporal* are dropped and recreated")
	fs.StringVar(&o.AppPostgres, "app-postgres", "", "dev, inprocess: URL of a Postgres maintenance database (postgres://postgres@127.0.0.1:5432/postgres) on whose server the app database aqio_bench_app is dropped and recreated, instead of SQLite")
	fs.StringVar(&o.Postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "production: URL of the Postgres maintenance database; aqio_bench_app and aqio_bench_temporal* are dropped and recreated on its server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Shape = bench.Shape(*shape)
	o.Workloads = strings.Split(*workloads, ",")
	if *pgHost != "" {
		host, port, err := net.SplitHostPort(*pgHost)
		if err != nil {
			return fmt.Errorf("-temporal-postgres: %w", err)
		}
		p, _ := strconv.Atoi(port)
		o.TemporalPostgres = &devtemporal.Postgres{Host: host, Port: p, User: "postgres", Database: "aqio_bench_temporal"}
	}
	if (o.TemporalPostgres != nil || *cpuprofile != "" || o.TemporalSync) && o.Shape != bench.ShapeInProcess {
		return fmt.Errorf("-temporal-postgres, -temporal-sync and -cpuprofile need -shape inprocess (the service is in this process only then)")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.Run(ctx, o, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s; load average at start %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), res.LoadAvg)
	fmt.Printf("shape: %s; CPU counted: %s\n", res.Shape, res.CPUScope)
	if res.BurstEvents > 0 {
		fmt.Printf("ingest (POST /api/events, 202/s):        %8.0f /s  (events no webhook subscribes to: %.0f /s)\n", res.IngestPerSec, res.IngestNoSubsPerSec)
		fmt.Printf("burst of %d: deliveries per second:    %8.0f /s  (%.2f s first send → last receipt)\n", res.BurstEvents, res.BurstDeliveries, res.BurstSeconds)
		fmt.Printf("burst: CPU-seconds per 1,000 deliveries: %s%s\n", bench.FormatCPU(res.BurstCPU), pgNote(res.BurstPostgresCPU))
	}
	if res.SteadyEvents > 0 {
		fmt.Printf("steady %d events: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", res.SteadyEvents, res.P50MS, res.P95MS, res.P99MS, res.MaxMS)
		fmt.Printf("steady: CPU-seconds per 1,000 deliveries: %s%s\n", bench.FormatCPU(res.SteadyCPU), pgNote(res.SteadyPostgresCPU))
	}
	fmt.Printf("received once: %d, duplicates: %d, lost: %d, ingest errors: %d\n", res.Received, res.Duplicates, res.Lost, res.IngestErrors)
	if out := res.Outage; out != nil {
		fmt.Printf("outage (%.0f s of 503, %d events): all delivered %.2f s after recovery; %d requests during the outage; %.2f requests per message; %d duplicates, %d lost; workflow executions: %d for the webhook, %d in the namespace; CPU-s per 1,000: %s\n",
			out.OutageSeconds, out.Accepted, out.DrainSeconds, out.RequestsDuringOutage, out.AttemptsPerMessage, out.Duplicates, out.Lost,
			out.WebhookExecutions, out.NamespaceExecutions, bench.FormatCPU(out.CPU))
	}
	if t := res.Throttle; t != nil {
		if t.Supported {
			fmt.Printf("throttle (%d/s, %d events at once): %.1f /s achieved (%+.1f %%), at most %d in one second, %d duplicates %s\n", t.Limit, t.Events, t.Achieved, t.Deviation, t.MaxWindow, t.Duplicates, t.Note)
		} else {
			fmt.Printf("throttle: %s\n", t.Note)
		}
	}
	if od := res.Ordered; od != nil {
		if od.Supported {
			fmt.Printf("ordered (%s, %d events, %d first tries refused): %d order violations, %d duplicates, %.1f s %s\n", od.Field, od.Events, od.Refused, od.Violations, od.Duplicates, od.Seconds, od.Note)
		} else {
			fmt.Printf("ordered: %s\n", od.Note)
		}
	}
	if f := res.Fanout; f != nil {
		fmt.Printf("fanout (%d endpoints × %d events): %d deliveries in %.2f s, %.0f /s; %d duplicates, %d lost; CPU-s per 1,000: %s\n",
			f.Endpoints, f.Events, f.Deliveries, f.Seconds, f.PerSec, f.Duplicates, f.Lost, bench.FormatCPU(f.CPU))
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	var problems []string
	if res.Lost != 0 || res.IngestErrors != 0 {
		problems = append(problems, fmt.Sprintf("%d events lost, %d ingest errors", res.Lost, res.IngestErrors))
	}
	if out := res.Outage; out != nil && (out.Lost != 0 || out.Duplicates != 0) {
		problems = append(problems, fmt.Sprintf("outage: %d lost, %d duplicates", out.Lost, out.Duplicates))
	}
	if f := res.Fanout; f != nil && (f.Lost != 0 || f.Duplicates != 0) {
		problems = append(problems, fmt.Sprintf("fanout: %d lost, %d duplicates", f.Lost, f.Duplicates))
	}
	if od := res.Ordered; od != nil && od.Violations != 0 {
		problems = append(problems, fmt.Sprintf("ordered: %d order violations", od.Violations))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func pgNote(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(" (+ %.2f in all of the machine's Postgres processes, shared)", v)
}
