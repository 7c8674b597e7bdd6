package dev_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDevTakenPortIsAClearError starts dev with each of its ports held by
// another listener: dev exits with "port N is in use (set VAR)" before
// starting anything, never with a panic (the embedded server used to
// panic with a nil pointer in gRPC's Serve).
func TestDevTakenPortIsAClearError(t *testing.T) {
	for _, tc := range []struct {
		name, variable string
	}{
		{"temporal frontend", "AQIO_DEV_TEMPORAL_PORT"},
		{"temporal ui", "AQIO_DEV_TEMPORAL_UI_PORT"},
		{"api", "AQIO_HTTP_ADDR"},
		{"temporal internal", "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			held, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			port := held.Addr().(*net.TCPAddr).Port
			env, _ := devEnv(t, t.TempDir())
			switch tc.variable {
			case "AQIO_HTTP_ADDR":
				env[tc.variable] = fmt.Sprintf("127.0.0.1:%d", port)
			case "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE":
				// Internal ports stay below 32768: hold one there, the
				// fourth of the eight the base covers.
				held.Close()
				held, port = listenBelow32768(t)
				env[tc.variable] = fmt.Sprint(port - 3)
			default:
				env[tc.variable] = fmt.Sprint(port)
			}
			p := start(t, "dev ("+tc.name+" port taken)", env, "dev")
			out := p.waitExit(t, 60*time.Second)
			want := fmt.Sprintf("port %d is in use (set %s)", port, tc.variable)
			if p.err == nil || !strings.Contains(out, want) {
				t.Fatalf("exit %v; want an error containing %q, output:\n%s", p.err, want, out)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Fatalf("dev panicked:\n%s", out)
			}
			if strings.Contains(out, "Aqio Connect is running") {
				t.Fatalf("dev printed its banner although a port was taken:\n%s", out)
			}
		})
	}
}

// listenBelow32768 listens on a free port in 20000-32000.
func listenBelow32768(t *testing.T) (net.Listener, int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		port := 20000 + rand.IntN(12000)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			t.Cleanup(func() { l.Close() })
			return l, port
		}
	}
	t.Fatal("no free port in 20000-32000")
	return nil, 0
}
