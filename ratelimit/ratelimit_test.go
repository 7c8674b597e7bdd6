package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/aqio/connect/database"
)

// openDB is a migrated database: a fresh Postgres database when
// AQIO_TEST_DATABASE_URL is set, otherwise a SQLite file.
func openDB(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	dsn := testdb.URL(t, "aqio_rl", "rl.db")
	db, err := database.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// takeConcurrently runs n Takes at once and counts the admitted ones.
func takeConcurrently(t *testing.T, l *Limiter, subject string, p Policy, now time.Time, n int) (admitted int64, last Decision) {
	t.Helper()
	var wg sync.WaitGroup
	var ok atomic.Int64
	var mu sync.Mutex
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := l.Take(context.Background(), subject, p, now)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				ok.Add(1)
			} else {
				mu.Lock()
				last = d
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok.Load(), last
}

func TestTakeIsAtomicUnderConcurrency(t *testing.T) {
	db := openDB(t)
	t.Logf("database: %s", db.Dialect)
	l := &Limiter{DB: db.DB}
	p := Policy{Name: "test", PerMinute: 50, PerHour: 80}
	// Inside one hour so three consecutive minutes share the hour window.
	base := time.Date(2030, 1, 2, 3, 10, 5, 0, time.UTC)

	// Minute 1: 300 concurrent requests, exactly 50 admitted.
	n, denied := takeConcurrently(t, l, "key_a", p, base, 300)
	if n != 50 {
		t.Fatalf("minute 1 admitted %d, want 50", n)
	}
	if denied.Violated != "minute" || denied.Minute.Remaining != 0 || denied.Hour.Remaining != 30 {
		t.Fatalf("minute 1 refusal: %+v", denied)
	}
	// The 250 refused by the minute window consumed nothing of the hour:
	// minute 2 admits exactly the 30 the hour has left.
	n, denied = takeConcurrently(t, l, "key_a", p, base.Add(time.Minute), 300)
	if n != 30 {
		t.Fatalf("minute 2 admitted %d, want 30 (hour limit 80 - 50)", n)
	}
	if denied.Violated != "hour" || denied.Hour.Remaining != 0 {
		t.Fatalf("minute 2 refusal: %+v", denied)
	}
	if ra := denied.RetryAfter(base.Add(time.Minute)); ra != 48*time.Minute+55*time.Second {
		t.Fatalf("retry after %s", ra)
	}
	// Minute 3: the hour is spent.
	if n, _ = takeConcurrently(t, l, "key_a", p, base.Add(2*time.Minute), 100); n != 0 {
		t.Fatalf("minute 3 admitted %d, want 0", n)
	}
	// Next hour: fresh windows. Another subject is independent.
	if n, _ = takeConcurrently(t, l, "key_a", p, base.Add(time.Hour), 100); n != 50 {
		t.Fatalf("next hour admitted %d, want 50", n)
	}
	if n, _ = takeConcurrently(t, l, "key_b", p, base, 100); n != 50 {
		t.Fatalf("other subject admitted %d, want 50", n)
	}
}

func TestDecisionHeadersValues(t *testing.T) {
	db := openDB(t)
	l := &Limiter{DB: db.DB}
	now := time.Date(2030, 1, 2, 3, 4, 50, 0, time.UTC)
	d, err := l.Take(context.Background(), "k", Policy{Name: "free", PerMinute: 60, PerHour: 1000}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || d.Minute.Remaining != 59 || d.Hour.Remaining != 999 {
		t.Fatalf("%+v", d)
	}
	if !d.Minute.ResetAt.Equal(time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC)) || !d.Hour.ResetAt.Equal(time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC)) {
		t.Fatalf("resets %v %v", d.Minute.ResetAt, d.Hour.ResetAt)
	}
}

func TestParsePolicies(t *testing.T) {
	p, err := ParsePolicies(DefaultPolicies)
	if err != nil || p["pro"].PerMinute != 300 || p["enterprise"].PerHour != 50000 || p["free"].PerMinute != 60 {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{"free=60", "free=a/1", "free=0/10", "=1/2"} {
		if _, err := ParsePolicies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
