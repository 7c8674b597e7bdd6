package msgraph

import (
	"net/http"
	"testing"
	"time"

	"github.com/aqio/connect/providers"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		hdr    http.Header
		kind   providers.Kind
		code   string
		field  string
		after  time.Duration
	}{
		{"expired token", 401, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"request-id":"x"}}}`, nil, providers.KindExpired, "InvalidAuthenticationToken", "", 0},
		{"throttled with Retry-After", 429, `{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}}`, http.Header{"Retry-After": {"7"}}, providers.KindRateLimited, "ApplicationThrottled", "", 7 * time.Second},
		{"busy", 503, `{"error":{"code":"ServiceUnavailable","message":"busy"}}`, http.Header{"Retry-After": {"2"}}, providers.KindRateLimited, "ServiceUnavailable", "", 2 * time.Second},
		{"calendar not writable", 403, `{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`, nil, providers.KindPermanent, "ErrorAccessDenied", "settings.calendar_id", 0},
		{"missing permission", 403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}`, nil, providers.KindAuth, "Authorization_RequestDenied", "", 0},
		{"not found", 404, `{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}`, nil, providers.KindPermanent, "ErrorItemNotFound", "", 0},
		{"conflict", 409, `{"error":{"code":"ErrorIrresolvableConflict","message":"x"}}`, nil, providers.KindRetryable, "ErrorIrresolvableConflict", "", 0},
		{"bad request", 400, `{"error":{"code":"ErrorInvalidRequest","message":"x"}}`, nil, providers.KindPermanent, "ErrorInvalidRequest", "", 0},
		{"no body", 502, ``, nil, providers.KindRetryable, "http_502", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.hdr
			if h == nil {
				h = http.Header{}
			}
			e := Classify("outlook_calendar", &http.Response{StatusCode: tc.status, Header: h}, []byte(tc.body), "settings.calendar_id")
			if e == nil || e.Kind != tc.kind || e.Code != tc.code || e.Field != tc.field || (tc.after > 0 && e.RetryAfter != tc.after) {
				t.Fatalf("%+v", e)
			}
		})
	}
	if Classify("x", &http.Response{StatusCode: 201, Header: http.Header{}}, nil, "") != nil {
		t.Fatal("201 classified as a failure")
	}
}

func TestEndpoints(t *testing.T) {
	a, tok := Endpoints("contoso.onmicrosoft.com")
	if a != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize" || tok != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Fatal(a, tok)
	}
	if a, _ := Endpoints(""); a != "https://login.microsoftonline.com/common/oauth2/v2.0/authorize" {
		t.Fatal(a)
	}
}
