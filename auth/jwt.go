// Package auth verifies Aqio user access tokens: RS256 JWTs issued by
// Keycloak, checked against the realm's JWKS (fetched from the configured
// URL or discovered from the issuer, re-fetched when an unknown key id
// appears, so key rotation needs no restart). Signature, algorithm,
// issuer and audience checks are done by github.com/coreos/go-oidc and
// github.com/go-jose/go-jose; the time claims (exp, nbf, iat) are checked
// here, with one leeway for all three.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Config says which tokens to accept and where their claims are.
type Config struct {
	Issuer   string // exact "iss"
	Audience string // must be in "aud"
	// JWKSURL is the key set; empty means discover it from
	// Issuer + "/.well-known/openid-configuration".
	JWKSURL string
	// ClockSkew is the one leeway on the time claims: a token is accepted
	// up to ClockSkew past "exp", and refused when "nbf" or "iat" is more
	// than ClockSkew in the future.
	ClockSkew time.Duration
	// Claim paths, dotted for nested objects (e.g. "realm_access.roles").
	UserClaim          string
	EmailClaim         string
	RolesClaim         string
	OrganizationsClaim string
	// SupportOrganizationsClaim lists the organizations a support user is
	// granted ("*": every one); read only for support roles (api.JWTAuth).
	SupportOrganizationsClaim string
	HTTPClient                *http.Client
	Now                       func() time.Time
	// JWKSMinRefetch is the least time between key-set fetches (0: the
	// default of 30 s; negative: no limit).
	JWKSMinRefetch time.Duration
}

// Identity is what a verified token says about its user.
type Identity struct {
	UserID        string
	Email         string
	Roles         []string
	Organizations []string
	// SupportOrganizations are the organizations granted to a support
	// user (Config.SupportOrganizationsClaim).
	SupportOrganizations []string
	Expiry               time.Time
}

// ErrExpired is a token past its expiry (plus the clock skew).
var ErrExpired = errors.New("token expired")

// ErrInvalid is any other refusal (signature, algorithm, issuer, audience,
// unknown key, malformed token, missing user id).
var ErrInvalid = errors.New("invalid token")

// Verifier verifies tokens. It is safe for concurrent use.
type Verifier struct {
	cfg Config

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	fetch    *throttledFetch
}

// NewVerifier returns a verifier; the key set is fetched on first use.
func NewVerifier(cfg Config) *Verifier {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	return &Verifier{cfg: cfg}
}

func (v *Verifier) oidcVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	// The key set outlives this request: its fetches use a background
	// context, through a transport that limits how often Keycloak is asked.
	next := v.cfg.HTTPClient.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	minRefetch := v.cfg.JWKSMinRefetch
	if minRefetch == 0 {
		minRefetch = DefaultJWKSMinRefetch
	}
	v.fetch = &throttledFetch{next: next, minInterval: minRefetch, now: v.cfg.Now}
	keyClient := *v.cfg.HTTPClient
	keyClient.Transport = v.fetch
	kctx := oidc.ClientContext(context.WithoutCancel(ctx), &keyClient)
	jwksURL := v.cfg.JWKSURL
	if jwksURL == "" {
		u, err := v.discover(ctx)
		if err != nil {
			return nil, err
		}
		jwksURL = u
	}
	keys := oidc.NewRemoteKeySet(kctx, jwksURL)
	v.verifier = oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SkipClientIDCheck:    v.cfg.Audience == "",
		SupportedSigningAlgs: []string{oidc.RS256},
		// go-oidc checks "exp" and, with a fixed 5-minute leeway of its
		// own, "nbf", and never "iat": checkTimes applies the configured
		// leeway to all three once the signature is verified.
		SkipExpiryCheck: true,
	})
	return v.verifier, nil
}

func (v *Verifier) discover(ctx context.Context) (string, error) {
	url := strings.TrimRight(v.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("discover %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discover %s: status %d", url, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discover %s: %w", url, err)
	}
	if doc.Issuer != v.cfg.Issuer || doc.JWKSURI == "" {
		return "", fmt.Errorf("discover %s: issuer %q does not match the configured %q or jwks_uri is missing", url, doc.Issuer, v.cfg.Issuer)
	}
	return doc.JWKSURI, nil
}

// Verify checks raw and returns its identity. Errors wrap ErrExpired or
// ErrInvalid; a key-set fetch failure is returned as is (a 5xx, not the
// caller's fault).
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	ov, err := v.oidcVerifier(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := ov.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var times timeClaims
	if err := tok.Claims(&times); err != nil {
		return Identity{}, fmt.Errorf("%w: time claims must be numbers: %v", ErrInvalid, err)
	}
	if err := times.check(v.cfg.Now(), v.cfg.ClockSkew); err != nil {
		return Identity{}, err
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	id := Identity{
		UserID:        firstString(lookup(claims, v.cfg.UserClaim)),
		Email:         firstString(lookup(claims, v.cfg.EmailClaim)),
		Roles:         stringList(lookup(claims, v.cfg.RolesClaim)),
		Organizations: stringList(lookup(claims, v.cfg.OrganizationsClaim)),
		Expiry:        tok.Expiry,
	}
	id.SupportOrganizations = stringList(lookup(claims, v.cfg.SupportOrganizationsClaim))
	if id.UserID == "" {
		return Identity{}, fmt.Errorf("%w: no %q claim", ErrInvalid, v.cfg.UserClaim)
	}
	return id, nil
}

// timeClaims are a token's RFC 7519 time claims, in seconds since the epoch.
type timeClaims struct {
	Exp *float64 `json:"exp"`
	Nbf *float64 `json:"nbf"`
	Iat *float64 `json:"iat"`
}

func unixTime(sec float64) time.Time {
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9))
}

// check applies one leeway to the three claims: "exp" is required and may
// be up to leeway in the past; "nbf" and "iat", when present, may be up to
// leeway in the future.
func (c timeClaims) check(now time.Time, leeway time.Duration) error {
	if c.Exp == nil {
		return fmt.Errorf("%w: no \"exp\" claim", ErrInvalid)
	}
	if exp := unixTime(*c.Exp); now.After(exp.Add(leeway)) {
		return fmt.Errorf("%w: expired at %s (leeway %s)", ErrExpired, exp.UTC().Format(time.RFC3339), leeway)
	}
	if c.Nbf != nil {
		if nbf := unixTime(*c.Nbf); nbf.After(now.Add(leeway)) {
			return fmt.Errorf("%w: not valid before %s (leeway %s)", ErrInvalid, nbf.UTC().Format(time.RFC3339), leeway)
		}
	}
	if c.Iat != nil {
		if iat := unixTime(*c.Iat); iat.After(now.Add(leeway)) {
			return fmt.Errorf("%w: issued in the future, at %s (leeway %s)", ErrInvalid, iat.UTC().Format(time.RFC3339), leeway)
		}
	}
	return nil
}

// lookup follows a dotted path through nested objects.
func lookup(claims map[string]any, path string) any {
	if path == "" {
		return nil
	}
	var cur any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func firstString(v any) string {
	ss := stringList(v)
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// stringList reads a claim as a list: a string, an array of strings, or an
// object whose keys are the values (Keycloak's "organization" claim with
// attributes has that shape).
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		if t == "" {
			return nil
		}
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case map[string]any:
		var out []string
		for k := range t {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	return nil
}
