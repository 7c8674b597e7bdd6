package privacy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

// TestExport: the access export holds exactly the subject's rows (their
// registration event, its delivery and their Aqio object, not another
// registrant's), is built by an Export run, and downloads once.
func TestExport(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := notAlnum.ReplaceAllString(strings.ToLower(org.ID), "")
	email, name := "ivo.export+"+low+"@example.com", "Ivo Exportsen"
	other, otherName := "bea+"+low+"@example.com", "Bea Otherfield"
	personal(email, name, other, otherName) // never erased, but never in history either

	evID := "xev_" + low
	postEvent(t, org, "xe1-"+low, "registration.confirmed", map[string]any{"id": "xreg1_" + low, "event_id": evID,
		"user_email": email, "user_name": name, "status": "confirmed"})
	postEvent(t, org, "xe2-"+low, "registration.confirmed", map[string]any{"id": "xreg2_" + low, "event_id": evID,
		"user_email": other, "user_name": otherName, "status": "confirmed"})

	resp := org.Do(t, "POST", "/api/privacy/exports", map[string]any{"request_id": "sar-" + low, "email": email})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("export: %d %s", resp.Status, resp.Body)
	}
	x := resp.Map(t)
	id := x["id"].(string)
	if x["workflow_id"] != "privacy-export:"+org.ID+":"+id {
		t.Fatalf("export %v", x)
	}
	// Before it is built the download is 409; a fast run may have built
	// it already, and then this first download is the one.
	dl := org.Do(t, "GET", "/api/privacy/exports/"+id+"/download", nil)
	if dl.Status != http.StatusConflict && dl.Status != http.StatusOK {
		t.Fatalf("download before ready: %d %s", dl.Status, dl.Body)
	}
	if dl.Status == http.StatusConflict {
		testenv.Eventually(t, wait, "export ready", func() bool {
			x = org.Do(t, "GET", "/api/privacy/exports/"+id, nil).Map(t)
			return x["status"] != "pending"
		})
		if x["status"] != "ready" || x["download_url"] != "/api/privacy/exports/"+id+"/download" {
			t.Fatalf("export %v", x)
		}
		dl = org.Do(t, "GET", "/api/privacy/exports/"+id+"/download", nil)
	}
	record(t, env, x["workflow_id"].(string), "privacy_export.json")
	if dl.Status != http.StatusOK {
		t.Fatalf("download: %d %s", dl.Status, dl.Body)
	}
	lower := strings.ToLower(string(dl.Body))
	if strings.Contains(lower, strings.ToLower(other)) || strings.Contains(lower, strings.ToLower(otherName)) {
		t.Fatalf("the export holds another person's data: %s", dl.Body)
	}
	var doc struct {
		Subject struct{ Email string }
		Records []struct {
			Table  string
			Key    map[string]string
			Fields map[string]json.RawMessage
		}
		Counts map[string]int
	}
	dl.JSON(t, &doc)
	if doc.Subject.Email != email {
		t.Fatalf("subject %+v", doc.Subject)
	}
	events := map[string]bool{}
	for _, r := range doc.Records {
		if !strings.Contains(strings.ToLower(string(mustJSON(t, r.Fields))), email) {
			t.Errorf("record %s %v does not concern the subject", r.Table, r.Key)
		}
		if r.Table == "events" {
			events[r.Key["id"]] = true
		}
	}
	if len(events) != 1 || !events["xe1-"+low] || doc.Counts["integration_objects"] != 1 {
		t.Fatalf("exported events %v, counts %v", events, doc.Counts)
	}
	// Once only.
	if r := org.Do(t, "GET", "/api/privacy/exports/"+id+"/download", nil); r.Status != http.StatusGone {
		t.Fatalf("second download: %d %s", r.Status, r.Body)
	}
	if x = org.Do(t, "GET", "/api/privacy/exports/"+id, nil).Map(t); x["status"] != "downloaded" || x["download_url"] != nil {
		t.Fatalf("after the download: %v", x)
	}
	var doc2 *string
	if err := env.App.Store.DB().Raw(`SELECT document FROM privacy_exports WHERE id = ?`, id).Scan(&doc2).Error; err != nil || doc2 != nil {
		t.Fatalf("the document is still stored (%v)", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRetention: the retention schedule carries the event and object
// retention, and a Retention run deletes events and integration objects
// older than theirs (reporting how many), keeping recent ones.
func TestRetention(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	low := notAlnum.ReplaceAllString(strings.ToLower(org.ID), "")
	for _, id := range []string{"old", "new"} {
		postEvent(t, org, "rt-"+id+"-"+low, "registration.confirmed", map[string]any{"id": "rtreg_" + id + "_" + low, "event_id": "rtev",
			"user_email": id + "+" + low + "@example.com", "status": "confirmed"})
	}
	db := env.App.Store.DB()
	old := time.Now().UTC().Add(-400 * 24 * time.Hour)
	testenv.Eventually(t, wait, "ingested", func() bool {
		var n int64
		db.Raw(`SELECT COUNT(*) FROM integration_objects WHERE organization_id = ?`, org.ID).Scan(&n)
		return n == 2
	})
	if err := db.Exec(`UPDATE events SET received_at = ? WHERE organization_id = ? AND id = ?`, old, org.ID, "rt-old-"+low).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE integration_objects SET updated_at = ? WHERE organization_id = ? AND object_id = ?`, old, org.ID, "rtreg_old_"+low).Error; err != nil {
		t.Fatal(err)
	}

	// The schedule runs the same workflow with the configured retention.
	desc, err := env.App.Temporal.ScheduleClient().GetHandle(context.Background(), workflows.RetentionScheduleID).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	act := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	var in workflows.RetentionInput
	if err := converter.GetDefaultDataConverter().FromPayload(act.Args[0].(*commonpb.Payload), &in); err != nil {
		t.Fatal(err)
	}
	if in.EventMaxAge != env.App.Config.EventRetention || in.ObjectMaxAge != env.App.Config.IntegrationObjectRetention || in.EventMaxAge == 0 {
		t.Fatalf("schedule input %+v", in)
	}

	run, err := env.App.Temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: "retention-test-" + org.ID, TaskQueue: workflows.WebhooksQueue,
	}, workflows.Retention, workflows.RetentionInput{MaxAge: 30 * 24 * time.Hour, EventMaxAge: 180 * 24 * time.Hour, ObjectMaxAge: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetentionResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Events != 1 || res.Objects != 1 {
		t.Fatalf("retention removed %+v, want 1 event and 1 object", res)
	}
	record(t, env, "retention-test-"+org.ID, "retention_personal_data.json")
	var events, objects []string
	db.Raw(`SELECT id FROM events WHERE organization_id = ?`, org.ID).Scan(&events)
	db.Raw(`SELECT object_id FROM integration_objects WHERE organization_id = ?`, org.ID).Scan(&objects)
	if len(events) != 1 || events[0] != "rt-new-"+low || len(objects) != 1 || objects[0] != "rtreg_new_"+low {
		t.Fatalf("left: events %v, objects %v", events, objects)
	}
}
