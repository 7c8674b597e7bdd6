package webhooks_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
)

func errorField(t *testing.T, r testenv.Response) (code, field string) {
	t.Helper()
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	r.JSON(t, &e)
	return e.Error.Code, e.Error.Field
}

type eventPage struct {
	Data []struct {
		ID          string   `json:"id"`
		Type        string   `json:"type"`
		QueuedFor   []string `json:"queued_for"`
		Operational bool     `json:"operational"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (p eventPage) ids() []string {
	var out []string
	for _, e := range p.Data {
		out = append(out, e.ID)
	}
	return out
}

// Events are readable: a message log filtered by type and time, and each
// event with the deliveries it caused.
func TestEventLog(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "log", "url": rcv.URL, "events": []string{"registration.*"}})
	start := time.Now().UTC().Add(-time.Second)
	for _, ev := range []map[string]any{registration("evt_l1"), registration("evt_l2"),
		{"id": "evt_l3", "type": "event.created", "data": map[string]any{"object": map[string]any{"id": "e1", "title": "Launch"}}}} {
		if resp := postEvent(t, org, ev); resp.Status != http.StatusAccepted {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
	}
	var page eventPage
	org.Do(t, "GET", "/api/events", nil).JSON(t, &page)
	if got := strings.Join(page.ids(), ","); got != "evt_l3,evt_l2,evt_l1" {
		t.Fatalf("newest first: %s", got)
	}
	org.Do(t, "GET", "/api/events?type=registration.*", nil).JSON(t, &page)
	if got := strings.Join(page.ids(), ","); got != "evt_l2,evt_l1" || page.Data[0].QueuedFor[0] != wh.ID {
		t.Fatalf("family filter: %s %+v", got, page.Data)
	}
	org.Do(t, "GET", "/api/events?type=event.created", nil).JSON(t, &page)
	if got := strings.Join(page.ids(), ","); got != "evt_l3" || len(page.Data[0].QueuedFor) != 0 {
		t.Fatalf("exact filter: %s", got)
	}
	q := url.Values{"since": {start.Format(time.RFC3339Nano)}, "until": {time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)}}
	org.Do(t, "GET", "/api/events?"+q.Encode(), nil).JSON(t, &page)
	if len(page.Data) != 3 {
		t.Fatalf("time window: %v", page.ids())
	}
	org.Do(t, "GET", "/api/events?until="+url.QueryEscape(start.Format(time.RFC3339Nano)), nil).JSON(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("before the first event: %v", page.ids())
	}
	// Pages.
	var seen []string
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		path := "/api/events?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		org.Do(t, "GET", path, nil).JSON(t, &page)
		seen = append(seen, page.ids()...)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if strings.Join(seen, ",") != "evt_l3,evt_l2,evt_l1" {
		t.Fatalf("paged: %v", seen)
	}
	for _, bad := range []struct{ query, field string }{
		{"type=nope.*", "type"}, {"since=yesterday", "since"}, {"cursor=garbage!", "cursor"},
	} {
		resp := org.Do(t, "GET", "/api/events?"+bad.query, nil)
		if _, field := errorField(t, resp); resp.Status != http.StatusBadRequest || field != bad.field {
			t.Fatalf("%s: %d %s", bad.query, resp.Status, resp.Body)
		}
	}

	// One event with its deliveries.
	testenv.Eventually(t, 20*time.Second, "the delivery", func() bool {
		ds := listDeliveries(t, org, wh.ID, "?event_id=evt_l1")
		return len(ds) == 1 && ds[0].IsFinal
	})
	resp := org.Do(t, "GET", "/api/events/evt_l1", nil)
	var one struct {
		ID         string         `json:"id"`
		Data       map[string]any `json:"data"`
		Deliveries []delivery     `json:"deliveries"`
	}
	resp.JSON(t, &one)
	if resp.Status != http.StatusOK || one.ID != "evt_l1" || one.Data["object"] == nil || len(one.Deliveries) != 1 ||
		one.Deliveries[0].Status != "success" || one.Deliveries[0].MessageID != "evt_l1" {
		t.Fatalf("event detail: %d %s", resp.Status, resp.Body)
	}
	if resp := org.Do(t, "GET", "/api/events/evt_nope", nil); resp.Status != http.StatusNotFound {
		t.Fatalf("unknown event: %d", resp.Status)
	}
	if resp := env.NewOrg(t).Do(t, "GET", "/api/events/evt_l1", nil); resp.Status != http.StatusNotFound {
		t.Fatalf("another organization's event: %d", resp.Status)
	}

	// events:read reads the log; the attempts need webhooks:read too.
	key := func(scopes ...string) string {
		resp := org.Do(t, "POST", "/api/api-keys", map[string]any{"name": "log " + strings.Join(scopes, " "), "scopes": scopes})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", resp.Status, resp.Body)
		}
		return resp.Map(t)["key"].(string)
	}
	reader, webhookReader := key("events:read"), key("webhooks:read")
	if resp := env.Do(t, "GET", "/api/events", nil, "Authorization", "Bearer "+webhookReader); resp.Status != http.StatusForbidden {
		t.Fatalf("webhooks:read alone listed events: %d", resp.Status)
	}
	resp = env.Do(t, "GET", "/api/events/evt_l1", nil, "Authorization", "Bearer "+reader)
	if m := resp.Map(t); resp.Status != http.StatusOK || m["id"] != "evt_l1" || m["deliveries"] != nil {
		t.Fatalf("events:read alone: %d %s", resp.Status, resp.Body)
	}
}

// The delivery log filters by event, time window and status; unknown
// parameters are refused everywhere, naming the parameter.
func TestDeliveryLogFiltersAndUnknownParameters(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	rcv := testenv.NewReceiver(t)
	wh := createWebhook(t, org, map[string]any{"name": "f", "url": rcv.URL, "events": []string{"*"}})
	postEvent(t, org, registration("evt_f1"))
	postEvent(t, org, registration("evt_f2"))
	testenv.Eventually(t, 20*time.Second, "two attempts", func() bool {
		ds := listDeliveries(t, org, wh.ID, "")
		return len(ds) == 2 && noneSending(ds)
	})
	if got := listDeliveries(t, org, wh.ID, "?event_id=evt_f2"); len(got) != 1 || got[0].MessageID != "evt_f2" {
		t.Fatalf("event_id filter: %+v", got)
	}
	future := url.QueryEscape(time.Now().UTC().Add(time.Hour).Format(time.RFC3339))
	past := url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	if got := listDeliveries(t, org, wh.ID, "?since="+future); len(got) != 0 {
		t.Fatalf("since in the future: %d", len(got))
	}
	if got := listDeliveries(t, org, wh.ID, "?since="+past+"&until="+future); len(got) != 2 {
		t.Fatalf("window: %d", len(got))
	}
	if got := listDeliveries(t, org, wh.ID, "?until="+past); len(got) != 0 {
		t.Fatalf("until in the past: %d", len(got))
	}
	for _, path := range []string{
		"/api/webhooks?stauts=failed",
		"/api/webhooks/" + wh.ID + "/deliveries?status=success&stauts=failed",
		"/api/events?typ=event.created",
		"/api/event-types?lang=en",
	} {
		resp := org.Do(t, "GET", path, nil)
		code, field := errorField(t, resp)
		want := strings.SplitN(path[strings.LastIndex(path, "&")+1:], "=", 2)[0]
		if i := strings.Index(want, "?"); i >= 0 {
			want = want[i+1:]
		}
		if resp.Status != http.StatusBadRequest || code != "unknown_parameter" || field != want {
			t.Fatalf("%s: %d %s (want field %s)", path, resp.Status, resp.Body, want)
		}
	}
	if resp := org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries?since=soon", nil); resp.Status != http.StatusBadRequest {
		t.Fatalf("bad since: %d %s", resp.Status, resp.Body)
	}
	// The OAuth callback takes the parameters providers add (not "unknown").
	resp := env.Do(t, "GET", "/api/integrations/oauth/callback?state=nope&code=x&scope=email&authuser=0", nil)
	if code, _ := errorField(t, resp); code == "unknown_parameter" {
		t.Fatalf("callback refused a provider parameter: %s", resp.Body)
	}
}

func TestListWebhooksIsPaginated(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	var made []string
	for i := 0; i < 3; i++ {
		made = append(made, createWebhook(t, org, map[string]any{"name": fmt.Sprintf("w%d", i), "url": "http://127.0.0.1:9/x", "events": []string{"*"}}).ID)
	}
	var seen []string
	cursor := ""
	pages := 0
	for {
		path := "/api/webhooks?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var page struct {
			Data       []webhook `json:"data"`
			NextCursor *string   `json:"next_cursor"`
		}
		org.Do(t, "GET", path, nil).JSON(t, &page)
		pages++
		for _, w := range page.Data {
			seen = append(seen, w.ID)
		}
		if page.NextCursor == nil || pages > 3 {
			break
		}
		cursor = *page.NextCursor
	}
	if strings.Join(seen, ",") != strings.Join(made, ",") || pages != 2 {
		t.Fatalf("pages %d: %v want %v", pages, seen, made)
	}
	if resp := org.Do(t, "GET", "/api/webhooks?cursor=garbage!", nil); resp.Status != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d", resp.Status)
	}
}

func TestRootRedirects(t *testing.T) {
	env := testenv.Get(t)
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(env.BaseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The redirect registered for / answers (its target is the console or
	// the API reference), not the request validator's 404.
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || (loc != "/api/docs" && loc != "/console") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// crashOnce makes the recording of the given message's outcome (the
// write of a row that is not pending, not marked interrupted: an update
// of its begun row, or an insert) fail, as if the worker died right
// after the request went out, until drop is called.
func crashOnce(t *testing.T, env *testenv.Env, messageID string) (drop func()) {
	t.Helper()
	name := "fail_record_" + strings.NewReplacer("-", "_", ".", "_").Replace(messageID)
	var create []string
	var dropSQL []string
	switch env.Dialect {
	case "postgres":
		create = []string{
			`CREATE FUNCTION ` + name + `() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.message_id = '` + messageID + `' AND NEW.status <> 'pending' AND NOT NEW.interrupted THEN
					RAISE EXCEPTION 'injected: the worker died before recording the outcome';
				END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER ` + name + ` BEFORE INSERT OR UPDATE ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION ` + name + `()`,
		}
		dropSQL = []string{`DROP TRIGGER IF EXISTS ` + name + ` ON webhook_deliveries`, `DROP FUNCTION IF EXISTS ` + name + `()`}
	default:
		for _, op := range []string{"INSERT", "UPDATE"} {
			create = append(create, `CREATE TRIGGER `+name+`_`+op+` BEFORE `+op+` ON webhook_deliveries
				WHEN NEW.message_id = '`+messageID+`' AND NEW.status <> 'pending' AND NOT NEW.interrupted
				BEGIN SELECT RAISE(ABORT, 'injected: the worker died before recording the outcome'); END`)
			dropSQL = append(dropSQL, `DROP TRIGGER IF EXISTS `+name+`_`+op)
		}
	}
	for _, q := range create {
		if err := env.App.DB.Exec(q).Error; err != nil {
			t.Fatalf("create trigger: %v", err)
		}
	}
	var once sync.Once
	drop = func() {
		once.Do(func() {
			for _, q := range dropSQL {
				if err := env.App.DB.Exec(q).Error; err != nil {
					t.Errorf("drop trigger: %v", err)
				}
			}
		})
	}
	t.Cleanup(drop)
	return drop
}

// A request that went out but whose outcome was never recorded is in the
// log: the receiver got the message twice, and the log shows both sends
// (the first marked interrupted), one success, and the counters count one
// message.
func TestEverySendIsRecorded(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	drop := crashOnce(t, env, "evt_crash")
	var mu sync.Mutex
	got := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		if req.Header.Get("webhook-id") != "evt_crash" {
			return
		}
		mu.Lock()
		got++
		n := got
		mu.Unlock()
		if n == 2 {
			drop() // the worker "restarted": this time the outcome is recorded
		}
	}))
	t.Cleanup(rcv.Close)
	wh := createWebhook(t, org, map[string]any{"name": "crash", "url": rcv.URL, "events": []string{"*"}})
	if resp := postEvent(t, org, registration("evt_crash")); resp.Status != http.StatusAccepted {
		t.Fatal(resp.Status)
	}
	var rows []struct {
		Status      string `json:"status"`
		IsFinal     bool   `json:"is_final"`
		Interrupted bool   `json:"interrupted"`
	}
	testenv.Eventually(t, 60*time.Second, "the recorded outcome", func() bool {
		var page struct {
			Data []struct {
				Status      string `json:"status"`
				IsFinal     bool   `json:"is_final"`
				Interrupted bool   `json:"interrupted"`
			} `json:"data"`
		}
		org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries?event_id=evt_crash", nil).JSON(t, &page)
		rows = page.Data
		return len(rows) > 0 && rows[0].Status == "success"
	})
	mu.Lock()
	sent := got
	mu.Unlock()
	if sent != 2 || len(rows) != sent {
		t.Fatalf("the receiver got %d requests, the log shows %d attempts: %+v", sent, len(rows), rows)
	}
	if !rows[0].IsFinal || rows[0].Interrupted || !rows[1].Interrupted || rows[1].IsFinal {
		t.Fatalf("want one interrupted send, then the final success: %+v", rows)
	}
	if w := getWebhook(t, org, wh.ID); w.TotalDeliveries != 1 || w.FailedDeliveries != 0 {
		t.Fatalf("counters count messages: %+v", w)
	}
}

// The same holds for a message's own Delivery run (retries, redeliveries,
// recoveries): a redelivery whose outcome was lost shows both sends.
func TestEverySendOfADeliveryRunIsRecorded(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	var mu sync.Mutex
	got := 0
	var drop func()
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		mu.Lock()
		got++
		n, d := got, drop
		mu.Unlock()
		switch {
		case n == 1:
			w.WriteHeader(http.StatusBadRequest) // the first attempt fails for good
		case n == 3 && d != nil:
			d() // the redelivery's second send: this time the outcome is recorded
		}
	}))
	t.Cleanup(rcv.Close)
	wh := createWebhook(t, org, map[string]any{"name": "crash-run", "url": rcv.URL, "events": []string{"*"}})
	postEvent(t, org, registration("evt_crash_run"))
	var first []delivery
	testenv.Eventually(t, 20*time.Second, "the failed first attempt", func() bool {
		first = listDeliveries(t, org, wh.ID, "?event_id=evt_crash_run")
		return len(first) == 1 && first[0].IsFinal
	})
	d := crashOnce(t, env, "evt_crash_run")
	mu.Lock()
	drop = d
	mu.Unlock()
	if resp := org.Do(t, "POST", "/api/webhooks/"+wh.ID+"/deliveries/"+first[0].ID+"/redeliver", nil); resp.Status != http.StatusAccepted {
		t.Fatalf("redeliver: %d %s", resp.Status, resp.Body)
	}
	var rows []struct {
		Status      string  `json:"status"`
		Interrupted bool    `json:"interrupted"`
		WorkflowID  string  `json:"workflow_id"`
		Redelivery  *string `json:"redelivery_of"`
	}
	testenv.Eventually(t, 60*time.Second, "the redelivery's recorded outcome", func() bool {
		var page struct {
			Data []struct {
				Status      string  `json:"status"`
				Interrupted bool    `json:"interrupted"`
				WorkflowID  string  `json:"workflow_id"`
				Redelivery  *string `json:"redelivery_of"`
			} `json:"data"`
		}
		org.Do(t, "GET", "/api/webhooks/"+wh.ID+"/deliveries?event_id=evt_crash_run", nil).JSON(t, &page)
		rows = page.Data
		return len(rows) > 0 && rows[0].Status == "success"
	})
	mu.Lock()
	sent := got
	mu.Unlock()
	if sent != 3 || len(rows) != 3 || !rows[1].Interrupted || rows[1].WorkflowID != rows[0].WorkflowID || rows[0].Redelivery == nil {
		t.Fatalf("the receiver got %d requests; log: %+v", sent, rows)
	}
}
