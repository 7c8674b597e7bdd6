// Command go-receiver is a webhook receiver for Aqio Connect deliveries: it
// verifies each request's Standard Webhooks signature with the Go SDK's
// Verifier (HMAC whsec_ secrets and Ed25519 whpk_ public keys; the
// timestamp within 5 minutes), answers at once, deduplicates on
// webhook-id, and processes each message once, after the answer.
//
//	AQIO_WEBHOOK_SECRET=whsec_… go run ./go-receiver -addr 127.0.0.1:3000
//
// AQIO_WEBHOOK_SECRET may hold several keys, comma-separated: the old and
// the new one during a rotation's grace period. Every request is logged as
// one JSON line on stdout ({"outcome":"accepted"|"duplicate"|"rejected",…}).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	aqio "github.com/aqio/connect/sdk/go"
)

// seen remembers the webhook-ids already accepted. A redelivery or a retry
// after a lost answer carries the same webhook-id. Keep it in your database
// in production (a unique key on the id); in memory it is lost on restart.
type seen struct {
	mu  sync.Mutex
	ids map[string]time.Time
}

// firstTime records id and reports whether it was new. Ids older than the
// signature tolerance and then some are forgotten: a delivery that old
// fails verification anyway.
func (s *seen) firstTime(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.ids {
		if now.Sub(t) > 24*time.Hour {
			delete(s.ids, k)
		}
	}
	if _, dup := s.ids[id]; dup {
		return false
	}
	s.ids[id] = now
	return true
}

// forget drops id: its message was not taken after all.
func (s *seen) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

type record struct {
	Outcome   string `json:"outcome"`
	WebhookID string `json:"webhook_id,omitempty"`
	Type      string `json:"type,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	path := flag.String("path", "/webhook", "the path the webhook's URL points to")
	flag.Parse()
	keys := strings.Split(os.Getenv("AQIO_WEBHOOK_SECRET"), ",")
	v, err := aqio.NewVerifier(keys...)
	if err != nil {
		log.Fatalf("AQIO_WEBHOOK_SECRET: %v", err)
	}
	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	emit := func(r record) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = out.Encode(r)
	}
	// Work happens after the answer: a slow handler makes Aqio time out and
	// retry. A channel and one worker stand in for your job queue.
	work := make(chan []byte, 1024)
	go func() {
		for body := range work {
			var ev struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(body, &ev)
			_ = ev // handle the event here
		}
	}()
	dedup := &seen{ids: map[string]time.Time{}}
	http.HandleFunc("POST "+*path, func(w http.ResponseWriter, r *http.Request) {
		body, err := v.VerifyRequest(r, 1<<20)
		if err != nil {
			emit(record{Outcome: "rejected", WebhookID: r.Header.Get(aqio.HeaderWebhookID), Reason: err.Error()})
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(aqio.HeaderWebhookID)
		var ev struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &ev)
		if !dedup.firstTime(id, time.Now()) {
			emit(record{Outcome: "duplicate", WebhookID: id, Type: ev.Type})
			w.WriteHeader(http.StatusNoContent) // 2xx: Aqio stops retrying it
			return
		}
		select {
		case work <- body:
		default: // queue full: refuse, Aqio retries later (and then it is new again)
			dedup.forget(id)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		emit(record{Outcome: "accepted", WebhookID: id, Type: ev.Type})
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "go-receiver listening on http://%s%s\n", *addr, *path)
	log.Fatal(srv.ListenAndServe())
}
