// Package discord is a fake of the parts of the Discord HTTP API (v10)
// Aqio uses, at its wire format (an http.Handler; Mount puts it and its
// OAuth server on a mux). Built from Discord's developer documentation
// (Webhook resource, OAuth2 topic, Rate Limits topic):
//
// OAuth2: authorize GET /oauth2/authorize?response_type=code&client_id&
// scope=webhook.incoming&redirect_uri&state (Discord asks the user for a
// server and channel); token POST /api/oauth2/token (form, client
// credentials as HTTP Basic or in the body). With webhook.incoming the
// authorization_code answer carries the created webhook:
// {"token_type":"Bearer","access_token","expires_in":604800,
// "refresh_token","scope":"webhook.incoming","webhook":{"id","type":1,
// "guild_id","channel_id","name","avatar","token","application_id",
// "url":"https://discord.com/api/webhooks/{id}/{token}"}}; refresh answers
// carry no webhook. Revocation POST /api/oauth2/token/revoke (form token,
// token_type_hint; client credentials).
//
// Webhooks (the webhook's token in the path is the credential, no
// Authorization header):
//
//	GET    /api/webhooks/{id}/{token}              200 webhook object without "user"
//	POST   /api/webhooks/{id}/{token}?wait=true     {content, username, avatar_url, embeds:[{title,description,url,
//	                                               color,timestamp,fields:[{name,value,inline}],footer:{text}}],
//	                                               allowed_mentions} → 200 message {"id","channel_id","webhook_id",
//	                                               "content","embeds","timestamp",…}; without wait: 204
//	DELETE /api/webhooks/{id}/{token}              204
//
// Errors are {"code":<int>,"message":"…"} (+ "errors":{…} for form
// errors): 401 {"code":50027,"message":"Invalid Webhook Token"}, 404
// {"code":10015,"message":"Unknown Webhook"}, 400 {"code":50035,
// "message":"Invalid Form Body","errors":{…}} (content over 2000
// characters, more than 10 embeds, embed title over 256 / description
// over 4096, or an empty message: 50006 "Cannot send an empty message").
//
// Rate limits are per route bucket: every answer carries
// X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (Unix
// seconds, fractional), X-RateLimit-Reset-After (seconds, fractional) and
// X-RateLimit-Bucket; a 429 adds Retry-After (seconds), X-RateLimit-Scope
// (user, global or shared), X-RateLimit-Global on a global limit, and the
// body {"message":"You are being rate limited.","retry_after":<seconds,
// fractional>,"global":<bool>,"code":0}. Clients that keep sending
// requests answered 401, 403 or 429 are banned for a while (10,000 in 10
// minutes); the fake counts them (InvalidRequests).
//
// Tests inject failures (Fail), force 429s (RateLimitNext), delete
// webhooks (DeleteWebhook), add pasted webhooks (AddWebhook) and inspect
// what arrived (Requests, Messages).
package discord

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/oauth"
)

// Webhook is an incoming webhook of the fake.
type Webhook struct {
	ID, Token, GuildID, ChannelID, Name string
	Deleted                             bool
}

// Embed is a received embed (the fields Aqio sends).
type Embed struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	Color       int    `json:"color,omitempty"`
	Timestamp   string `json:"timestamp,omitempty"`
	Fields      []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline,omitempty"`
	} `json:"fields,omitempty"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer,omitempty"`
}

// Message is a message posted through a webhook.
type Message struct {
	ID, WebhookID, ChannelID string
	Content                  string
	Username                 string
	Embeds                   []Embed
	Timestamp                time.Time
}

// Request is a request the fake's API received.
type Request struct {
	Method, Path, Query string
	Authorization       string
	Body                []byte
	Status              int
}

type failure struct {
	method string
	status int
	body   string
	n      int
}

// Fake is the Discord API fake (mounted below /api).
type Fake struct {
	// Base is the public URL of /api (for webhook urls), e.g. http://127.0.0.1:1234/discord/api.
	Base func() string

	mu       sync.Mutex
	hooks    map[string]*Webhook
	messages []Message
	requests []Request
	fails    []*failure
	limited  int
	retry    float64
	global   bool
	invalid  int
	seq      int64
}

// New returns an empty fake.
func New(base func() string) *Fake {
	return &Fake{Base: base, hooks: map[string]*Webhook{}, seq: 1_100_000_000_000_000_000}
}

