package testenv

import (
	"net/http"
	"net/url"
	"testing"
)

// browser follows no redirects: a test plays the user's browser through
// an OAuth redirect flow one hop at a time.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Location GETs u as the browser would and returns the 302's Location.
func Location(t *testing.T, u string) *url.URL {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302", u, resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
