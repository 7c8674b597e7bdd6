package pipedrive

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/providertest"
)

// searchGate answers no person search until n have been answered by the
// fake, so n concurrent pushes all see "no such person" before any can
// create one (the interleaving of separate push workflows that
// duplicated persons).
func searchGate(n int, next http.Handler) http.Handler {
	var mu sync.Mutex
	answered := 0
	all := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v2/persons/search" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		mu.Lock()
		if answered++; answered == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func TestConcurrentPushesCreateOnePerson(t *testing.T) {
	const n = 4
	c, rt, f := setup(t, `{}`)
	gated := httptest.NewServer(searchGate(n, f))
	t.Cleanup(gated.Close)
	rt.APIBaseURL = gated.URL
	ctx := context.Background()
	push := c.Actions()["registration.created"]

	type outcome struct {
		res providers.Result
		err error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reg("ada@example.com")
			r["id"] = "reg_" + strconv.Itoa(i)
			out[i].res, out[i].err = push(ctx, rt, ev("registration.created", r))
		}()
	}
	wg.Wait()
	if ps := f.Persons("ada@example.com"); len(ps) != 1 {
		t.Fatalf("%d persons for one email after %d concurrent pushes, want 1: %+v", len(ps), n, ps)
	}
	created, lost := 0, 0
	for i, o := range out {
		switch pe, _ := providers.AsError(o.err); {
		case o.err == nil && o.res.Action == "created":
			created++
		case pe != nil && pe.Kind == providers.KindRetryable && pe.Code == "person_being_created":
			lost++
			// The activity's retry: the winner's link is there now.
			r := reg("ada@example.com")
			r["id"] = "reg_" + strconv.Itoa(i)
			res, err := push(ctx, rt, ev("registration.created", r))
			if err != nil || res.Action != "updated" || res.ExternalID != strconv.Itoa(f.Persons("ada@example.com")[0].ID) {
				t.Fatalf("push %d retried: %+v %v", i, res, err)
			}
		default:
			t.Fatalf("push %d: %+v %v", i, o.res, o.err)
		}
	}
	if created != 1 || lost != n-1 {
		t.Fatalf("%d created and %d told to retry, want 1 and %d", created, lost, n-1)
	}
	if ps := f.Persons("ada@example.com"); len(ps) != 1 || f.Count("POST", "/api/v2/persons") != 1 {
		t.Fatalf("%d persons, %d creates after the retries, want 1 and 1", len(ps), f.Count("POST", "/api/v2/persons"))
	}
	for i := range n {
		l, err := rt.Links.Get(ctx, linkRegistration, "reg_"+strconv.Itoa(i))
		if err != nil || l.ExternalID != strconv.Itoa(f.Persons("ada@example.com")[0].ID) {
			t.Fatalf("registration link %d: %+v %v", i, l, err)
		}
	}
}

func TestStalePersonClaimIsTakenOver(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	links := &providertest.MemLinks{Now: func() time.Time { return now }}
	rt.Links = links
	ctx := context.Background()
	push := c.Actions()["registration.created"]
	// A run claimed the email and died before creating the person.
	if ok, err := links.Claim(ctx, providers.Link{ObjectType: linkPerson, ObjectID: "ada@example.com", Status: "pending"}, ""); !ok || err != nil {
		t.Fatalf("claim %v %v", ok, err)
	}
	_, err := push(ctx, rt, ev("registration.created", reg("ada@example.com")))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindRetryable {
		t.Fatalf("push while claimed: %v, want a retryable error", err)
	}
	if len(f.Persons("ada@example.com")) != 0 {
		t.Fatal("a person was created under another run's fresh claim")
	}
	now = now.Add(providers.ClaimTimeout + time.Second)
	res, err := push(ctx, rt, ev("registration.created", reg("ada@example.com")))
	if err != nil || res.Action != "created" || len(f.Persons("ada@example.com")) != 1 {
		t.Fatalf("push after the claim went stale: %+v %v, persons %+v", res, err, f.Persons("ada@example.com"))
	}
	if l, _ := links.Get(ctx, linkPerson, "ada@example.com"); l.Status != "active" || l.ExternalID != res.ExternalID {
		t.Fatalf("person link %+v", l)
	}
}

func TestRefusedCreateReleasesTheClaim(t *testing.T) {
	c, rt, f := setup(t, `{}`)
	ctx := context.Background()
	push := c.Actions()["registration.created"]
	f.FailFor("POST", "/api/v2/persons", "grace@example.com", 1, http.StatusBadRequest,
		`{"success":false,"error":"Validation failed: name too long","data":null}`)
	_, err := push(ctx, rt, ev("registration.created", reg("grace@example.com")))
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindPermanent {
		t.Fatalf("refused push: %v, want a permanent error", err)
	}
	// Nothing was created: the re-run claims and creates at once.
	res, err := push(ctx, rt, ev("registration.created", reg("grace@example.com")))
	if err != nil || res.Action != "created" || len(f.Persons("grace@example.com")) != 1 {
		t.Fatalf("re-run: %+v %v, persons %+v", res, err, f.Persons("grace@example.com"))
	}
}
