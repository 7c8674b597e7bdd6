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
	"time"

	"github.com/aqio/connect/bench"
	"github.com/aqio/connect/devtemporal"
)

// runBench runs the delivery benchmark and prints the results.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o bench.Options
	fs.IntVar(&o.Burst, "burst", 2000, "events in the burst")
	fs.IntVar(&o.Senders, "senders", 32, "concurrent senders in the burst")
	fs.IntVar(&o.SteadyRate, "rate", 50, "events per second in the steady phase")
	fs.DurationVar(&o.SteadyFor, "for", 20*time.Second, "length of the steady phase")
	fs.BoolVar(&o.TemporalSync, "temporal-sync", false, "run the embedded Temporal store with synchronous=FULL")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	pgHost := fs.String("temporal-postgres", "", "host:port of a Postgres (user postgres, trust auth) to persist the embedded Temporal server to, instead of SQLite; databases aqio_bench_temporal* are dropped and recreated")
	fs.StringVar(&o.AppPostgres, "app-postgres", "", "URL of a Postgres maintenance database (postgres://postgres@127.0.0.1:5432/postgres) on whose server the app database aqio_bench_app is dropped and recreated, instead of SQLite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pgHost != "" {
		host, port, err := net.SplitHostPort(*pgHost)
		if err != nil {
			return fmt.Errorf("-temporal-postgres: %w", err)
		}
		p, _ := strconv.Atoi(port)
		o.TemporalPostgres = &devtemporal.Postgres{Host: host, Port: p, User: "postgres", Database: "aqio_bench_temporal"}
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
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Printf("ingest (POST /api/events, 202/s):        %8.0f /s  (events no webhook subscribes to: %.0f /s)\n", res.IngestPerSec, res.IngestNoSubsPerSec)
	fmt.Printf("burst of %d: deliveries per second:    %8.0f /s  (%.2f s first send → last receipt)\n", res.BurstEvents, res.BurstDeliveries, res.BurstSeconds)
	fmt.Printf("steady %d events: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n", res.SteadyEvents, res.P50MS, res.P95MS, res.P99MS, res.MaxMS)
	fmt.Printf("received once: %d, duplicates: %d, lost: %d, ingest errors: %d\n", res.Received, res.Duplicates, res.Lost, res.IngestErrors)
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.Lost != 0 || res.IngestErrors != 0 {
		return fmt.Errorf("%d events lost, %d ingest errors", res.Lost, res.IngestErrors)
	}
	return nil
}
