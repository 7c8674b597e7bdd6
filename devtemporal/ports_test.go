package devtemporal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// offer makes a port source (membershipCandidate, freeCandidate) return
// first (in order), then what it returned before; it is restored when the
// test ends.
func offer(t *testing.T, source *func() int, first ...int) {
	t.Helper()
	fallback := *source
	t.Cleanup(func() { *source = fallback })
	queue := slices.Clone(first)
	*source = func() int {
		if len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			return p
		}
		return fallback()
	}
}

// planned lists every port of a plan once (no UI: none).
func (p portPlan) planned() []int {
	ports := []int{p.frontend, p.ui, p.metrics}
	for _, name := range serviceNames {
		ports = append(ports, p.grpc[name], p.membership[name])
	}
	ports = slices.DeleteFunc(ports, func(port int) bool { return port <= 0 })
	slices.Sort(ports)
	return slices.Compact(ports)
}

// unusedPort is a port below 32768 nothing listens on or reserves now.
func unusedPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := membershipCandidate()
		if f, err := reservePort("127.0.0.1", port); err == nil {
			unlock(f)
			return port
		}
	}
	t.Fatal("no unused port")
	return 0
}

// TestPickPortsSkipsTakenPorts offers a taken port as the first pick of
// either source (free ports, membership ports): the plan never contains it,
// whether a listener holds it or another server has reserved it but not
// bound it yet (in this process or in another one), which the listen
// check alone cannot see.
func TestPickPortsSkipsTakenPorts(t *testing.T) {
	for _, tc := range []struct {
		name string
		take func(t *testing.T, port int)
	}{
		{"held by a listener", func(t *testing.T, port int) {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}},
		{"reserved in this process", func(t *testing.T, port int) {
			f, err := reservePort("127.0.0.1", port)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unlock(f) })
		}},
		{"reserved by another process", holdInChild},
	} {
		for _, source := range []struct {
			name string
			pick *func() int
		}{{"free", &freeCandidate}, {"membership", &membershipCandidate}} {
			t.Run(tc.name+"/"+source.name, func(t *testing.T) {
				taken := unusedPort(t)
				tc.take(t, taken)
				offer(t, source.pick, taken)
				p, err := pickPorts("127.0.0.1", Options{UIPort: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer p.release()
				if slices.Contains(p.planned(), taken) {
					t.Fatalf("plan %+v contains port %d, which is %s", p, taken, tc.name)
				}
			})
		}
	}
}

// TestPlansDoNotShare: two plans in one process, offered the same ports,
// never share one; releasing the first makes its ports available again.
func TestPlansDoNotShare(t *testing.T) {
	same := []int{unusedPort(t), unusedPort(t), unusedPort(t)}
	offer(t, &membershipCandidate, same...)
	a, err := pickPorts("127.0.0.1", Options{UIPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	offer(t, &membershipCandidate, same...)
	b, err := pickPorts("127.0.0.1", Options{UIPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.release()
	for _, port := range a.planned() {
		if slices.Contains(b.planned(), port) {
			t.Fatalf("port %d in both plans: %v and %v", port, a.planned(), b.planned())
		}
	}
	for _, port := range same {
		if !slices.Contains(a.planned(), port) {
			t.Fatalf("the first plan %v did not take the offered port %d", a.planned(), port)
		}
	}
	a.release()
	for _, port := range same {
		f, err := reservePort("127.0.0.1", port)
		if err != nil {
			t.Fatalf("port %d still reserved after release: %v", port, err)
		}
		unlock(f)
	}
}

// TestFixedPortReservedElsewhere: a fixed port another server has
// reserved is a PortInUseError, like a port a listener holds.
func TestFixedPortReservedElsewhere(t *testing.T) {
	port := unusedPort(t)
	holdInChild(t, port)
	_, err := pickPorts("127.0.0.1", Options{FrontendPort: port, UIPort: -1})
	var pe *PortInUseError
	if !errors.As(err, &pe) || pe.Port != port || !errors.Is(err, errReserved) {
		t.Fatalf("pickPorts: %v; want a PortInUseError for port %d, reserved", err, port)
	}
}

// TestStartRetriesAPortTakenAfterThePick: a process outside the
// reservations binds one of the planned membership ports between the pick
// and the server's own listen (the race CI hit: ringpop's listener failed
// and tchannel panicked on it). Start tries fresh ports and the server
// runs; its ports stay reserved until Stop.
func TestStartRetriesAPortTakenAfterThePick(t *testing.T) {
	taken := unusedPort(t)
	var outsider net.Listener
	membership := membershipCandidate
	calls := 0
	membershipCandidate = func() int {
		calls++
		switch calls {
		case 1:
			return taken
		case 2: // after the pick of the first: the outsider binds it
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(taken)))
			if err != nil {
				t.Errorf("outsider: %v", err)
			}
			outsider = l
		}
		return membership()
	}
	t.Cleanup(func() {
		membershipCandidate = membership
		if outsider != nil {
			outsider.Close()
		}
	})

	s, err := Start(context.Background(), Options{UIPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if outsider == nil {
		t.Fatal("the outsider never bound the port")
	}
	if calls <= len(serviceNames) {
		t.Fatalf("%d membership picks: Start did not pick a second plan", calls)
	}
	if slices.Contains(s.ports.planned(), taken) {
		t.Fatalf("the running server's plan %v contains the taken port %d", s.ports.planned(), taken)
	}
	for _, port := range s.ports.planned() {
		if f, err := reservePort("127.0.0.1", port); err == nil {
			unlock(f)
			t.Fatalf("port %d of the running server is not reserved", port)
		}
	}
	// Stop gives every reservation back (the lock; the ports themselves
	// may linger in TIME_WAIT).
	ports := s.ports
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, port := range ports.planned() {
		f, err := tryLock(filepath.Join(portLockDir(), strconv.Itoa(port)+".lock"))
		if err != nil {
			t.Fatalf("port %d still reserved after Stop: %v", port, err)
		}
		unlock(f)
	}
}

// holdInChild reserves port in a child process (this test binary, see
// TestMain) until the test ends.
func holdInChild(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "DEVTEMPORAL_HOLD_PORT="+strconv.Itoa(port))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the child exits, its lock goes with it
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "held\n" {
		t.Fatalf("child holding port %d: %q, %v", port, line, err)
	}
}

func TestMain(m *testing.M) {
	if p := os.Getenv("DEVTEMPORAL_HOLD_PORT"); p != "" {
		port, _ := strconv.Atoi(p)
		f, err := reservePort("127.0.0.1", port)
		if err != nil {
			fmt.Fprintln(os.Stderr, "reserve:", err)
			os.Exit(1)
		}
		fmt.Println("held")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
		unlock(f)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
