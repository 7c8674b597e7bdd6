package listen

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testdb"

	_ "github.com/jackc/pgx/v5/stdlib" // admin connection that creates the test database

	"github.com/aqio/connect/database"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/store"
)

// testStore opens a migrated SQLite database with one webhook and its
// session (ttl 30 s); now is the store's clock.
func testStore(t *testing.T, now *time.Time) (*Store, models.ListenSession) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, testDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s := &Store{DB: db.DB, Now: func() time.Time { return *now }}
	if _, err := store.New(db, nil).EnsureOrganization(ctx, "org_1"); err != nil {
		t.Fatal(err)
	}
	wh := models.Webhook{ID: "wh_1", OrganizationID: "org_1", Name: "listen", URL: URL("ls_1"), Secret: "x",
		Events: `["*"]`, ContentType: "application/json", TimeoutSeconds: 15, RetryCount: 3, RetryDelaySeconds: 5,
		IsActive: true, SignatureScheme: "hmac-sha256", CreatedAt: *now, UpdatedAt: *now}
	if err := db.DB.Create(&wh).Error; err != nil {
		t.Fatal(err)
	}
	ls := models.ListenSession{ID: "ls_1", OrganizationID: "org_1", WebhookID: "wh_1", ForwardTo: "http://localhost:3000", TTLSeconds: 30}
	if err := s.CreateSession(ctx, nil, &ls); err != nil {
		t.Fatal(err)
	}
	return s, ls
}

// testDatabaseURL is a fresh database: a new Postgres database made from
// AQIO_TEST_DATABASE_URL (dropped afterwards) or a SQLite file.
func testDatabaseURL(t *testing.T) string {
	return testdb.URL(t, "listen_t", "listen.db")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func post(t *testing.T, ctx context.Context, tr *Transport, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"type":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("webhook-id", "msg_1")
	return tr.RoundTrip(req)
}

func TestTransportLeavesOtherURLsToNext(t *testing.T) {
	now := time.Now().UTC()
	s, _ := testStore(t, &now)
	var got string
	tr := &Transport{Store: s, Next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return nil, errors.New("next")
	})}
	if _, err := post(t, context.Background(), tr, "http://127.0.0.1:1/hook"); err == nil || err.Error() != "next" || got != "http://127.0.0.1:1/hook" {
		t.Fatalf("an http URL went %q (%v), want to Next", got, err)
	}
	if _, err := post(t, context.Background(), tr, URL("ls_1")); !errors.Is(err, ErrNotConnected) || got != "http://127.0.0.1:1/hook" {
		t.Fatalf("a listen URL: %v (next saw %q)", err, got)
	}
}

func TestTransportRefusesWithoutAStream(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	tr := &Transport{Store: s}
	ctx := context.Background()
	if _, err := post(t, ctx, tr, URL("ls_other")); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("unknown session: %v", err)
	}
	if _, err := post(t, ctx, tr, URL(ls.ID)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("never connected: %v", err)
	}
	if err := s.Touch(ctx, ls.ID, true); err != nil {
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second) // heartbeats stopped (the API process died)
	if _, err := post(t, ctx, tr, URL(ls.ID)); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("stale heartbeat: %v", err)
	}
}

// cliAnswer plays the stream and the CLI: it claims the session's next
// message and answers it with a.
func cliAnswer(t *testing.T, s *Store, b *Broker, sessionID string, a *Answer, disconnect bool) chan models.ListenMessage {
	seen := make(chan models.ListenMessage, 1)
	wake, stop := b.Subscribe(SessionKey(sessionID))
	go func() {
		defer stop()
		for {
			select {
			case <-wake:
			case <-time.After(PollInterval):
			}
			msgs, err := s.Claim(context.Background(), sessionID)
			if err != nil {
				t.Error(err)
				return
			}
			if len(msgs) == 0 {
				continue
			}
			seen <- msgs[0]
			if disconnect {
				_ = s.Touch(context.Background(), sessionID, false)
				return
			}
			if err := s.RecordAnswer(context.Background(), sessionID, msgs[0].ID, *a); err != nil {
				t.Error(err)
			}
			b.Answered(msgs[0].ID)
			return
		}
	}()
	return seen
}

