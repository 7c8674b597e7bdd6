package devtemporal

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// startFatal is what the server's Fatal log calls panic with while
// newServer builds it (fatalLogger); newServer recovers it as its error.
type startFatal struct{ err error }

func (e startFatal) Error() string { return e.err.Error() }
func (e startFatal) Unwrap() error { return e.err }

// fatalLogger wraps the server's logger. The server reports a listener it
// cannot open (gRPC, ringpop membership) with Logger.Fatal, which the noop
// logger ignores, and then panics on the nil listener (tchannel's Serve,
// gRPC's Serve). Those calls happen inside temporal.NewServer, on the
// caller's goroutine, so while starting is set (Start sets it around
// NewServer only) Fatal panics with a startFatal instead, and Start turns
// it into an error it can retry with other ports. Otherwise Fatal goes to
// the wrapped logger.
type fatalLogger struct {
	log.Logger
	starting *atomic.Bool
}

func newFatalLogger(l log.Logger) fatalLogger {
	return fatalLogger{Logger: l, starting: new(atomic.Bool)}
}

func (l fatalLogger) Fatal(msg string, tags ...tag.Tag) {
	if !l.starting.Load() {
		l.Logger.Fatal(msg, tags...)
		return
	}
	var cause error
	details := make([]string, 0, len(tags))
	for _, t := range tags {
		if err, ok := t.Value().(error); ok && cause == nil {
			cause = err
			continue
		}
		details = append(details, fmt.Sprintf("%s=%v", t.Key(), t.Value()))
	}
	text := msg
	if len(details) > 0 {
		text += " (" + strings.Join(details, ", ") + ")"
	}
	err := errors.New(text)
	if cause != nil {
		err = fmt.Errorf("%s: %w", text, cause)
	}
	panic(startFatal{err: err})
}

// With and Skip keep the wrapper around derived loggers (log.With would
// otherwise return the wrapped logger's own With, losing Fatal).
func (l fatalLogger) With(tags ...tag.Tag) log.Logger {
	return fatalLogger{Logger: log.With(l.Logger, tags...), starting: l.starting}
}

func (l fatalLogger) Skip(extraSkip int) log.Logger {
	if s, ok := l.Logger.(log.SkipLogger); ok {
		return fatalLogger{Logger: s.Skip(extraSkip), starting: l.starting}
	}
	return l
}