// Mounted is the fake and its OAuth server on a mux.
type Mounted struct {
	*Fake
	OAuth  *oauth.Provider
	prefix string
}

// Mount serves the fake below prefix ("/discord"): /oauth2/authorize,
// /api/oauth2/token, /api/oauth2/token/revoke and /api/webhooks/.
// server returns the mux's public URL.
func Mount(mux *http.ServeMux, iss *oauth.Issuer, prefix string, clients map[string]string, server func() string) *Mounted {
	m := &Mounted{prefix: prefix}
	m.Fake = New(func() string { return server() + prefix + "/api" })
	m.OAuth = iss.Mount(mux, prefix, oauth.Config{
		Name: "discord", Clients: clients, ClientAuth: oauth.ClientAuthEither,
		AuthorizePath: "/oauth2/authorize", TokenPath: "/api/oauth2/token", RevokePath: "/api/oauth2/token/revoke",
		AccessTTL: 7 * 24 * time.Hour, TokenType: "Bearer",
		Extra: func(grant string) map[string]any {
			out := map[string]any{"scope": "webhook.incoming"}
			if grant == "authorization_code" {
				h := m.AddWebhook("Aqio")
				out["webhook"] = m.webhookJSON(h, true)
			}
			return out
		},
	})
	mux.Handle(prefix+"/api/webhooks/", http.StripPrefix(prefix+"/api", m.Fake))
	return m
}

// AuthPath, TokenPath, RevokePath and APIPath are the fake's paths (below the mux URL).
func (m *Mounted) AuthPath() string   { return m.prefix + "/oauth2/authorize" }
func (m *Mounted) TokenPath() string  { return m.prefix + "/api/oauth2/token" }
func (m *Mounted) RevokePath() string { return m.prefix + "/api/oauth2/token/revoke" }
func (m *Mounted) APIPath() string    { return m.prefix + "/api" }

func (f *Fake) snowflake() string {
	f.seq += 1 + int64(randInt(1000))
	return strconv.FormatInt(f.seq, 10)
}

func randInt(n int64) int64 {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return v.Int64()
}

// AddWebhook creates an incoming webhook (as a user does in channel
// settings, or the OAuth flow does) and returns it.
func (f *Fake) AddWebhook(name string) Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := make([]byte, 34)
	_, _ = rand.Read(b)
	h := &Webhook{ID: f.snowflake(), Token: hex.EncodeToString(b), GuildID: f.snowflake(), ChannelID: f.snowflake(), Name: name}
	f.hooks[h.ID] = h
	return *h
}

// URL is a webhook's execute URL.
func (f *Fake) URL(h Webhook) string { return f.Base() + "/webhooks/" + h.ID + "/" + h.Token }

// DeleteWebhook deletes a webhook (a user removed it in Discord).
func (f *Fake) DeleteWebhook(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if h, ok := f.hooks[id]; ok {
		h.Deleted = true
	}
}

// Webhook returns a webhook by id.
func (f *Fake) Webhook(id string) (Webhook, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hooks[id]
	if !ok {
		return Webhook{}, false
	}
	return *h, true
}

// Fail makes the next n requests of a method to webhooks answer status with body.
func (f *Fake) Fail(method string, n, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = append(f.fails, &failure{method: method, status: status, body: body, n: n})
}

// RateLimitNext makes the next n webhook requests answer 429 with
// retry_after seconds (global: the global limit).
func (f *Fake) RateLimitNext(n int, retryAfter float64, global bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.retry, f.global = n, retryAfter, global
}

// Messages lists the messages posted through a webhook, oldest first.
func (f *Fake) Messages(webhookID string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for _, m := range f.messages {
		if m.WebhookID == webhookID {
			out = append(out, m)
		}
	}
	return out
}