func TestTransportReturnsTheCLIsAnswer(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	b := NewBroker()
	tr := &Transport{Store: s, Broker: b}
	ctx := context.Background()
	if err := s.Touch(ctx, ls.ID, true); err != nil {
		t.Fatal(err)
	}
	seen := cliAnswer(t, s, b, ls.ID, &Answer{Status: 503, Headers: `{"Retry-After":["7"]}`, Body: "busy"}, false)
	resp, err := post(t, ctx, tr, URL(ls.ID))
	if err != nil {
		t.Fatal(err)
	}
	m := <-seen
	if m.RequestBody != `{"type":"x"}` || !strings.Contains(m.RequestHeaders, `"Webhook-Id":["msg_1"]`) {
		t.Fatalf("the stream got %+v", m)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	var n int64
	s.DB.Model(&models.ListenMessage{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d message rows left after the attempt", n)
	}
	// An answer after the attempt stopped waiting has nowhere to go.
	if err := s.RecordAnswer(ctx, ls.ID, m.ID, Answer{Status: 200}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("late answer: %v", err)
	}
}

func TestTransportLocalErrorAndDisconnect(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	b := NewBroker()
	tr := &Transport{Store: s, Broker: b}
	ctx := context.Background()
	if err := s.Touch(ctx, ls.ID, true); err != nil {
		t.Fatal(err)
	}
	cliAnswer(t, s, b, ls.ID, &Answer{Error: "connection refused"}, false)
	var le *LocalError
	if _, err := post(t, ctx, tr, URL(ls.ID)); !errors.As(err, &le) || le.Message != "connection refused" {
		t.Fatalf("local error: %v", err)
	}
	cliAnswer(t, s, b, ls.ID, nil, true)
	if _, err := post(t, ctx, tr, URL(ls.ID)); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("disconnect while waiting: %v", err)
	}
}

func TestTransportGivesUpAtTheDeadline(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	tr := &Transport{Store: s, Broker: NewBroker()}
	if err := s.Touch(context.Background(), ls.ID, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*PollInterval)
	defer cancel()
	if _, err := post(t, ctx, tr, URL(ls.ID)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no answer: %v", err)
	}
	var n int64
	s.DB.Model(&models.ListenMessage{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d message rows left after the attempt gave up", n)
	}
}

func TestClaimHandsEachMessageToOneStream(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	const n = 40
	for i := 0; i < n; i++ {
		m := models.ListenMessage{ID: "lsm_" + string(rune('a'+i%26)) + string(rune('a'+i/26)), SessionID: ls.ID,
			State: models.ListenPending, RequestHeaders: "{}", CreatedAt: now}
		if err := s.DB.Create(&m).Error; err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs, err := s.Claim(context.Background(), ls.ID)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, m := range msgs {
				got[m.ID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d messages claimed, want %d", len(got), n)
	}
	for id, c := range got {
		if c != 1 {
			t.Fatalf("%s claimed %d times", id, c)
		}
	}
}

func TestExpireIfIdle(t *testing.T) {
	now := time.Now().UTC()
	s, ls := testStore(t, &now)
	ctx := context.Background()
	r, err := s.ExpireIfIdle(ctx, ls.ID)
	// (Postgres keeps microseconds.)
	if err != nil || r.Gone || r.Expired || r.ExpiresAt.Sub(ls.ExpiresAt).Abs() > time.Millisecond {
		t.Fatalf("fresh session: %+v %v", r, err)
	}
	now = now.Add(20 * time.Second)
	if err := s.Touch(ctx, ls.ID, true); err != nil { // a heartbeat moves the expiry
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second) // past the first expiry, not the moved one
	if r, err = s.ExpireIfIdle(ctx, ls.ID); err != nil || r.Expired || !r.ExpiresAt.After(now) {
		t.Fatalf("after a heartbeat: %+v %v", r, err)
	}
	now = now.Add(time.Minute)
	if r, err = s.ExpireIfIdle(ctx, ls.ID); err != nil || !r.Expired {
		t.Fatalf("past the expiry: %+v %v", r, err)
	}
	var n int64
	s.DB.Model(&models.Webhook{}).Where("id = ?", ls.WebhookID).Count(&n)
	if n != 0 {
		t.Fatal("the expired session's webhook is still there")
	}
	if r, err = s.ExpireIfIdle(ctx, ls.ID); err != nil || !r.Gone {
		t.Fatalf("again: %+v %v", r, err)
	}
}
