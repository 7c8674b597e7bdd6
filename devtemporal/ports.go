package devtemporal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"go.temporal.io/server/common/testing/freeport"
)

// serviceNames are the server's services, all run in this process.
var serviceNames = []string{"frontend", "history", "matching", "worker"}

// PortInUseError reports a port the server needs that another process
// holds. Port names: "frontend", "ui", "internal".
type PortInUseError struct {
	Name string
	Port int
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d (temporal %s) is in use: %v", e.Port, e.Name, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// maxMembershipPort: the SQL stores keep membership ports in a smallint.
const maxMembershipPort = 32767

// internalPorts is how many ports InternalPortBase covers.
const internalPorts = 8

// Free membership ports are drawn from [membershipMin, membershipMin+membershipSpan):
// below the kernel's ephemeral range (32768-60999 on Linux), so no
// outgoing connection takes one, and below 32768 (the smallint).
const (
	membershipMin  = 20000
	membershipSpan = 12000
)

// Where free ports come from; tests replace them to offer chosen ports.
var (
	membershipCandidate = func() int { return membershipMin + rand.IntN(membershipSpan) }
	freeCandidate       = freeport.MustGetFreePort
)

// errLocked: another open file holds the flock (tryLock).
var errLocked = errors.New("locked")

// errReserved: another devtemporal server (this process or another) has
// taken the port and may not have bound it yet.
var errReserved = errors.New("reserved by another embedded temporal server")

type portPlan struct {
	frontend, ui, metrics int
	grpc, membership      map[string]int
	// held are the reservations of every port above, kept until release.
	held []*os.File
}

// release gives the plan's ports back to other servers.
func (p *portPlan) release() {
	for _, f := range p.held {
		unlock(f)
	}
	p.held = nil
}

// pickPorts decides every port the server and the UI will open, and checks
// the fixed ones are free, so a taken port is a clear error before the
// server starts.
//
// Every port is reserved (reservePort) until release: the server holds its
// plan until Stop. Picking a port (listen, close) and the server binding it
// later leave a window in which another process, e.g. a parallel test
// binary starting its own server, could pick the same port; with the
// reservation no other devtemporal server can. Whatever else binds the port
// in that window is the server's start failing, which Start retries.
func pickPorts(host string, opts Options) (plan portPlan, err error) {
	p := portPlan{grpc: map[string]int{}, membership: map[string]int{}}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	fixed := func(name string, port int) error {
		if port < 1 || port > 65535 {
			return fmt.Errorf("temporal %s port %d: must be 1-65535", name, port)
		}
		f, err := reservePort(host, port)
		if err != nil {
			return &PortInUseError{Name: name, Port: port, Err: err}
		}
		p.held = append(p.held, f)
		return nil
	}
	// reserveFrom reserves the first of tries candidates it can.
	reserveFrom := func(candidate func() int, tries int, none error) (int, error) {
		for range tries {
			port := candidate()
			if f, err := reservePort(host, port); err == nil {
				p.held = append(p.held, f)
				return port, nil
			}
		}
		return 0, none
	}
	free := func() (int, error) {
		return reserveFrom(freeCandidate, 50, errors.New("temporal: no free port found"))
	}
	// membership ports must stay below 32768, so not from free.
	membership := func() (int, error) {
		return reserveFrom(membershipCandidate, 200,
			fmt.Errorf("temporal: no free membership port in %d-%d", membershipMin, membershipMin+membershipSpan-1))
	}

	switch p.frontend = opts.FrontendPort; {
	case p.frontend == 0:
		if p.frontend, err = free(); err != nil {
			return p, err
		}
	default:
		if err := fixed("frontend", p.frontend); err != nil {
			return p, err
		}
	}
	switch p.ui = opts.UIPort; {
	case p.ui < 0:
		p.ui = -1
	case p.ui == 0:
		if p.ui, err = free(); err != nil {
			return p, err
		}
	default:
		if p.ui == p.frontend {
			return p, fmt.Errorf("temporal ui port %d: same as the frontend port", p.ui)
		}
		if err := fixed("ui", p.ui); err != nil {
			return p, err
		}
	}

	if base := opts.InternalPortBase; base != 0 {
		if base < 1 || base+internalPorts-1 > maxMembershipPort {
			return p, fmt.Errorf("temporal internal port base %d: must be 1-%d (it uses %d ports, membership ports must stay below 32768)",
				base, maxMembershipPort-internalPorts+1, internalPorts)
		}
		for port := base; port < base+internalPorts; port++ {
			if port == p.frontend || port == p.ui {
				return p, fmt.Errorf("temporal internal ports %d-%d overlap the frontend or UI port", base, base+internalPorts-1)
			}
			if err := fixed("internal", port); err != nil {
				return p, err
			}
		}
		next := base
		take := func() int { next++; return next - 1 }
		p.grpc["frontend"] = p.frontend
		for _, name := range serviceNames[1:] {
			p.grpc[name] = take()
		}
		for _, name := range serviceNames {
			p.membership[name] = take()
		}
		p.metrics = take()
		return p, nil
	}
	p.grpc["frontend"] = p.frontend
	for _, name := range serviceNames[1:] {
		if p.grpc[name], err = free(); err != nil {
			return p, err
		}
	}
	for _, name := range serviceNames {
		if p.membership[name], err = membership(); err != nil {
			return p, err
		}
	}
	if p.metrics, err = free(); err != nil {
		return p, err
	}
	return p, nil
}

// portLockDir holds one lock file per reserved port, shared by every
// process of the user on this machine. The files stay (removing a lock
// file another process is about to lock would let two hold "the same"
// lock); they are empty.
func portLockDir() string { return filepath.Join(os.TempDir(), "aqio-devtemporal-ports") }

// reservePort claims port on host for the caller until unlock: an
// exclusive flock on portLockDir()/<port>.lock, which every devtemporal
// server takes before it uses a port (errReserved if another holds it;
// the kernel drops it when the holder dies), then a listen check for
// everything else (the server's own freeport trick leaves free ports in
// TIME_WAIT, which a listener with SO_REUSEADDR, Go's default, may bind).
// Where the lock cannot be taken at all (no writable temp dir, no flock)
// the listen check alone decides, as it did before reservations. The
// returned file may be nil; unlock accepts that.
func reservePort(host string, port int) (*os.File, error) {
	var f *os.File
	dir := portLockDir()
	if err := os.MkdirAll(dir, 0o777); err == nil {
		f, err = tryLock(filepath.Join(dir, strconv.Itoa(port)+".lock"))
		if errors.Is(err, errLocked) {
			return nil, errReserved
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		unlock(f)
		return nil, err
	}
	if err := l.Close(); err != nil {
		unlock(f)
		return nil, err
	}
	return f, nil
}
