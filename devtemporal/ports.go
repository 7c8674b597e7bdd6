package devtemporal

import (
	"fmt"
	"math/rand/v2"
	"net"
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

type portPlan struct {
	frontend, ui, metrics int
	grpc, membership      map[string]int
}

// pickPorts decides every port the server and the UI will open, and checks
// the fixed ones are free, so a taken port is a clear error before the
// server starts (the server itself panics in gRPC's Serve).
func pickPorts(host string, opts Options) (portPlan, error) {
	p := portPlan{grpc: map[string]int{}, membership: map[string]int{}}
	check := func(name string, port int) error {
		if port < 1 || port > 65535 {
			return fmt.Errorf("temporal %s port %d: must be 1-65535", name, port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return &PortInUseError{Name: name, Port: port, Err: err}
		}
		return l.Close()
	}

	switch p.frontend = opts.FrontendPort; {
	case p.frontend == 0:
		p.frontend = freePort()
	default:
		if err := check("frontend", p.frontend); err != nil {
			return p, err
		}
	}
	switch p.ui = opts.UIPort; {
	case p.ui < 0:
		p.ui = -1
	case p.ui == 0:
		p.ui = freePort()
	default:
		if p.ui == p.frontend {
			return p, fmt.Errorf("temporal ui port %d: same as the frontend port", p.ui)
		}
		if err := check("ui", p.ui); err != nil {
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
			if err := check("internal", port); err != nil {
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
		p.grpc[name] = freePort()
	}
	for _, name := range serviceNames {
		p.membership[name] = membershipPort()
	}
	p.metrics = freePort()
	return p, nil
}

// freePort reserves a port the OS will not hand out again for a while
// (the server's own freeport trick: TIME_WAIT), so parallel test binaries
// do not collide.
func freePort() int { return freeport.MustGetFreePort() }

// membershipPort picks a free port below 32768: the SQL stores keep
// membership ports in a smallint column (Postgres refuses larger values).
func membershipPort() int {
	for i := 0; i < 200; i++ {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	return freePort()
}
