package filters_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

// receiver records every request it gets and answers 200.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
}

type received struct {
	Header http.Header
	Body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{Header: req.Header.Clone(), Body: body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

// ids returns the webhook-id header of every request, in arrival order.
func (r *receiver) ids() []string {
	var out []string
	for _, q := range r.got() {
		out = append(out, q.Header.Get("webhook-id"))
	}
	return out
}

type webhook struct {
	ID               string            `json:"id"`
	Secret           string            `json:"secret"`
	EventFilters     map[string]any    `json:"event_filters"`
	FilterExpression *string           `json:"filter_expression"`
	PayloadInclude   []string          `json:"payload_include"`
	PayloadExclude   []string          `json:"payload_exclude"`
	CustomHeaders    map[string]string `json:"custom_headers"`
}

func createWebhook(t *testing.T, org *testenv.Org, body map[string]any) webhook {
	t.Helper()
	resp := org.Do(t, "POST", "/api/webhooks", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}
	var w webhook
	resp.JSON(t, &w)
	return w
}

type accepted struct {
	ID         string `json:"id"`
	Deliveries []struct {
		WebhookID string `json:"webhook_id"`
	} `json:"deliveries"`
}

func postEvent(t *testing.T, org *testenv.Org, ev map[string]any) accepted {
	t.Helper()
	resp := org.Do(t, "POST", "/api/events", ev)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", resp.Status, resp.Body)
	}
	var a accepted
	resp.JSON(t, &a)
	return a
}

func (a accepted) startedFor(webhookID string) bool {
	for _, d := range a.Deliveries {
		if d.WebhookID == webhookID {
			return true
		}
	}
	return false
}

func errorOf(t *testing.T, r testenv.Response) (field, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &body)
	return body.Error.Field, body.Error.Message
}

func event(id, typ string, object map[string]any) map[string]any {
	return map[string]any{"id": id, "type": typ, "data": map[string]any{"object": object}}
}
