package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// idp is a local identity provider: a discovery document and a JWKS that
// can rotate keys.
type idp struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // published
}

func newIDP(t *testing.T) *idp {
	p := &idp{keys: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/certs"})
	})
	mux.HandleFunc("/certs", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		var set jose.JSONWebKeySet
		for kid, k := range p.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) publish(t *testing.T, kid string) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
	return k
}

func (p *idp) unpublish(kid string) {
	p.mu.Lock()
	delete(p.keys, kid)
	p.mu.Unlock()
}

func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	p := newIDP(t)
	k1 := p.publish(t, "k1")
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": p.srv.URL, "aud": []string{"aqio-connect", "account"}, "sub": "user-1", "email": "u@example.com",
			"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
			"realm_access": map[string]any{"roles": []string{"organizer", "offline_access"}},
			"organization": map[string]any{"org-a": map[string]any{}, "org-b": map[string]any{}},
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	v := NewVerifier(Config{
		Issuer: p.srv.URL, Audience: "aqio-connect", ClockSkew: 30 * time.Second,
		UserClaim: "sub", EmailClaim: "email", RolesClaim: "realm_access.roles", OrganizationsClaim: "organization",
		JWKSMinRefetch: -1, // refetch on every unknown kid: the rotation cases below need it
	})
	ctx := context.Background()

	t.Run("valid", func(t *testing.T) {
		id, err := v.Verify(ctx, sign(t, k1, "k1", claims(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if id.UserID != "user-1" || id.Email != "u@example.com" || len(id.Roles) != 2 || id.Roles[0] != "organizer" {
			t.Fatalf("identity %+v", id)
		}
		if len(id.Organizations) != 2 || id.Organizations[0] != "org-a" || id.Organizations[1] != "org-b" {
			t.Fatalf("organizations %v", id.Organizations)
		}
	})
	t.Run("expired within clock skew is accepted", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, k1, "k1", claims(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })))
		if err != nil {
			t.Fatal(err)
		}
	})

	hsPublic := func() string {
		der, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		signing := b64(map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}) + "." + b64(claims(nil))
		m := hmac.New(sha256.New, pemKey)
		m.Write([]byte(signing))
		return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name  string
		token func() string
		want  error
	}{
		{"expired", func() string {
			return sign(t, k1, "k1", claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))
		}, ErrExpired},
		{"wrong issuer", func() string {
			return sign(t, k1, "k1", claims(func(c map[string]any) { c["iss"] = "https://evil.example/realms/aqio" }))
		}, ErrInvalid},
		{"wrong audience", func() string {
			return sign(t, k1, "k1", claims(func(c map[string]any) { c["aud"] = "someone-else" }))
		}, ErrInvalid},
		{"unknown kid", func() string { return sign(t, other, "k-unknown", claims(nil)) }, ErrInvalid},
		{"known kid, wrong key", func() string { return sign(t, other, "k1", claims(nil)) }, ErrInvalid},
		{"alg none", func() string {
			return b64(map[string]any{"alg": "none", "kid": "k1"}) + "." + b64(claims(nil)) + "."
		}, ErrInvalid},
		{"HS256 signed with the public key", hsPublic, ErrInvalid},
		{"no subject", func() string { return sign(t, k1, "k1", claims(func(c map[string]any) { delete(c, "sub") })) }, ErrInvalid},
		{"garbage", func() string { return "a.b.c" }, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tc.token())
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	t.Run("rotated keys", func(t *testing.T) {
		// The realm publishes a new key and signs with it: the verifier
		// fetches the key set again for the unknown kid.
		k2 := p.publish(t, "k2")
		if _, err := v.Verify(ctx, sign(t, k2, "k2", claims(nil))); err != nil {
			t.Fatalf("new key: %v", err)
		}
		// The old key is withdrawn: once the verifier refetches (it does
		// for any kid it cannot verify), tokens signed with it fail.
		p.unpublish("k1")
		k3 := p.publish(t, "k3")
		if _, err := v.Verify(ctx, sign(t, k3, "k3", claims(nil))); err != nil {
			t.Fatalf("k3: %v", err)
		}
		if _, err := v.Verify(ctx, sign(t, k1, "k1", claims(nil))); !errors.Is(err, ErrInvalid) {
			t.Fatalf("withdrawn key: got %v", err)
		}
	})
}

