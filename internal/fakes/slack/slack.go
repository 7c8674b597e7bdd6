// Package slack is a fake Slack: OAuth v2 (oauth.v2.access with token
// rotation, 200 {"ok":false} errors), chat.postMessage, auth.revoke and
// incoming webhooks, at Slack's wire format. Tokens look like Slack's
// (xoxe.xoxb-1-…, refresh xoxe-1-…); a token not issued by this fake —
// another provider's included — is invalid_auth.
package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Message is a message the fake received.
type Message struct {
	Channel string           `json:"channel"`
	Text    string           `json:"text"`
	Blocks  []map[string]any `json:"blocks"`
	Webhook bool             `json:"-"`
	TS      string           `json:"-"`
}

// Fake is the fake Slack, mounted under a prefix ("/slack").
type Fake struct {
	OAuth *oauth.Provider

	mu         sync.Mutex
	base       string
	messages   []Message
	rateLimits map[string]int
	hooksGone  bool
	revoked    []string
	now        func() time.Time
}

// Mount registers the fake on mux. baseURL is the server's URL (for the
// incoming-webhook URLs the token answer carries).
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, baseURL func() string) *Fake {
	f := &Fake{rateLimits: map[string]int{}, now: time.Now}
	f.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "slack", Clients: clients, ClientAuth: oauth.ClientAuthEither, Style: oauth.StyleSlack,
		AuthorizePath: "/oauth/v2/authorize", TokenPath: "/api/oauth.v2.access", RevokePath: "-",
		AccessPrefix: "xoxe.xoxb-1-", RefreshPrefix: "xoxe-1-", TokenType: "bot", AccessTTL: 12 * time.Hour,
		Extra: func(grant string) map[string]any {
			extra := map[string]any{"bot_user_id": "U0FAKEBOT", "app_id": "A0FAKEAPP",
				"team": map[string]any{"id": "T0FAKE", "name": "Aqio Test"}, "enterprise": nil}
			if grant == "authorization_code" {
				extra["incoming_webhook"] = map[string]any{
					"channel": "#events", "channel_id": "C0EVENTS",
					"configuration_url": baseURL() + prefix + "/config",
					"url":               baseURL() + prefix + "/hooks/T0FAKE/B0FAKE/" + fmt.Sprint(time.Now().UnixNano()) + "abcdefghijkl",
				}
			}
			return extra
		},
	})
	mux.HandleFunc("POST "+prefix+"/api/auth.revoke", f.revoke)
	mux.HandleFunc("POST "+prefix+"/api/chat.postMessage", f.postMessage)
	mux.HandleFunc("POST "+prefix+"/hooks/{rest...}", f.incomingWebhook)
	return f
}

// RateLimit makes the next n requests whose path ends with suffix answer
// 429 {"ok":false,"error":"ratelimited"} with Retry-After: 1.
func (f *Fake) RateLimit(suffix string, n int) { f.mu.Lock(); f.rateLimits[suffix] = n; f.mu.Unlock() }

// RemoveIncomingWebhooks makes every incoming webhook answer 404
// no_service (the user removed the app's webhook in Slack).
func (f *Fake) RemoveIncomingWebhooks() { f.mu.Lock(); f.hooksGone = true; f.mu.Unlock() }

// Messages lists the messages received.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

// Revoked lists tokens revoked with auth.revoke.
func (f *Fake) Revoked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.revoked...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) limited(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	hit := false
	for suffix, n := range f.rateLimits {
		if n > 0 && strings.HasSuffix(r.URL.Path, suffix) {
			f.rateLimits[suffix] = n - 1
			hit = true
		}
	}
	f.mu.Unlock()
	if hit {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	}
	return hit
}

// auth answers Slack's token errors: not_authed without a token,
// token_expired for an expired one, invalid_auth for an unknown one.
func (f *Fake) auth(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, st := f.OAuth.Check(r)
	code := ""
	switch st {
	case oauth.Missing:
		code = "not_authed"
	case oauth.Expired:
		code = "token_expired"
	case oauth.Invalid:
		code = "invalid_auth"
	}
	if code != "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
		return "", false
	}
	return tok, true
}

func (f *Fake) revoke(w http.ResponseWriter, r *http.Request) {
	tok, ok := f.auth(w, r)
	if !ok {
		return
	}
	f.OAuth.Revoke(tok)
	f.mu.Lock()
	f.revoked = append(f.revoked, tok)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": true})
}

func (f *Fake) postMessage(w http.ResponseWriter, r *http.Request) {
	if f.limited(w, r) {
		return
	}
	if _, ok := f.auth(w, r); !ok {
		return
	}
	var m Message
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_json"})
		return
	}
	switch {
	case m.Channel == "", strings.Contains(m.Channel, "missing"):
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case strings.Contains(m.Channel, "nobot"):
		// The bot is not a member of this channel.
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_permission"})
		return
	case m.Text == "" && len(m.Blocks) == 0:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	}
	f.mu.Lock()
	m.TS = fmt.Sprintf("%d.%06d", f.now().Unix(), len(f.messages)+1)
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": "C0EVENTS", "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "bot_id": "B0FAKE"}})
}

func (f *Fake) incomingWebhook(w http.ResponseWriter, r *http.Request) {
	if f.limited(w, r) {
		return
	}
	f.mu.Lock()
	gone := f.hooksGone
	f.mu.Unlock()
	if gone {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no_service"))
		return
	}
	var m Message
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	m.Webhook = true
	f.mu.Lock()
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}
