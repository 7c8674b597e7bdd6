package fakekit

import "testing"

type req struct{ method, path string }

func TestRequestLog(t *testing.T) {
	var l RequestLog[req]
	for _, r := range []req{{"POST", "/v4/subscribers"}, {"GET", "/v4/subscribers/1"}, {"POST", "/v4/tags"}} {
		l.Record(r.method, r.path, r)
	}
	if got := l.Requests(); len(got) != 3 || got[2].path != "/v4/tags" {
		t.Fatalf("requests %v", got)
	}
	for _, tc := range []struct {
		name, method, prefix string
		want                 int
	}{
		{"method and prefix", "POST", "/v4/subscribers", 1},
		{"any method", "", "/v4/subscribers", 2},
		{"other method", "PUT", "/v4/", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := l.Count(tc.method, tc.prefix); n != tc.want {
				t.Fatalf("Count(%q, %q) = %d, want %d", tc.method, tc.prefix, n, tc.want)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	var f Failures
	f.Fail("POST", "/v1/persons", 2, 500, "")
	f.FailFor("", "/v1/deals", "pay_2", 1, 400, `{"success":false}`)
	if fl := f.TakeFailure("GET", "/v1/persons", nil); fl != nil {
		t.Fatalf("another method matched: %+v", fl)
	}
	for i := range 2 {
		if fl := f.TakeFailure("POST", "/v1/persons/7", nil); fl == nil || fl.Status != 500 {
			t.Fatalf("answer %d: %+v, want the injected 500", i, fl)
		}
	}
	if fl := f.TakeFailure("POST", "/v1/persons", nil); fl != nil {
		t.Fatalf("a used-up failure answered again: %+v", fl)
	}
	if fl := f.TakeFailure("PUT", "/v1/deals/1", []byte(`{"ref":"pay_1"}`)); fl != nil {
		t.Fatalf("a body without the match failed: %+v", fl)
	}
	if fl := f.TakeFailure("PUT", "/v1/deals/1", []byte(`{"ref":"pay_2"}`)); fl == nil || fl.Body != `{"success":false}` {
		t.Fatalf("body match: %+v", fl)
	}
}

func TestRateLimits(t *testing.T) {
	var r RateLimits
	if r.TakeRateLimit() {
		t.Fatal("limited before RateLimitNext")
	}
	r.RateLimitNext(2)
	if !r.TakeRateLimit() || !r.TakeRateLimit() || r.TakeRateLimit() {
		t.Fatal("want exactly two forced 429s")
	}
}