// MessagesTitled lists the messages with an embed of this title, oldest first.
func (f *Fake) MessagesTitled(title string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for _, m := range f.messages {
		for _, e := range m.Embeds {
			if e.Title == title {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Requests lists the requests received, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// InvalidRequests counts answers 401, 403 and 429 (what Discord bans for).
func (f *Fake) InvalidRequests() int { f.mu.Lock(); defer f.mu.Unlock(); return f.invalid }

func (f *Fake) webhookJSON(h Webhook, withURL bool) map[string]any {
	out := map[string]any{"id": h.ID, "type": 1, "guild_id": h.GuildID, "channel_id": h.ChannelID, "name": h.Name,
		"avatar": nil, "token": h.Token, "application_id": nil}
	if withURL {
		out["url"] = f.URL(h)
	}
	return out
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rw := &recorder{ResponseWriter: w, status: 200}
	f.serve(rw, r, body)
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), Body: body, Status: rw.status})
	if rw.status == 401 || rw.status == 403 || rw.status == 429 {
		f.invalid++
	}
	f.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "webhooks" {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0})
		return
	}
	f.mu.Lock()
	// One bucket per webhook: 5 requests per 2 s window (the headers
	// only describe it; the fake limits when told to).
	h := w.Header()
	h.Set("X-RateLimit-Bucket", "b"+parts[1][len(parts[1])-6:])
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "4")
	h.Set("X-RateLimit-Reset-After", "2.000")
	h.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(time.Now().Add(2*time.Second).UnixMilli())/1000))
	if f.limited > 0 {
		f.limited--
		retry, global := f.retry, f.global
		f.mu.Unlock()
		h.Set("Retry-After", strconv.Itoa(int(retry+0.999)))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", fmt.Sprintf("%.3f", retry))
		if global {
			h.Set("X-RateLimit-Global", "true")
			h.Set("X-RateLimit-Scope", "global")
		} else {
			h.Set("X-RateLimit-Scope", "user")
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": retry, "global": global, "code": 0})
		return
	}
	for i, fl := range f.fails {
		if fl.method == r.Method && fl.n > 0 {
			fl.n--
			if fl.n == 0 {
				f.fails = append(f.fails[:i], f.fails[i+1:]...)
			}
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fl.status)
			_, _ = io.WriteString(w, fl.body)
			return
		}
	}
	hook, ok := f.hooks[parts[1]]
	switch {
	case !ok || hook.Deleted:
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Webhook", "code": 10015})
		return
	case hook.Token != parts[2]:
		f.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid Webhook Token", "code": 50027})
		return
	}
	hk := *hook
	switch r.Method {
	case http.MethodGet:
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, f.webhookJSON(hk, false))
	case http.MethodDelete:
		hook.Deleted = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		f.mu.Unlock()
		f.execute(w, r, hk, body)
	default:
		f.mu.Unlock()
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "405: Method Not Allowed", "code": 0})
	}
}

func (f *Fake) execute(w http.ResponseWriter, r *http.Request, h Webhook, body []byte) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Cannot send an empty message", "code": 50006})
		return
	}
	var in struct {
		Content  string  `json:"content"`
		Username string  `json:"username"`
		Embeds   []Embed `json:"embeds"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "400: Bad Request", "code": 50109})
		return
	}
	formErr := func(field, code, msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035,
			"errors": map[string]any{field: map[string]any{"_errors": []any{map[string]any{"code": code, "message": msg}}}}})
	}
	switch {
	case in.Content == "" && len(in.Embeds) == 0:
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Cannot send an empty message", "code": 50006})
		return
	case len([]rune(in.Content)) > 2000:
		formErr("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
		return
	case len(in.Embeds) > 10:
		formErr("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
		return
	}
	for _, e := range in.Embeds {
		if len([]rune(e.Title)) > 256 || len([]rune(e.Description)) > 4096 {
			formErr("embeds", "BASE_TYPE_MAX_LENGTH", "Embed title must be 256 or fewer, description 4096 or fewer in length.")
			return
		}
	}
	f.mu.Lock()
	m := Message{ID: f.snowflake(), WebhookID: h.ID, ChannelID: h.ChannelID, Content: in.Content, Username: in.Username,
		Embeds: in.Embeds, Timestamp: time.Now().UTC()}
	f.messages = append(f.messages, m)
	f.mu.Unlock()
	if r.URL.Query().Get("wait") != "true" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": m.ID, "type": 0, "channel_id": m.ChannelID, "webhook_id": h.ID,
		"content": m.Content, "embeds": m.Embeds, "timestamp": m.Timestamp.Format("2006-01-02T15:04:05.000000+00:00"),
		"author": map[string]any{"id": h.ID, "username": h.Name, "bot": true}, "tts": false, "mentions": []any{}, "attachments": []any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
