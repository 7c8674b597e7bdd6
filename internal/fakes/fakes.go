// Package fakes runs the provider fakes on one local server, each under
// its path prefix, sharing one fake OAuth issuer (internal/fakes/oauth),
// so a token issued for one provider is refused by another:
//
//	/oauth/authorize, /oauth/token, /oauth/revoke   Google OAuth
//	/calendar/v3/...                               Google Calendar (internal/fakes/googlecalendar)
//	/slack/oauth/v2/authorize, /slack/api/...      Slack (internal/fakes/slack)
//	/slack/hooks/...                               Slack incoming webhooks
//
// Provider fakes of other connectors mount themselves on Mux with the
// same Issuer.
package fakes

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/internal/fakes/googlecalendar"
	"github.com/aqio/connect/internal/fakes/oauth"
	"github.com/aqio/connect/internal/fakes/slack"
)

// SlackMessage is a message the fake Slack received.
type SlackMessage = slack.Message

// Server is the fake providers' server.
type Server struct {
	*httptest.Server
	Mux      *http.ServeMux
	Issuer   *oauth.Issuer
	Slack    *slack.Fake
	Calendar *googlecalendar.Fake

	mu sync.Mutex
	// held: path part → closed on release; waiting counts held requests.
	held    map[string]chan struct{}
	waiting map[string]int
}

// New starts the fakes. clients maps OAuth client ids to secrets (every
// provider accepts them all; tokens stay bound to their provider).
func New(clients map[string]string) *Server {
	f := &Server{Mux: http.NewServeMux(), Issuer: oauth.NewIssuer(), held: map[string]chan struct{}{}, waiting: map[string]int{}}
	f.Calendar = googlecalendar.Mount(f.Mux, f.Issuer, "", "/calendar/v3", clients)
	f.Slack = slack.Mount(f.Mux, f.Issuer, "/slack", clients, func() string { return f.URL })
	f.Server = httptest.NewServer(f.holding(f.Mux))
	return f
}

func (f *Server) oauths() []*oauth.Provider {
	return []*oauth.Provider{f.Slack.OAuth, f.Calendar.OAuth}
}

// SetAccessTokenLifetime sets expires_in of tokens issued from now on.
func (f *Server) SetAccessTokenLifetime(d time.Duration) {
	for _, p := range f.oauths() {
		p.SetAccessTTL(d)
	}
}

// SetRotateRefreshTokens makes every refresh return a new refresh token
// and invalidate the old one.
func (f *Server) SetRotateRefreshTokens(on bool) {
	for _, p := range f.oauths() {
		p.SetRotate(on)
	}
}

// SetDenyConsent makes the authorize endpoints answer error=access_denied.
func (f *Server) SetDenyConsent(on bool) {
	for _, p := range f.oauths() {
		p.SetDenyConsent(on)
	}
}

// RevokeAllRefreshTokens makes every refresh answer invalid_grant.
func (f *Server) RevokeAllRefreshTokens() {
	for _, p := range f.oauths() {
		p.RevokeAllRefreshTokens()
	}
}

// RateLimit makes the next n requests whose path ends with suffix answer 429.
func (f *Server) RateLimit(suffix string, n int) {
	f.Slack.RateLimit(suffix, n)
	f.Calendar.RateLimit(suffix, n)
}

// Refreshes counts successful refresh-token grants.
func (f *Server) Refreshes() int {
	n := 0
	for _, p := range f.oauths() {
		n += p.Refreshes()
	}
	return n
}

// Revoked lists revoked tokens (Google revocation and Slack auth.revoke).
func (f *Server) Revoked() []string {
	return append(f.Calendar.OAuth.Revoked(), f.Slack.Revoked()...)
}

// Messages lists Slack messages received.
func (f *Server) Messages() []SlackMessage { return f.Slack.Messages() }

// CalendarEvent returns a calendar event's JSON as the API would (nil if absent).
func (f *Server) CalendarEvent(calendarID, id string) map[string]any {
	return f.Calendar.Event(calendarID, id)
}

// CalendarEventCount counts events (cancelled ones included) in a calendar.
func (f *Server) CalendarEventCount(calendarID string) int { return f.Calendar.EventCount(calendarID) }

// Hold makes requests whose path contains part wait (a slow provider)
// until release is called. Waiting reports how many are waiting.
func (f *Server) Hold(part string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.held[part] = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.held, part)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Waiting is the number of requests held by Hold(part) right now.
func (f *Server) Waiting(part string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiting[part]
}

func (f *Server) holding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		var part string
		var ch chan struct{}
		for p, c := range f.held {
			if strings.Contains(r.URL.Path, p) {
				part, ch = p, c
				f.waiting[p]++
				break
			}
		}
		f.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
			}
			f.mu.Lock()
			f.waiting[part]--
			f.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}
