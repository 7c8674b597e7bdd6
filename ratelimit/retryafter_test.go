package ratelimit

import (
	"testing"
	"time"
)

// Retry-After is whole seconds rounded up: a caller that waits exactly the
// announced time arrives after the window restarted, never before.
func TestRetryAfterSecondsRoundsUp(t *testing.T) {
	minute := time.Date(2026, 12, 1, 17, 9, 0, 0, time.UTC)
	refused := func(now time.Time) Decision {
		return Decision{Violated: "minute",
			Minute: Window{Name: "minute", Remaining: 0, ResetAt: minute.Add(time.Minute)},
			Hour:   Window{Name: "hour", Remaining: 10, ResetAt: minute.Add(51 * time.Minute)}}
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"29.4 s left", minute.Add(30*time.Second + 600*time.Millisecond), 30},
		{"exactly 30 s left", minute.Add(30 * time.Second), 30},
		{"0.2 s left: at least one second", minute.Add(59*time.Second + 800*time.Millisecond), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := refused(tc.now)
			got := d.RetryAfterSeconds(tc.now)
			if got != tc.want {
				t.Fatalf("RetryAfterSeconds = %d, want %d", got, tc.want)
			}
			if wait := time.Duration(got) * time.Second; tc.now.Add(wait).Before(d.Minute.ResetAt) {
				t.Fatalf("waiting %v from %v arrives before the window resets at %v", wait, tc.now, d.Minute.ResetAt)
			}
		})
	}
	if got := (Decision{Allowed: true}).RetryAfterSeconds(minute); got != 0 {
		t.Fatalf("an allowed request has Retry-After %d", got)
	}
}
