package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/requestlog"
	"github.com/aqio/connect/workflows"
)

type logEntry struct {
	ID           string  `json:"id"`
	Method       string  `json:"method"`
	Route        string  `json:"route"`
	Path         string  `json:"path"`
	Status       int     `json:"status"`
	DurationMS   float64 `json:"duration_ms"`
	Auth         string  `json:"auth"`
	APIKeyID     *string `json:"api_key_id"`
	ClientIP     *string `json:"client_ip"`
	RequestID    *string `json:"request_id"`
	ErrorCode    *string `json:"error_code"`
	RequestBody  *string `json:"request_body"`
	ResponseBody *string `json:"response_body"`
	BodyOmitted  *string `json:"body_omitted"`
	Links        struct {
		AuditEntries []struct{ ID, Action string } `json:"audit_entries"`
		WebhookID    string                        `json:"webhook_id"`
		APIKeyID     string                        `json:"api_key_id"`
		EventID      string                        `json:"event_id"`
	} `json:"links"`
}

type logPage struct {
	Data       []logEntry `json:"data"`
	NextCursor *string    `json:"next_cursor"`
}

func listLogs(t *testing.T, env *testenv.Env, key, query string) logPage {
	t.Helper()
	r := withKey(t, env, key, "GET", "/api/request-logs?"+query, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list request logs ?%s: %d %s", query, r.Status, r.Body)
	}
	var p logPage
	r.JSON(t, &p)
	return p
}

func getLog(t *testing.T, env *testenv.Env, key, id string) logEntry {
	t.Helper()
	r := withKey(t, env, key, "GET", "/api/request-logs/"+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get request log %s: %d %s", id, r.Status, r.Body)
	}
	var e logEntry
	r.JSON(t, &e)
	return e
}

// find returns the one entry of route and method (and status, if not 0).
func find(t *testing.T, entries []logEntry, method, route string, status ...int) logEntry {
	t.Helper()
	var found []logEntry
	for _, e := range entries {
		if e.Method == method && e.Route == route && (len(status) == 0 || e.Status == status[0]) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d entries for %s %s, want 1: %+v", len(found), method, route, entries)
	}
	return found[0]
}

