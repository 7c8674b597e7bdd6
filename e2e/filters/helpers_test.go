package filters_test

import (
	"net/http"
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

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
