package integrations_test

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

// TestSlackIncomingWebhook: with no channel set, messages go to the
// incoming webhook Slack granted at connect time (the incoming-webhook
// scope), not through chat.postMessage.
func TestSlackIncomingWebhook(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	id := connect(t, org, "slack", map[string]any{"notifications": map[string]any{"event_created": true}}, "")
	title := "Webhook talk " + org.ID
	postEvent(t, org, "wh1-"+org.ID, "event.created", event("evt_wh_"+org.ID, title, "2031-10-01T17:00:00Z", "2031-10-01T19:00:00Z", "in_person", 20))
	wid := workflows.PushWorkflowID(id, "wh1-"+org.ID)
	if st := waitClosed(t, env, wid); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push ended %v", st)
	}
	var res workflows.PushResult
	if err := env.App.Temporal.GetWorkflow(context.Background(), wid, "").Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Action != "posted" || res.Detail != "incoming webhook" {
		t.Fatalf("push result %+v", res)
	}
	msgs := slackMessages(title)
	if len(msgs) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	if m := msgs[0]; !m.Webhook || m.Channel != "" || len(m.Blocks) == 0 || !strings.Contains(m.Text, title) {
		t.Fatalf("message was not posted through the incoming webhook: %+v", m)
	}
}
