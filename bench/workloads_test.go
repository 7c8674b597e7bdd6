package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOrderViolations(t *testing.T) {
	seq := func(id string) int { n, _ := strconv.Atoi(strings.TrimPrefix(id, "m")); return n }
	a := func(id string, status int) arrival { return arrival{id: id, status: status} }
	cases := []struct {
		name                string
		arrivals            []arrival
		skip                map[int]bool
		violations, refused int
	}{
		{"in order", []arrival{a("m0", 204), a("m1", 204), a("m2", 204)}, nil, 0, 0},
		{"retry before the next", []arrival{a("m0", 204), a("m1", 503), a("m1", 204), a("m2", 204)}, nil, 0, 1},
		{"next sent while the previous is failing", []arrival{a("m0", 503), a("m1", 204), a("m0", 204)}, nil, 1, 1},
		{"overtaking", []arrival{a("m1", 204), a("m0", 204)}, nil, 1, 0},
		{"a repeat of a delivered message", []arrival{a("m0", 204), a("m1", 204), a("m0", 204)}, nil, 0, 0},
		{"a message the API refused is not waited for", []arrival{a("m0", 204), a("m2", 204)}, map[int]bool{1: true}, 0, 0},
		{"the first message refused by the API", []arrival{a("m1", 204)}, map[int]bool{0: true}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, r := orderViolations(tc.arrivals, seq, tc.skip)
			if v != tc.violations || r != tc.refused {
				t.Fatalf("violations %d, refused %d; want %d, %d", v, r, tc.violations, tc.refused)
			}
		})
	}
}

func TestMaxInSecond(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = t0.Add(time.Duration(m) * time.Millisecond)
		}
		return out
	}
	cases := []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"evenly 10 per second", at(0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100), 10},
		{"a clump", at(0, 10, 20, 30, 2000), 4},
		{"exactly one second apart is two windows", at(0, 1000), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxInSecond(tc.times); got != tc.want {
				t.Fatalf("maxInSecond = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestProcCPUCountsThisProcess(t *testing.T) {
	// Burn CPU until the kernel's tick counter moves, then compare.
	before, comm := procCPU(os.Getpid(), false)
	if comm == "" {
		t.Fatal("no comm read from /proc/self/stat")
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for {
		for i := 0; i < 1e7; i++ {
			x += i
		}
		if now, _ := procCPU(os.Getpid(), false); now > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU time did not move in 10 s of spinning (%d)", x)
		}
	}
	if s := selfCPU(); s <= 0 {
		t.Fatalf("selfCPU() = %v", s)
	}
}

func TestReceiverCountsFirstDeliveriesAndRepeats(t *testing.T) {
	rcv := newReceiver()
	rcv.status = func(id string, attempt int) int {
		if id == "b" && attempt == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	rcv.expect(2)
	for _, id := range []string{"a", "b", "a", "b"} {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("{}"))
		req.Header.Set("webhook-id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := rcv.wait(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if rcv.requests != 4 || rcv.dups != 1 || len(rcv.first) != 2 {
		t.Fatalf("requests %d, dups %d, first %d; want 4, 1, 2", rcv.requests, rcv.dups, len(rcv.first))
	}
	rcv.expectTotal(2) // both arrived before: done at once
	if err := rcv.wait(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	rcv.expect(1)
	if err := rcv.wait(context.Background(), 50*time.Millisecond); err == nil {
		t.Fatal("wait for a delivery that never comes returned nil")
	}
}
