package ssrf_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/models"
)

// loopback is a listener on 127.0.0.1 and one on ::1 that count requests.
type loopback struct {
	hits         atomic.Int64
	port4, port6 string
}

func newLoopback(t *testing.T) *loopback {
	l := &loopback{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.hits.Add(1) })
	s4 := httptest.NewServer(h)
	t.Cleanup(s4.Close)
	_, l.port4, _ = net.SplitHostPort(s4.Listener.Addr().String())
	ln6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("listen on ::1: %v", err)
	}
	s6 := &httptest.Server{Listener: ln6, Config: &http.Server{Handler: h}}
	s6.Start()
	t.Cleanup(s6.Close)
	_, l.port6, _ = net.SplitHostPort(ln6.Addr().String())
	return l
}

// hostileURLs are the loopback, metadata and private spellings that must
// be refused; P4 and P6 become the IPv4 and IPv6 listener ports.
var hostileURLs = []string{
	"http://127.0.0.1:P4/x",
	"http://[::1]:P6/x",
	"http://[::1%25lo]:P6/x",
	"http://[::1%251]:P6/x",
	"http://[fe80::1%25eth0]:P6/x",
	"http://[fd00:ec2::254%25eth0]:P6/x",
	"http://[::127.0.0.1]:P4/x",
	"http://[::ffff:127.0.0.1]:P4/x",
	"http://[64:ff9b::7f00:1]:P4/x",
	"http://[2002:7f00:1::]:P4/x",
	"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:P4/x",
	"http://[fec0::1]:P6/x",
	"http://127.1:P4/x",
	"http://2130706433:P4/x",
	"http://0x7f000001:P4/x",
	"http://0177.0.0.1:P4/x",
	"http://0x7f.1:P4/x",
	"http://0x7f.0.01:P4/x",
	"http://127.0.0.1.:P4/x",
	"http://0xa9fea9fe/latest/meta-data",
	"http://%EF%BC%91%EF%BC%92%EF%BC%97.%EF%BC%90.%EF%BC%90.%EF%BC%91:P4/x", // full-width 127.0.0.1
}

func (l *loopback) url(raw string) string {
	return strings.NewReplacer("P4", l.port4, "P6", l.port6).Replace(raw)
}

func errorOf(t *testing.T, r testenv.Response) (code, field, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &body)
	return body.Error.Code, body.Error.Field, body.Error.Message
}

// TestHostileURLsAreRefusedOnSave: POST and PATCH /api/webhooks answer 422
// naming url for every spelling, and nothing reaches the listeners.
func TestHostileURLsAreRefusedOnSave(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	l := newLoopback(t)
	resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "public", "url": "https://hooks.example.com/aqio", "events": []string{"*"}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("public URL: %d %s", resp.Status, resp.Body)
	}
	id := resp.Map(t)["id"].(string)
	for _, raw := range hostileURLs {
		u := l.url(raw)
		t.Run(u, func(t *testing.T) {
			resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "hostile", "url": u, "events": []string{"*"}})
			code, field, msg := errorOf(t, resp)
			if resp.Status != http.StatusUnprocessableEntity || field != "url" || !strings.Contains(msg, "private or local") {
				t.Fatalf("create: %d %s %s %s", resp.Status, code, field, resp.Body)
			}
			resp = org.Do(t, "PATCH", "/api/webhooks/"+id, map[string]any{"url": u})
			code, field, msg = errorOf(t, resp)
			if resp.Status != http.StatusUnprocessableEntity || field != "url" || !strings.Contains(msg, "private or local") {
				t.Fatalf("patch: %d %s %s %s", resp.Status, code, field, resp.Body)
			}
		})
	}
	var list struct {
		Data []map[string]any `json:"data"`
	}
	org.Do(t, "GET", "/api/webhooks", nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0]["url"] != "https://hooks.example.com/aqio" {
		t.Fatalf("webhooks after the refusals: %v", list.Data)
	}
	// A host that ends in a number but is no address is refused too.
	for _, u := range []string{"http://256.0.0.1/x", "http://1.2.3.4.5/x", "http://example.123/x"} {
		resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": "bad", "url": u, "events": []string{"*"}})
		if _, field, _ := errorOf(t, resp); resp.Status != http.StatusUnprocessableEntity || field != "url" {
			t.Fatalf("%s: %d %s", u, resp.Status, resp.Body)
		}
	}
	if n := l.hits.Load(); n != 0 {
		t.Fatalf("the loopback listeners got %d requests", n)
	}
}

// TestHostileURLsAreRefusedAtDialTime: webhooks whose stored URL is
// hostile (saved by an older version, or a name that now resolves to
// loopback) get an event; every delivery fails as a refused address and
// the listeners receive nothing.
func TestHostileURLsAreRefusedAtDialTime(t *testing.T) {
	env := testenv.Get(t)
	org := env.NewOrg(t)
	l := newLoopback(t)
	ids := map[string]string{} // webhook id → hostile URL
	for i, raw := range hostileURLs {
		resp := org.Do(t, "POST", "/api/webhooks", map[string]any{"name": fmt.Sprintf("h%d", i), "url": "https://hooks.example.com/aqio", "events": []string{"*"}, "retry_count": 0})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		id := resp.Map(t)["id"].(string)
		u := l.url(raw)
		if err := env.App.DB.Model(&models.Webhook{}).Where("id = ?", id).Update("url", u).Error; err != nil {
			t.Fatal(err)
		}
		ids[id] = u
	}
	resp := org.Do(t, "POST", "/api/events", map[string]any{"id": "evt_ssrf", "type": "event.created",
		"data": map[string]any{"object": map[string]any{"id": "obj_1", "title": "Launch"}}})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("post event: %d %s", resp.Status, resp.Body)
	}
	for id, u := range ids {
		var page struct {
			Data []struct {
				Status       string  `json:"status"`
				IsFinal      bool    `json:"is_final"`
				ErrorMessage *string `json:"error_message"`
			} `json:"data"`
		}
		testenv.Eventually(t, 60*time.Second, "the final attempt to "+u, func() bool {
			org.Do(t, "GET", "/api/webhooks/"+id+"/deliveries", nil).JSON(t, &page)
			return len(page.Data) == 1 && page.Data[0].IsFinal
		})
		a := page.Data[0]
		if a.Status != "failed" || a.ErrorMessage == nil || !strings.Contains(*a.ErrorMessage, "not allowed") {
			t.Errorf("%s: attempt %s %v, want a refused address", u, a.Status, a.ErrorMessage)
		}
	}
	if n := l.hits.Load(); n != 0 {
		t.Fatalf("the loopback listeners got %d requests", n)
	}
}