// TestTimeClaimsShareOneLeeway checks exp, nbf and iat at the boundaries
// of the configured leeway (60 s, the AQIO_JWT_CLOCK_SKEW default): one
// second inside is accepted, one second outside refused, for each claim.
func TestTimeClaimsShareOneLeeway(t *testing.T) {
	p := newIDP(t)
	k := p.publish(t, "k1")
	now := time.Unix(1_900_000_000, 0)
	const leeway = 60 * time.Second
	v := NewVerifier(Config{Issuer: p.srv.URL, Audience: "aqio-connect", ClockSkew: leeway, Now: func() time.Time { return now }})
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	claims := func(set map[string]any) map[string]any {
		c := map[string]any{"iss": p.srv.URL, "aud": "aqio-connect", "sub": "user-1", "exp": at(5 * time.Minute), "iat": at(0)}
		for k, v := range set {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		set  map[string]any
		want error // nil: accepted
	}{
		{"exp leeway-1s in the past", map[string]any{"exp": at(-leeway + time.Second), "iat": at(-time.Hour)}, nil},
		{"exp exactly leeway in the past", map[string]any{"exp": at(-leeway), "iat": at(-time.Hour)}, nil},
		{"exp leeway+1s in the past", map[string]any{"exp": at(-leeway - time.Second), "iat": at(-time.Hour)}, ErrExpired},
		{"exp missing", map[string]any{"exp": nil}, ErrInvalid},
		{"nbf leeway-1s in the future", map[string]any{"nbf": at(leeway - time.Second)}, nil},
		{"nbf exactly leeway in the future", map[string]any{"nbf": at(leeway)}, nil},
		{"nbf leeway+1s in the future", map[string]any{"nbf": at(leeway + time.Second)}, ErrInvalid},
		{"nbf 240s in the future", map[string]any{"nbf": at(240 * time.Second)}, ErrInvalid},
		{"nbf in the past", map[string]any{"nbf": at(-time.Hour)}, nil},
		{"iat leeway-1s in the future", map[string]any{"iat": at(leeway - time.Second)}, nil},
		{"iat exactly leeway in the future", map[string]any{"iat": at(leeway)}, nil},
		{"iat leeway+1s in the future", map[string]any{"iat": at(leeway + time.Second)}, ErrInvalid},
		{"iat a day in the future", map[string]any{"iat": at(24 * time.Hour)}, ErrInvalid},
		{"iat missing", map[string]any{"iat": nil}, nil},
		{"fractional exp inside the leeway", map[string]any{"exp": float64(at(-leeway)) + 0.5}, nil},
		{"fractional nbf just outside the leeway", map[string]any{"nbf": float64(at(leeway)) + 0.5}, ErrInvalid},
		{"exp as a string", map[string]any{"exp": "2030-01-01"}, ErrInvalid},
		{"nbf as a string", map[string]any{"nbf": "soon"}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ctx, sign(t, k, "k1", claims(tc.set)))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLookupClaimShapes(t *testing.T) {
	claims := map[string]any{
		"s": "one", "a": []any{"x", "y", 3}, "m": map[string]any{"b": map[string]any{}, "a": 1},
		"nested": map[string]any{"roles": []any{"r"}},
	}
	cases := []struct {
		path string
		want []string
	}{
		{"s", []string{"one"}}, {"a", []string{"x", "y"}}, {"m", []string{"a", "b"}},
		{"nested.roles", []string{"r"}}, {"missing", nil}, {"s.deeper", nil},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got := stringList(lookup(claims, tc.path))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
		})
	}
}

func TestJWKSRefetchIsThrottled(t *testing.T) {
	p := newIDP(t)
	k1 := p.publish(t, "k1")
	clock := time.Now()
	v := NewVerifier(Config{
		Issuer: p.srv.URL, Audience: "aqio-connect", UserClaim: "sub",
		JWKSMinRefetch: time.Minute, Now: func() time.Time { return clock },
	})
	claims := map[string]any{"iss": p.srv.URL, "aud": "aqio-connect", "sub": "user-1", "exp": clock.Add(time.Hour).Unix()}
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, k1, "k1", claims)); err != nil {
		t.Fatal(err)
	}
	// A flood of forged tokens (unknown kids, known kid with a wrong key)
	// must not turn into a flood of requests to the identity provider.
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := 0; i < 50; i++ {
		if _, err := v.Verify(ctx, sign(t, forger, fmt.Sprintf("forged-%d", i), claims)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("forged token %d: %v", i, err)
		}
		if _, err := v.Verify(ctx, sign(t, forger, "k1", claims)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("forged k1 token %d: %v", i, err)
		}
	}
	if n := v.fetch.Fetches(); n != 1 {
		t.Fatalf("key set fetched %d times, want 1", n)
	}
	// A real rotation is picked up once the interval has passed.
	k2 := p.publish(t, "k2")
	if _, err := v.Verify(ctx, sign(t, k2, "k2", claims)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("new key inside the interval: %v", err)
	}
	clock = clock.Add(61 * time.Second)
	// go-oidc signals a key-set fetch's waiters before it clears its
	// in-flight marker, so a Verify right after the previous one can still
	// be handed that finished fetch's result (seen under CI load). Ask a few
	// times; the throttle still allows only one real fetch after the interval.
	var err error
	for i := 0; i < 100; i++ {
		if _, err = v.Verify(ctx, sign(t, k2, "k2", claims)); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("new key after the interval: %v", err)
	}
	if n := v.fetch.Fetches(); n != 2 {
		t.Fatalf("key set fetched %d times, want 2", n)
	}
}
