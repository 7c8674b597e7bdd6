package discord_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/discord"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		hdr    map[string]string
		body   string
		kind   providers.Kind
		code   string
		retry  time.Duration
	}{
		{"posted", 200, nil, `{"id":"1"}`, "", "", 0},
		{"route limit: body retry_after wins over a shorter header", 429, map[string]string{"Retry-After": "1", "X-RateLimit-Reset-After": "0.5"},
			`{"message":"You are being rate limited.","retry_after":2.5,"global":false}`, providers.KindRateLimited, "rate_limited", 2500 * time.Millisecond},
		{"global limit", 429, map[string]string{"X-RateLimit-Global": "true", "Retry-After": "3"},
			`{"message":"You are being rate limited.","retry_after":0.2,"global":true}`, providers.KindRateLimited, "global_rate_limited", 3 * time.Second},
		{"unknown webhook", 404, nil, `{"message":"Unknown Webhook","code":10015}`, providers.KindAuth, "unknown_webhook", 0},
		{"invalid token", 401, nil, `{"message":"Invalid Webhook Token","code":50027}`, providers.KindAuth, "invalid_webhook_token", 0},
		{"forbidden", 403, nil, `{"message":"Missing Access","code":50001}`, providers.KindAuth, "missing_access", 0},
		{"form error", 400, nil, `{"message":"Invalid Form Body","code":50035,"errors":{"content":{}}}`, providers.KindPermanent, "invalid_form_body", 0},
		{"cloudflare", 502, nil, `<html>bad gateway</html>`, providers.KindRetryable, "http_502", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tc.hdr {
				rec.Header().Set(k, v)
			}
			rec.WriteHeader(tc.status)
			pe := discord.Classify(rec.Result(), []byte(tc.body))
			if tc.kind == "" {
				if pe != nil {
					t.Fatalf("success classified %v", pe)
				}
				return
			}
			if pe == nil || pe.Kind != tc.kind || pe.Code != tc.code || pe.RetryAfter != tc.retry {
				t.Fatalf("got %+v, want %s %s %v", pe, tc.kind, tc.code, tc.retry)
			}
		})
	}
}

func TestParseWebhookURL(t *testing.T) {
	const tok = "AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcdefghijklmnopqrstuvwxyz0123"
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"discord.com", "https://discord.com/api/webhooks/1234567890123/" + tok, true},
		{"versioned discordapp", "https://discordapp.com/api/v10/webhooks/1234567890123/" + tok, true},
		{"other host", "https://evil.example/api/webhooks/1234567890123/" + tok, false},
		{"http", "http://discord.com/api/webhooks/1234567890123/" + tok, false},
		{"query", "https://discord.com/api/webhooks/1234567890123/" + tok + "?wait=true", false},
		{"no token", "https://discord.com/api/webhooks/1234567890123", false},
		{"below configured base", "http://127.0.0.1:9/discord/api/webhooks/1234567890123/" + tok, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := discord.ParseWebhookURL(tc.url, "http://127.0.0.1:9/discord/api", true)
			if tc.ok != (err == nil) || (tc.ok && (h.ID != "1234567890123" || h.Token != tok)) {
				t.Fatalf("got %+v %v", h, err)
			}
		})
	}
	if _, err := discord.ParseWebhookURL("http://127.0.0.1:9/discord/api/webhooks/1234567890123/"+tok, "http://127.0.0.1:9/discord/api", false); err == nil {
		t.Fatal("a URL below an unconfigured base was accepted")
	}
}
