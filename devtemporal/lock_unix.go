//go:build unix

package devtemporal

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockFile takes an exclusive lock on path for the life of the process
// (the kernel drops it when the process dies, kill -9 included), so two
// servers never share one SQLite store and a new server knows every
// membership row it finds is stale.
func lockFile(path string) (*os.File, error) {
	f, err := tryLock(path)
	if err != nil {
		if errors.Is(err, errLocked) {
			b, _ := os.ReadFile(path)
			holder := ""
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " (pid " + pid + ")"
			}
			return nil, fmt.Errorf("%s is in use by another aqio-connect dev%s: stop it or use another AQIO_DATA_DIR", strings.TrimSuffix(path, ".lock"), holder)
		}
		return nil, err
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// tryLock takes an exclusive flock on path (created if missing) without
// waiting: errLocked if another open file holds it, in this process or
// another (flock locks belong to the open file, not to the process).
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("temporal lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func unlock(f *os.File) {
	if f != nil {
		_ = f.Close() // closing the descriptor releases the flock
	}
}
