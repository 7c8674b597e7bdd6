package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a service process the benchmark started (dev, api, worker,
// temporal-server): the load generator and the receiver stay in the
// benchmark's own process, so the service's CPU time is its own.
type Proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProc runs bin with args and exactly env (plus PATH and HOME);
// its output goes to dir/<name>.log.
func startProc(dir, name, bin string, env map[string]string, args ...string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); f.Close(); close(c.done) }()
	return c, nil
}

func (c *Proc) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after 20 s.
func (c *Proc) stop() {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// tail is the end of the child's log, for error messages.
func (c *Proc) tail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// cpuSeconds is the process' user+system CPU time so far, all threads
// (/proc/<pid>/stat, clock ticks of 1/100 s).
func (c *Proc) cpuSeconds() float64 {
	s, _ := procCPU(c.cmd.Process.Pid, false)
	return s
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports
// without cgo's sysconf.
const clockTicks = 100

// procCPU reads utime+stime (and, with children, cutime+cstime: the CPU
// of exited children the process waited for) of pid.
func procCPU(pid int, children bool) (float64, string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return 0, ""
	}
	comm := string(b[open+1 : close])
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 15 {
		return 0, comm
	}
	// f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
	sum := 0.0
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	for _, i := range idx {
		v, _ := strconv.ParseFloat(f[i], 64)
		sum += v
	}
	return sum / clockTicks, comm
}

// postgresCPU is the CPU time of every process named postgres on this
// machine, exited backends included (they count in the postmaster's
// cutime). Other users of the same Postgres count too: it is a bound,
// reported only for a shared machine's context.
func postgresCPU() float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	total := 0.0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, comm := procCPU(pid, true); comm == "postgres" {
			total += s
		}
	}
	return total
}

// selfCPU is this process' CPU time (getrusage).
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// freePort asks the kernel for a port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeBase finds n consecutive free ports in [20000, 32000) (the
// membership ports must stay below 32768).
func freeBase(n int) (int, error) {
	for base := 20000 + int(time.Now().UnixNano()%4000)*2; base+n < 32000; base += n + 7 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports below 32000", n)
}

// waitReady polls base/readyz until it reports ok (database and Temporal
// up) or a child exits.
func waitReady(ctx context.Context, base string, procs []*Proc, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		for _, c := range procs {
			if c.exited() {
				return fmt.Errorf("%s exited (%v):\n%s", c.name, c.err, c.tail())
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(b.String(), `"ok"`) {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b.String())
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("service not ready within %s (last: %s)", within, last)
}

// waitLog waits until the process' log contains s.
func waitLog(ctx context.Context, c *Proc, s string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(c.log); bytes.Contains(b, []byte(s)) {
			return nil
		}
		if c.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", c.name, c.err, c.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %q not logged within %s:\n%s", c.name, s, within, c.tail())
}
