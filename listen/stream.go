package listen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aqio/connect/models"
)

// Delivery is one request as the stream carries it to the CLI (the data
// of an SSE "delivery" event): the signed headers and body the CLI posts
// to its local URL unchanged.
type Delivery struct {
	ID        string      `json:"id"`
	SessionID string      `json:"session_id"`
	Headers   http.Header `json:"headers"`
	Body      string      `json:"body"`
}

// Serve writes the session's stream as server-sent events until ctx ends
// or the session does: first a "session" event, then a "delivery" event
// for every message handed to it, a ping comment at every heartbeat, and
// an "end" event when the session was ended or expired. flush pushes what
// was written to the client. While it runs the session is connected and
// its expiry keeps moving; when it returns the session is marked
// disconnected (it expires one TTL later unless the CLI reconnects).
func (s *Store) Serve(ctx context.Context, w io.Writer, flush func(), ls models.ListenSession, b *Broker) error {
	if err := s.Touch(ctx, ls.ID, true); err != nil {
		return err
	}
	defer func() {
		// The request's context is over; record the disconnect anyway.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.Touch(dctx, ls.ID, false)
	}()
	ttl := time.Duration(ls.TTLSeconds) * time.Second
	hello, _ := json.Marshal(map[string]any{"id": ls.ID, "webhook_id": ls.WebhookID, "forward_to": ls.ForwardTo, "ttl_seconds": ls.TTLSeconds})
	if err := writeEvent(w, "session", "", hello); err != nil {
		return err
	}
	flush()

	wake, stop := b.Subscribe(SessionKey(ls.ID))
	defer stop()
	poll := time.NewTicker(PollInterval)
	defer poll.Stop()
	beat := time.NewTicker(Heartbeat(ttl))
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			err := s.Touch(ctx, ls.ID, true)
			if errors.Is(err, ErrNotFound) {
				_ = writeEvent(w, "end", "", []byte(`{"reason":"the session was ended or expired"}`))
				flush()
				return nil
			}
			if err != nil && ctx.Err() == nil {
				return err
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return nil // the CLI is gone
			}
			flush()
			continue
		case <-wake:
		case <-poll.C:
		}
		msgs, err := s.Claim(ctx, ls.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, m := range msgs {
			d := Delivery{ID: m.ID, SessionID: ls.ID, Body: m.RequestBody}
			_ = json.Unmarshal([]byte(m.RequestHeaders), &d.Headers)
			data, _ := json.Marshal(d)
			if err := writeEvent(w, "delivery", m.ID, data); err != nil {
				return nil
			}
		}
		if len(msgs) > 0 {
			flush()
		}
	}
}

// writeEvent writes one server-sent event (data is one line of JSON).
func writeEvent(w io.Writer, event, id string, data []byte) error {
	if id != "" {
		if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

// Answered wakes the attempt waiting for message id (in this process).
func (b *Broker) Answered(id string) { b.Notify(MessageKey(id)) }
