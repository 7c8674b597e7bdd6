package providers

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	hub := RateLimitHeaders{Remaining: "X-HubSpot-RateLimit-Remaining", IntervalMillis: "X-HubSpot-RateLimit-Interval-Milliseconds"}
	discord := RateLimitHeaders{ResetAfter: "X-RateLimit-Reset-After"}
	gh := RateLimitHeaders{ResetAt: "X-RateLimit-Reset"}
	for _, tc := range []struct {
		name string
		h    RateLimitHeaders
		hdr  map[string]string
		want time.Duration
	}{
		{"retry-after seconds", RateLimitHeaders{}, map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"retry-after date", RateLimitHeaders{}, map[string]string{"Retry-After": now.Add(30 * time.Second).UTC().Format(http.TimeFormat)}, 30 * time.Second},
		{"reset after fractional", discord, map[string]string{"X-RateLimit-Reset-After": "1.25"}, 1250 * time.Millisecond},
		{"reset at unix", gh, map[string]string{"X-RateLimit-Reset": "1700000012"}, 12 * time.Second},
		{"interval when none remaining", hub, map[string]string{"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 10 * time.Second},
		{"interval ignored while some remain", hub, map[string]string{"X-HubSpot-RateLimit-Remaining": "3", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 0},
		{"nothing", RateLimitHeaders{}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			if got := RetryDelay(h, tc.h, now); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSessionRefreshesOnceOn401 sends a request with a body through a
// session whose token the server refuses once: the session refreshes,
// resends the same body with the new token, and keeps the answer's
// excerpt with credentials redacted.
func TestSessionRefreshesOnceOn401(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b := new(strings.Builder)
		_, _ = io.Copy(b, r.Body)
		if r.Header.Get("Authorization") != "Bearer new-token-123" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"expired old-token-123"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true,"echo":"` + b.String() + `","t":"new-token-123"}`))
	}))
	defer srv.Close()
	info := Info{Type: "test", Auth: AuthOAuth2}
	conn := Planned(info)
	s := NewSession(conn, info, Credentials{AccessToken: "old-token-123"})
	refreshed := 0
	s.Refresh = func(context.Context) (Credentials, error) {
		refreshed++
		return Credentials{AccessToken: "new-token-123"}, nil
	}
	rt := &Runtime{Provider: Provider{Info: info, Connector: conn}, HTTP: s.Client(http.DefaultClient)}
	req, _ := JSONRequest(context.Background(), "POST", srv.URL+"/x?key=secret", map[string]string{"a": "b"})
	_, body, err := rt.Do(req)
	if err != nil || refreshed != 1 || calls.Load() != 2 || !strings.Contains(string(body), `{\"a\":\"b\"}`) && !strings.Contains(string(body), `"a"`) {
		t.Fatalf("err=%v refreshed=%d calls=%d body=%s", err, refreshed, calls.Load(), body)
	}
	last := s.Last()
	if strings.Contains(last.Excerpt, "new-token-123") || strings.Contains(last.URL, "secret") || last.Status != 200 {
		t.Fatalf("excerpt not redacted: %+v", last)
	}
	// Refused again after the refresh: the classified error is returned, no second refresh.
	s2 := NewSession(conn, info, Credentials{AccessToken: "old-token-123"})
	s2.Refresh = func(context.Context) (Credentials, error) {
		refreshed++
		return Credentials{AccessToken: "still-bad"}, nil
	}
	rt.HTTP = s2.Client(http.DefaultClient)
	req, _ = JSONRequest(context.Background(), "POST", srv.URL+"/x", nil)
	_, _, err = rt.Do(req)
	pe, ok := AsError(err)
	if !ok || pe.Kind != KindExpired || refreshed != 2 {
		t.Fatalf("second: %v refreshed=%d", err, refreshed)
	}
}

// TestSessionRedactsOnlySecrets: the excerpt kept for support staff hides
// the tokens, secret (and undeclared) credential fields and the extras
// the catalog marks secret, and keeps plain extras such as an API host
// (Zoom api_url) and public credential fields (an account API URL).
func TestSessionRedactsOnlySecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"seen":"` + r.Header.Get("Authorization") + `","hook":"https://hooks.example/T1/B2/hooksecret99","key":"apikey-secret-1","extra":"undeclared-value-1"}`))
	}))
	defer srv.Close()
	info := Info{Type: "test", Auth: AuthOAuth2,
		CredentialFields: []CredentialField{{Name: "api_url"}, {Name: "api_key", Secret: true}},
		SecretExtras:     []string{"incoming_webhook"}}
	conn := Planned(info)
	s := NewSession(conn, info, Credentials{AccessToken: "access-token-1",
		Fields: map[string]string{"api_url": srv.URL, "api_key": "apikey-secret-1", "other": "undeclared-value-1"},
		Extra:  map[string]any{"api_url": srv.URL, "incoming_webhook": map[string]any{"url": "https://hooks.example/T1/B2/hooksecret99"}}})
	rt := &Runtime{Provider: Provider{Info: info, Connector: conn}, HTTP: s.Client(http.DefaultClient)}
	req, _ := JSONRequest(context.Background(), "PATCH", srv.URL+"/v2/meetings/85746065001", nil)
	if _, _, err := rt.Do(req); err != nil {
		t.Fatal(err)
	}
	last := s.Last()
	if last.URL != srv.URL+"/v2/meetings/85746065001" {
		t.Errorf("URL %q: a plain API host extra was redacted", last.URL)
	}
	for _, secret := range []string{"access-token-1", "hooksecret99", "apikey-secret-1", "undeclared-value-1"} {
		if strings.Contains(last.Excerpt, secret) || strings.Contains(last.URL, secret) {
			t.Errorf("%q not redacted: %+v", secret, last)
		}
	}
}

// deadOn401 classifies every 401 as a dead credential, as Discord does for
// an invalid webhook token.
type deadOn401 struct{ Connector }

func (d deadOn401) Classify(resp *http.Response, body []byte) *Error {
	if resp.StatusCode == http.StatusUnauthorized {
		return &Error{Provider: "test", Kind: KindAuth, Code: "50027", Status: 401}
	}
	return d.Connector.Classify(resp, body)
}

// TestSessionDoesNotRefreshDeadCredentials: a 401 the connector classifies
// as KindAuth is not refreshed and not resent (one request, not two), while
// a plain 401 still is (TestSessionRefreshesOnceOn401).
func TestSessionDoesNotRefreshDeadCredentials(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":50027,"message":"Invalid Webhook Token"}`))
	}))
	defer srv.Close()
	info := Info{Type: "test", Auth: AuthOAuth2}
	conn := deadOn401{Planned(info)}
	s := NewSession(conn, info, Credentials{AccessToken: "tok", RefreshToken: "ref"})
	refreshed := 0
	s.Refresh = func(context.Context) (Credentials, error) {
		refreshed++
		return Credentials{AccessToken: "tok2"}, nil
	}
	rt := &Runtime{Provider: Provider{Info: info, Connector: conn}, HTTP: s.Client(http.DefaultClient)}
	req, _ := JSONRequest(context.Background(), "POST", srv.URL+"/webhooks/1/x", map[string]string{"content": "hi"})
	_, _, err := rt.Do(req)
	pe, ok := AsError(err)
	if !ok || pe.Kind != KindAuth || refreshed != 0 || calls.Load() != 1 {
		t.Fatalf("err=%v refreshed=%d calls=%d", err, refreshed, calls.Load())
	}
}
