//go:build !unix

package devtemporal

import "os"

// lockFile is a no-op where flock is unavailable: do not start two
// servers on one data directory there.
func lockFile(string) (*os.File, error) { return nil, nil }

// tryLock is a no-op too: port reservations fall back to the listen
// check alone.
func tryLock(string) (*os.File, error) { return nil, nil }

func unlock(*os.File) {}
