// Package ratelimit enforces per-subject request limits over two fixed
// windows (a minute and an hour) in the application database, so every API
// instance shares one count without Redis. One conditional UPSERT checks
// and consumes both windows atomically: a request refused by one window
// consumes nothing from the other.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Policy is a plan's limits.
type Policy struct {
	Name      string // plan name, e.g. "free"
	PerMinute int
	PerHour   int
}

// Window is one window's state after a decision.
type Window struct {
	Name      string // "minute" or "hour"
	Limit     int
	Remaining int
	Seconds   int       // window length
	ResetAt   time.Time // when the window restarts
}

// Decision is the outcome of Take.
type Decision struct {
	Allowed bool
	Policy  Policy
	Minute  Window
	Hour    Window
	// Violated is the window that refused the request ("" when allowed).
	Violated string
}

// Tightest is the window closest to its limit (the violated one when refused).
func (d Decision) Tightest() Window {
	switch d.Violated {
	case "minute":
		return d.Minute
	case "hour":
		return d.Hour
	}
	if d.Hour.Remaining < d.Minute.Remaining {
		return d.Hour
	}
	return d.Minute
}

// RetryAfter is how long a refused caller should wait.
func (d Decision) RetryAfter(now time.Time) time.Duration {
	if d.Allowed {
		return 0
	}
	w := d.Tightest()
	if d.Minute.Remaining == 0 && d.Hour.Remaining == 0 && d.Hour.ResetAt.After(w.ResetAt) {
		w = d.Hour
	}
	r := w.ResetAt.Sub(now)
	if r < time.Second {
		r = time.Second
	}
	return r
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, as the
// Retry-After header carries it: a caller that waits exactly that long
// arrives after the window has restarted, never a fraction of a second
// before it (and is refused again).
func (d Decision) RetryAfterSeconds(now time.Time) int {
	return int((d.RetryAfter(now) + time.Second - 1) / time.Second)
}

// Limiter takes from the counters in rate_limit_counters.
type Limiter struct {
	DB *gorm.DB
}

const takeSQL = `INSERT INTO rate_limit_counters (subject, minute_start, minute_count, hour_start, hour_count)
VALUES (?, ?, 1, ?, 1)
ON CONFLICT (subject) DO UPDATE SET
  minute_count = CASE WHEN rate_limit_counters.minute_start = excluded.minute_start THEN rate_limit_counters.minute_count + 1 ELSE 1 END,
  hour_count = CASE WHEN rate_limit_counters.hour_start = excluded.hour_start THEN rate_limit_counters.hour_count + 1 ELSE 1 END,
  minute_start = excluded.minute_start,
  hour_start = excluded.hour_start
WHERE (CASE WHEN rate_limit_counters.minute_start = excluded.minute_start THEN rate_limit_counters.minute_count ELSE 0 END) < ?
  AND (CASE WHEN rate_limit_counters.hour_start = excluded.hour_start THEN rate_limit_counters.hour_count ELSE 0 END) < ?
RETURNING minute_count, hour_count`

// Take consumes one request for subject under p at time now, or refuses it
// without consuming anything.
func (l *Limiter) Take(ctx context.Context, subject string, p Policy, now time.Time) (Decision, error) {
	now = now.UTC()
	minStart := now.Truncate(time.Minute)
	hourStart := now.Truncate(time.Hour)
	d := Decision{
		Policy: p,
		Minute: Window{Name: "minute", Limit: p.PerMinute, Seconds: 60, ResetAt: minStart.Add(time.Minute)},
		Hour:   Window{Name: "hour", Limit: p.PerHour, Seconds: 3600, ResetAt: hourStart.Add(time.Hour)},
	}
	if p.PerMinute <= 0 || p.PerHour <= 0 {
		d.Violated = "minute"
		if p.PerHour <= 0 {
			d.Violated = "hour"
		}
		return d, nil
	}
	rows, err := l.DB.WithContext(ctx).Raw(takeSQL, subject, minStart.Unix(), hourStart.Unix(), p.PerMinute, p.PerHour).Rows()
	if err != nil {
		return d, fmt.Errorf("rate limit take: %w", err)
	}
	var minCount, hourCount int
	admitted := false
	for rows.Next() {
		if err := rows.Scan(&minCount, &hourCount); err != nil {
			rows.Close()
			return d, fmt.Errorf("rate limit scan: %w", err)
		}
		admitted = true
	}
	if err := rows.Close(); err != nil {
		return d, fmt.Errorf("rate limit take: %w", err)
	}
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("rate limit take: %w", err)
	}
	if admitted {
		d.Allowed = true
		d.Minute.Remaining = max(p.PerMinute-minCount, 0)
		d.Hour.Remaining = max(p.PerHour-hourCount, 0)
		return d, nil
	}
	// Refused: read the counters to say which window is exhausted.
	var st struct {
		MinuteStart, HourStart int64
		MinuteCount, HourCount int
	}
	err = l.DB.WithContext(ctx).Raw(`SELECT minute_start, minute_count, hour_start, hour_count FROM rate_limit_counters WHERE subject = ?`, subject).
		Row().Scan(&st.MinuteStart, &st.MinuteCount, &st.HourStart, &st.HourCount)
	if err != nil {
		return d, fmt.Errorf("rate limit state: %w", err)
	}
	if st.MinuteStart == minStart.Unix() {
		d.Minute.Remaining = max(p.PerMinute-st.MinuteCount, 0)
	} else {
		d.Minute.Remaining = p.PerMinute
	}
	if st.HourStart == hourStart.Unix() {
		d.Hour.Remaining = max(p.PerHour-st.HourCount, 0)
	} else {
		d.Hour.Remaining = p.PerHour
	}
	switch {
	case d.Minute.Remaining == 0:
		d.Violated = "minute"
	default:
		d.Violated = "hour"
	}
	if d.Hour.Remaining == 0 {
		d.Violated = "hour" // waiting for the minute would not help
	}
	return d, nil
}

// ParsePolicies reads "free=60/1000,pro=300/10000,…" (per minute / per hour).
func ParsePolicies(s string) (map[string]Policy, error) {
	out := map[string]Policy{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, lim, ok := strings.Cut(part, "=")
		m, h, ok2 := strings.Cut(lim, "/")
		if !ok || !ok2 || name == "" {
			return nil, fmt.Errorf("rate limit %q: want plan=perMinute/perHour", part)
		}
		pm, err := strconv.Atoi(strings.TrimSpace(m))
		if err != nil || pm <= 0 {
			return nil, fmt.Errorf("rate limit %q: per-minute limit must be a positive integer", part)
		}
		ph, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || ph <= 0 {
			return nil, fmt.Errorf("rate limit %q: per-hour limit must be a positive integer", part)
		}
		out[strings.TrimSpace(name)] = Policy{Name: strings.TrimSpace(name), PerMinute: pm, PerHour: ph}
	}
	return out, nil
}

// DefaultPolicies are the seed's plan limits.
const DefaultPolicies = "free=60/1000,pro=300/10000,enterprise=1000/50000"
