package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, u string, form url.Values, basic [2]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic[0] != "" {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestBasicAuthRotationAndProviderBinding(t *testing.T) {
	mux := http.NewServeMux()
	iss := NewIssuer()
	zoom := iss.Mount(mux, "/zoom", Config{Name: "zoom", Clients: map[string]string{"zc": "zs"}, ClientAuth: ClientAuthBasic, Rotate: true, AccessPrefix: "eyJ"})
	other := iss.Mount(mux, "/other", Config{Name: "other", Clients: map[string]string{"zc": "zs"}})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A code issued by hand through authorize.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + "/zoom/oauth/authorize?response_type=code&client_id=zc&redirect_uri=" + url.QueryEscape("http://cb/x") + "&state=s")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://cb/x"}, "client_id": {"zc"}, "client_secret": {"zs"}}
	if st, m := post(t, srv.URL+"/zoom/oauth/token", form, [2]string{}); st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("body client auth accepted by a Basic-only endpoint: %d %v", st, m)
	}
	st, m := post(t, srv.URL+"/zoom/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://cb/x"}}, [2]string{"zc", "zs"})
	if st != 200 || !strings.HasPrefix(m["access_token"].(string), "eyJ") {
		t.Fatalf("exchange: %d %v", st, m)
	}
	at, rt := m["access_token"].(string), m["refresh_token"].(string)
	if zoom.CheckToken(at) != Valid || other.CheckToken(at) != Invalid {
		t.Fatal("a token must be valid only at the provider that issued it")
	}
	st, m = post(t, srv.URL+"/zoom/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, [2]string{"zc", "zs"})
	if st != 200 || m["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", st, m)
	}
	newRT := m["refresh_token"].(string)
	if st, m = post(t, srv.URL+"/zoom/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, [2]string{"zc", "zs"}); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("spent refresh token reused: %d %v", st, m)
	}
	if st, _ = post(t, srv.URL+"/other/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRT}, "client_id": {"zc"}, "client_secret": {"zs"}}, [2]string{}); st != 400 {
		t.Fatal("another provider accepted the refresh token")
	}
}
