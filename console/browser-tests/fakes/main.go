// Command fakes serves provider fakes (internal/fakes) for the console's
// browser tests, which are JavaScript and cannot embed them: Kit under
// /kit, in its real wire format, a local OpenID Connect provider shaped
// like a Keycloak realm (internal/fakes/oidc), and a small control API the
// tests use to add an API key, make Kit refuse requests and choose who
// signs in.
//
//	go run ./console/browser-tests/fakes      prints "fakes http://127.0.0.1:<port>" and "oidc <issuer>"
//
//	POST /control/kit/api-keys?key=K                      Kit accepts the V4 API key K
//	POST /control/kit/fail?method=M&path=P&n=N&status=S   the next N requests M P… answer S (body: the provider's error body)
//	GET  /control/kit/subscribers?email=E                 200 {"subscriber":…} when Kit holds E, 404 otherwise
//	POST /control/oidc/user {"sub","roles","organizations","support_organizations"}  who signs in at the next authorization request
//
// The OIDC provider's audience is "aqio-connect", its client
// "aqio-console" with the secret "console-secret".
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"

	kitfake "github.com/aqio/connect/internal/fakes/kit"
	"github.com/aqio/connect/internal/fakes/oauth"
	"github.com/aqio/connect/internal/fakes/oidc"
)

func main() {
	mux := http.NewServeMux()
	iss := oauth.NewIssuer()
	kit := kitfake.Mount(mux, iss, "/kit", map[string]string{"kit-client-id": "kit-client-secret"}, kitfake.Options{})

	mux.HandleFunc("POST /control/kit/api-keys", func(w http.ResponseWriter, r *http.Request) {
		k := r.URL.Query().Get("key")
		if k == "" {
			http.Error(w, "key is required", http.StatusBadRequest)
			return
		}
		kit.AddAPIKey(k)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /control/kit/fail", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err1 := strconv.Atoi(q.Get("n"))
		status, err2 := strconv.Atoi(q.Get("status"))
		if err1 != nil || err2 != nil || n < 1 || status < 100 {
			http.Error(w, "n and status are required numbers", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		kit.Fail(q.Get("method"), q.Get("path"), n, status, string(body))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /control/kit/subscribers", func(w http.ResponseWriter, r *http.Request) {
		s, ok := kit.Subscriber(r.URL.Query().Get("email"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"subscriber": s})
	})

	idp := oidc.New("aqio-connect", "aqio-console", "console-secret")
	defer idp.Close()
	mux.HandleFunc("POST /control/oidc/user", func(w http.ResponseWriter, r *http.Request) {
		var u struct {
			Sub                  string   `json:"sub"`
			Roles                []string `json:"roles"`
			Organizations        []string `json:"organizations"`
			SupportOrganizations []string `json:"support_organizations"`
		}
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil || u.Sub == "" {
			http.Error(w, `a JSON body {"sub", "roles", "organizations"} is required`, http.StatusBadRequest)
			return
		}
		user := oidc.User{Sub: u.Sub, Roles: u.Roles, Organizations: u.Organizations}
		if u.SupportOrganizations != nil {
			user.Extra = map[string]any{"support_organizations": u.SupportOrganizations}
		}
		idp.SetUser(user)
		w.WriteHeader(http.StatusNoContent)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("fakes http://%s\noidc %s\n", ln.Addr(), idp.Issuer)
	log.Fatal(http.Serve(ln, mux))
}
