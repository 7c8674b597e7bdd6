package teamschannel_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/teamschannel"
)

func TestParseWebhookURL(t *testing.T) {
	const path = "/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1g"
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"logic apps", "https://prod-12.westeurope.logic.azure.com:443" + path, true},
		{"power platform", "https://default1.02.environment.api.powerplatform.com:443/powerautomate/automations/direct" + path, true},
		{"other host", "https://evil.example" + path, false},
		{"http", "http://prod-12.westeurope.logic.azure.com" + path, false},
		{"no signature", "https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=1", false},
		{"old connector webhook", "https://contoso.webhook.office.com/webhookb2/x/IncomingWebhook/y/z", false},
		{"below configured base", "http://127.0.0.1:9/tw" + path, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := teamschannel.ParseWebhookURL(tc.url, "http://127.0.0.1:9/tw", true)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	c := teamschannel.New()
	for _, tc := range []struct {
		name   string
		status int
		retry  string
		body   string
		kind   providers.Kind
		code   string
	}{
		{"accepted", 202, "", "", "", ""},
		{"throttled", 429, "7", `{"error":{"code":"WorkflowRequestsThrottled","message":"slow down"}}`, providers.KindRateLimited, "WorkflowRequestsThrottled"},
		{"bad signature", 401, "", `{"error":{"code":"DirectApiInvalidAuthorizationSignature","message":"no"}}`, providers.KindAuth, "DirectApiInvalidAuthorizationSignature"},
		{"flow deleted", 404, "", `{"error":{"code":"WorkflowNotFound","message":"gone"}}`, providers.KindAuth, "WorkflowNotFound"},
		{"schema", 400, "", `{"error":{"code":"TriggerInputSchemaMismatch","message":"bad"}}`, providers.KindPermanent, "TriggerInputSchemaMismatch"},
		{"gateway", 502, "", `<html/>`, providers.KindRetryable, "http_502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if tc.retry != "" {
				rec.Header().Set("Retry-After", tc.retry)
			}
			rec.WriteHeader(tc.status)
			pe := c.Classify(rec.Result(), []byte(tc.body))
			if tc.kind == "" {
				if pe != nil {
					t.Fatalf("success classified %v", pe)
				}
				return
			}
			if pe == nil || pe.Kind != tc.kind || pe.Code != tc.code {
				t.Fatalf("got %+v", pe)
			}
			if tc.retry != "" && pe.RetryAfter != 7*time.Second {
				t.Fatalf("retry after %v", pe.RetryAfter)
			}
		})
	}
}