func TestRequestLogRecordsCallsWithoutSecrets(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	rcv := testenv.NewReceiver(t)
	admin := createKey(t, org, "webhooks:*", "api_keys:read", "api_keys:write", "request_logs:read", "events:write")

	// Calls made with the key: secret routes, a kept body, refusals.
	r := withKey(t, env, admin.Key, "POST", "/api/webhooks", map[string]any{"name": "log", "url": rcv.URL, "events": []string{"*"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", r.Status, r.Body)
	}
	wh := r.Map(t)
	whID, whSecret := wh["id"].(string), wh["secret"].(string)
	if r := withKey(t, env, admin.Key, "GET", "/api/webhooks/"+whID+"/secret", nil); r.Status != http.StatusOK {
		t.Fatalf("read secret: %d %s", r.Status, r.Body)
	}
	r = withKey(t, env, admin.Key, "POST", "/api/api-keys", map[string]any{"name": "child", "scopes": []string{"webhooks:read"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create child key: %d %s", r.Status, r.Body)
	}
	var child createdKey
	r.JSON(t, &child)
	r = withKey(t, env, admin.Key, "POST", "/api/api-keys/"+child.ID+"/rotate", map[string]any{"grace_seconds": 0})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("rotate child key: %d %s", r.Status, r.Body)
	}
	rotated := r.Map(t)["key"].(string)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if r := withKey(t, env, admin.Key, "POST", "/api/webhooks/"+whID+"/recover", map[string]any{"since": since}); r.Status != http.StatusAccepted {
		t.Fatalf("recover: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, admin.Key, "GET", "/api/webhooks/wh_missing", nil); r.Status != http.StatusNotFound {
		t.Fatalf("missing webhook: %d %s", r.Status, r.Body)
	}
	if r := withKey(t, env, admin.Key, "POST", "/api/webhooks", map[string]any{"name": "bad", "url": "not a url", "events": []string{"*"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad webhook: %d %s", r.Status, r.Body)
	}
	// The rotated-away key, refused after its zero grace: recorded under its own id.
	testenv.Eventually(t, 5*time.Second, "the old key refused", func() bool {
		return withKey(t, env, child.Key, "GET", "/api/webhooks", nil).Status == http.StatusUnauthorized
	})
	// An event with personal data: linked, its bodies not kept.
	if r := withKey(t, env, admin.Key, "POST", "/api/events", map[string]any{"id": "evt_logged", "type": "registration.created",
		"data": map[string]any{"object": map[string]any{"id": "reg_1", "event_id": "evt_1", "email": "ada@example.com"}}}); r.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", r.Status, r.Body)
	}
	// The service token's calls are not recorded (AQIO_REQUEST_LOG_SERVICE_TOKEN is off).
	org.Do(t, "GET", "/api/webhooks", nil)

	var all []logEntry
	testenv.Eventually(t, 10*time.Second, "the calls in the request log", func() bool {
		all = listLogs(t, env, admin.Key, "limit=200&key_id="+admin.ID).Data
		return len(all) >= 8
	})
	ev := getLog(t, env, admin.Key, find(t, all, "POST", "/api/events").ID)
	if ev.Links.EventID != "evt_logged" || ev.RequestBody != nil || ev.ResponseBody != nil || ev.BodyOmitted == nil || *ev.BodyOmitted != requestlog.OmitPersonal {
		t.Errorf("event entry: %+v", ev)
	}

	created := find(t, all, "POST", "/api/api-keys")
	rot := find(t, all, "POST", "/api/api-keys/{id}/rotate")
	sec := find(t, all, "GET", "/api/webhooks/{id}/secret")
	whCreate := find(t, all, "POST", "/api/webhooks", http.StatusCreated)
	if bad := find(t, all, "POST", "/api/webhooks", http.StatusUnprocessableEntity); bad.ErrorCode == nil || *bad.ErrorCode != "invalid_field" {
		t.Errorf("422 entry: %+v", bad)
	}
	for _, e := range []logEntry{created, rot, sec} {
		d := getLog(t, env, admin.Key, e.ID)
		if d.RequestBody != nil || d.ResponseBody != nil || d.BodyOmitted == nil || *d.BodyOmitted != requestlog.OmitSecret {
			t.Errorf("%s %s: bodies kept on a secret route: %+v", e.Method, e.Route, d)
		}
		if d.Auth != "api_key" || d.APIKeyID == nil || *d.APIKeyID != admin.ID || d.RequestID == nil || d.ClientIP == nil {
			t.Errorf("%s %s: caller not recorded: %+v", e.Method, e.Route, d)
		}
	}
	if d := getLog(t, env, admin.Key, rot.ID); d.Links.APIKeyID != child.ID || !hasAudit(d, "api_key.rotated") {
		t.Errorf("rotate entry links: %+v", d.Links)
	}
	if whCreate.Status != http.StatusCreated || whCreate.Path != "/api/webhooks" {
		t.Errorf("webhook create entry: %+v", whCreate)
	}

	rec := getLog(t, env, admin.Key, find(t, all, "POST", "/api/webhooks/{id}/recover").ID)
	if rec.RequestBody == nil || !strings.Contains(*rec.RequestBody, since) || rec.ResponseBody == nil ||
		!strings.Contains(*rec.ResponseBody, "recovery_id") || rec.BodyOmitted != nil {
		t.Errorf("recover entry bodies: %+v", rec)
	}
	if rec.Links.WebhookID != whID || !hasAudit(rec, "webhook.recovery_started") {
		t.Errorf("recover entry links: %+v", rec.Links)
	}

	missing := find(t, all, "GET", "/api/webhooks/{id}")
	if missing.Status != 404 || missing.ErrorCode == nil || *missing.ErrorCode != "not_found" || missing.Path != "/api/webhooks/wh_missing" {
		t.Errorf("404 entry: %+v", missing)
	}

	// Refused old key: recorded under its own id with the refusal's code.
	old := listLogs(t, env, admin.Key, "key_id="+child.ID).Data
	if len(old) == 0 || old[0].Status != 401 || old[0].ErrorCode == nil || *old[0].ErrorCode != "api_key_rotated" {
		t.Errorf("refused key's entry: %+v", old)
	}

	// No secret anywhere in the stored rows, whatever the column.
	var rows []models.RequestLog
	if err := requestlog.For(env.App.Store.DB()).Where("organization_id = ?", org.ID).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprintf("%+v", rows)
	if strings.Contains(dump, "ada@example.com") {
		t.Error("an event's personal data is stored in the request log")
	}
	for name, secret := range map[string]string{"admin key": admin.Key, "child key": child.Key, "rotated key": rotated, "webhook secret": whSecret} {
		if strings.Contains(dump, secret) {
			t.Errorf("the %s is stored in the request log", name)
		}
		for _, row := range rows {
			for _, s := range []*string{row.RequestBody, row.ResponseBody} {
				if s != nil && strings.Contains(*s, secret[len(secret)-8:]) {
					t.Errorf("part of the %s stored in %s %s", name, row.Method, row.Route)
				}
			}
		}
	}
	for _, row := range rows {
		if row.Auth == "service_token" {
			t.Errorf("service token call recorded: %s %s", row.Method, row.Path)
		}
	}
}

func hasAudit(e logEntry, action string) bool {
	for _, a := range e.Links.AuditEntries {
		if a.Action == action {
			return true
		}
	}
	return false
}

func TestRequestLogFiltersAndPagination(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	setPlan(t, org, "enterprise")
	k := createKey(t, org, "webhooks:read")
	other := createKey(t, org, "webhooks:read")
	// The reader's own calls are logged too; every query below keeps to
	// the webhook calls with a path prefix.
	reader := createKey(t, org, "request_logs:read")
	const web = "path=%2Fapi%2Fweb"
	start := time.Now().UTC()
	for i := 0; i < 5; i++ {
		withKey(t, env, k.Key, "GET", "/api/webhooks", nil)
	}
	withKey(t, env, k.Key, "GET", "/api/webhooks/wh_nope", nil)
	withKey(t, env, k.Key, "POST", "/api/webhooks", map[string]any{"name": "x", "url": "https://example.com", "events": []string{"*"}}) // 403
	withKey(t, env, other.Key, "GET", "/api/webhooks", nil)
	withKey(t, env, other.Key, "GET", "/api/webhooks", nil)

	var all []logEntry
	testenv.Eventually(t, 10*time.Second, "9 entries", func() bool {
		all = listLogs(t, env, reader.Key, "limit=200&"+web).Data
		return len(all) >= 9
	})
	if len(all) != 9 {
		t.Fatalf("%d entries, want 9", len(all))
	}
	for _, e := range all {
		if e.Method == "GET" && e.Route == "/api/webhooks" && e.Path != "/api/webhooks" {
			t.Fatalf("path as called is /api/webhooks, logged %q (query defaults added)", e.Path)
		}
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID <= all[i].ID {
			t.Fatalf("not newest first: %s before %s", all[i-1].ID, all[i].ID)
		}
	}

	cases := []struct {
		name, query string
		want        int
	}{
		{"by key", "key_id=" + other.ID, 2},
		{"status class", "status=4xx&" + web, 2},
		{"exact status", "status=403", 1},
		{"status 2xx", "status=2xx&" + web, 7},
		{"path prefix", "path=" + url.QueryEscape("/api/webhooks/"), 1},
		{"path prefix of all", web, 9},
		{"method", "method=POST", 1},
		{"since", "since=" + url.QueryEscape(start.Add(-time.Minute).Format(time.RFC3339)) + "&" + web, 9},
		{"until before", "until=" + url.QueryEscape(start.Add(-time.Minute).Format(time.RFC3339)), 0},
		{"key and class", "key_id=" + k.ID + "&status=2xx", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := listLogs(t, env, reader.Key, tc.query+"&limit=200").Data
			if len(got) != tc.want {
				t.Fatalf("?%s: %d entries, want %d: %+v", tc.query, len(got), tc.want, got)
			}
		})
	}
	if e := listLogs(t, env, reader.Key, "status=403").Data; len(e) == 1 && (e[0].ErrorCode == nil || *e[0].ErrorCode != "insufficient_scope") {
		t.Errorf("403 entry error code: %+v", e[0])
	}

	// Pages of 2 cover every entry once, in order.
	var paged []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		q := "limit=2&" + web
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := listLogs(t, env, reader.Key, q)
		for _, e := range p.Data {
			paged = append(paged, e.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(paged) != len(all) {
		t.Fatalf("pagination returned %d entries, want %d", len(paged), len(all))
	}
	for i := range paged {
		if paged[i] != all[i].ID {
			t.Fatalf("page order differs at %d", i)
		}
	}

	// Another organization's entry is not found.
	foreign := env.NewOrg(t)
	fk := createKey(t, foreign, "request_logs:read")
	if r := withKey(t, env, fk.Key, "GET", "/api/request-logs/"+all[0].ID, nil); r.Status != http.StatusNotFound {
		t.Errorf("another organization's entry: %d %s", r.Status, r.Body)
	}
	// Without the scope: 403.
	if r := withKey(t, env, other.Key, "GET", "/api/request-logs", nil); r.Status != http.StatusForbidden {
		t.Errorf("without request_logs:read: %d %s", r.Status, r.Body)
	}

	bad := []struct{ query, field string }{
		{"status=abc", "status"},
		{"status=6xx", "status"},
		{"status=4x", "status"},
		{"since=yesterday", "since"},
		{"until=2026-13-01", "until"},
		{"path=api", "path"},
		{"cursor=zzz", "cursor"},
		{"limit=0", "limit"},
		{"method=TRACE", "method"},
		{"statsu=404", "statsu"},
	}
	for _, b := range bad {
		r := withKey(t, env, reader.Key, "GET", "/api/request-logs?"+b.query, nil)
		code, field := errorOf(t, r)
		if r.Status != http.StatusBadRequest || field != b.field {
			t.Errorf("?%s: %d %s %s, want 400 naming %s", b.query, r.Status, code, field, b.field)
		}
	}
}

func TestRequestLogRetention(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	db := requestlog.For(env.App.Store.DB()) // on SQLite the log's own file
	now := time.Now().UTC()
	oldCall := requestlog.Call{ID: "rql_00000000-0000-7000-8000-" + fmt.Sprintf("%012d", now.UnixNano()%1e12), OrganizationID: org.ID,
		At: now.Add(-800 * time.Hour), Method: "GET", Route: "/api/webhooks", Path: "/api/webhooks", Status: 200, Auth: "api_key"}
	newCall := oldCall
	newCall.ID, newCall.At = "rql_ffffffff-0000-7000-8000-"+fmt.Sprintf("%012d", now.UnixNano()%1e12), now.Add(-time.Hour)
	for _, c := range []requestlog.Call{oldCall, newCall} {
		row := requestlog.Row(c)
		if err := db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	run, err := env.App.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "test-retention-" + org.ID, TaskQueue: workflows.WebhooksQueue,
	}, workflows.Retention, workflows.RetentionInput{MaxAge: 10000 * time.Hour, RequestLogMaxAge: 720 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetentionResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.RequestLogs < 1 {
		t.Errorf("retention removed %d request log entries", res.RequestLogs)
	}
	var left []string
	db.Model(&models.RequestLog{}).Where("organization_id = ?", org.ID).Pluck("id", &left)
	if len(left) != 1 || left[0] != newCall.ID {
		t.Fatalf("after retention: %v, want only %s", left, newCall.ID)
	}
}

// The recorder writes in batches: what is buffered is in memory only until
// the next flush, and Close (the process shutting down) writes it. A crash
// loses at most that batch; the log is diagnostic, not accepted data.
func TestRequestLogFlushOnClose(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rec := &requestlog.Recorder{DB: env.App.Store.DB(), Interval: time.Hour}
	rec.Start()
	for i := 0; i < 3; i++ {
		rec.Add(requestlog.Call{ID: fmt.Sprintf("rql_%d-%s", i, org.ID), OrganizationID: org.ID, At: time.Now(),
			Method: "GET", Route: "/api/webhooks", Path: "/api/webhooks", Status: 200, Auth: "api_key"})
	}
	count := func() int64 {
		var n int64
		requestlog.For(env.App.Store.DB()).Model(&models.RequestLog{}).Where("organization_id = ?", org.ID).Count(&n)
		return n
	}
	if n := count(); n != 0 || rec.Pending() != 3 {
		t.Fatalf("before the flush: %d rows written, %d pending; want 0 and 3", n, rec.Pending())
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 || rec.Pending() != 0 {
		t.Fatalf("after Close: %d rows, %d pending; want 3 and 0", n, rec.Pending())
	}
}
