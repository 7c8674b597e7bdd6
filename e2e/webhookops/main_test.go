// Package webhookops_test drives the support and operations features of
// webhooks end to end: secret rotation, destination auth, redelivery,
// recovery, cancellation, auto-disable, stats and retention.
package webhookops_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func createWebhook(t *testing.T, org *testenv.Org, body map[string]any) map[string]any {
	t.Helper()
	resp := org.Do(t, "POST", "/api/webhooks", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.Status, resp.Body)
	}
	return resp.Map(t)
}

func post(t *testing.T, org *testenv.Org, id, typ string) {
	t.Helper()
	resp := org.Do(t, "POST", "/api/events", map[string]any{"id": id, "type": typ,
		"data": map[string]any{"object": map[string]any{"id": "obj_" + id, "event_id": "evt_1", "title": "Launch"}}})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", resp.Status, resp.Body)
	}
}

type attempt struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	IsFinal      bool    `json:"is_final"`
	MessageID    string  `json:"message_id"`
	WorkflowID   string  `json:"workflow_id"`
	EventID      string  `json:"event_id"`
	ErrorMessage *string `json:"error_message"`
}

func attempts(t *testing.T, org *testenv.Org, webhookID string) []attempt {
	t.Helper()
	var page struct {
		Data []attempt `json:"data"`
	}
	org.Do(t, "GET", "/api/webhooks/"+webhookID+"/deliveries?limit=100", nil).JSON(t, &page)
	return page.Data
}

// noneSending reports whether every attempt has its outcome (a pending
// row is a request being sent).
func noneSending(ds []attempt) bool {
	for _, d := range ds {
		if d.Status == "pending" {
			return false
		}
	}
	return true
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, what, cond)
}
