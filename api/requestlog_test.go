package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aqio/connect/metrics"
	"github.com/aqio/connect/requestlog"
)

func TestBodyPolicy(t *testing.T) {
	cases := []struct {
		method, route, want string
	}{
		{"POST", "/api/api-keys", requestlog.OmitSecret},
		{"POST", "/api/api-keys/:id/rotate", requestlog.OmitSecret},
		{"POST", "/api/api-keys/verify", requestlog.OmitSecret},
		{"POST", "/api/webhooks", requestlog.OmitSecret},
		{"PATCH", "/api/webhooks/:id", requestlog.OmitSecret},
		{"GET", "/api/webhooks/:id/secret", requestlog.OmitSecret},
		{"POST", "/api/webhooks/:id/rotate-secret", requestlog.OmitSecret},
		{"POST", "/api/integrations/:type/connect", requestlog.OmitSecret},
		{"GET", "/api/admin/keyring", requestlog.OmitSecret},
		{"POST", "/api/integrations/:id/feed", requestlog.OmitSecret},
		{"POST", "/api/listen/sessions", requestlog.OmitSecret},
		{"GET", "/api/listen/sessions/:id/stream", requestlog.OmitPersonal},
		{"POST", "/api/webhooks/filter-preview", requestlog.OmitPersonal},
		{"GET", "/api/integrations/:id/syncs/:sync_id", requestlog.OmitPersonal},
		{"GET", "/api/integrations/:id/activity", requestlog.OmitPersonal},
		{"POST", "/api/events", requestlog.OmitPersonal},
		{"GET", "/api/webhooks/:id/deliveries/:delivery_id", requestlog.OmitPersonal},
		{"POST", "/api/privacy/exports", requestlog.OmitPersonal},
		{"GET", "/api/request-logs/:id", requestlog.OmitPersonal},
		{"GET", "/api/webhooks", ""},
		{"GET", "/api/webhooks/:id", ""},
		{"POST", "/api/webhooks/:id/recover", ""},
		{"POST", "/api/some-new-route", requestlog.OmitSecret},
		{"PUT", "/api/organizations/:id", requestlog.OmitSecret},
	}
	for _, tc := range cases {
		if got := bodyPolicy(tc.method, tc.route); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.route, got, tc.want)
		}
	}
}

// BenchmarkRecordRequests is what the request log adds to one API call
// on the request path (capture, one append; the batch write is elsewhere):
// compare the two sub-benchmarks' ns/op and allocs/op.
//
//	go test ./api/ -run '^$' -bench RecordRequests -benchmem
func BenchmarkRecordRequests(b *testing.B) {
	spec, err := LoadSpec()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		on   bool
	}{{"off", false}, {"on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var rec *requestlog.Recorder
			if tc.on {
				rec = &requestlog.Recorder{MaxPending: 1 << 30}
			}
			srv := New(Deps{Spec: spec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
				Authenticators: []Authenticator{scopesAuth{}}, RequestLog: rec})
			h := srv.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, "/api/event-types", nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			if rec != nil && rec.Pending() != b.N {
				b.Fatalf("%d calls recorded, want %d", rec.Pending(), b.N)
			}
		})
	}
}
