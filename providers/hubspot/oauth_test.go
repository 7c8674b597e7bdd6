package hubspot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	fake "github.com/aqio/connect/internal/fakes/hubspot"
	"github.com/aqio/connect/internal/fakes/oauth"
	"github.com/aqio/connect/providers"
)

// TestOAuthAgainstFake runs the connector's OAuth entry through
// golang.org/x/oauth2 against the fake: authorize with PKCE, code
// exchange on /oauth/v3/token with the client credentials in the body,
// a 30-minute token with hub_id, an API call, then expiry and refresh.
func TestOAuthAgainstFake(t *testing.T) {
	for _, prefix := range []string{"", "/hubspot"} {
		t.Run("prefix "+prefix, func(t *testing.T) { oauthRoundTrip(t, prefix) })
	}
}

func oauthRoundTrip(t *testing.T, prefix string) {
	iss := oauth.NewIssuer()
	mux := http.NewServeMux()
	m := fake.Mount(mux, iss, prefix, map[string]string{"hs-client": "hs-secret"}, fake.Options{})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	srv := &fake.Server{Server: hs, Mounted: m}
	o := New().Info().OAuth
	cfg := &oauth2.Config{ClientID: "hs-client", ClientSecret: "hs-secret", RedirectURL: "https://aqio.test/cb",
		Endpoint: oauth2.Endpoint{AuthURL: srv.AuthURL(), TokenURL: srv.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}, Scopes: o.DefaultScopes}
	verifier := oauth2.GenerateVerifier()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: New().TokenTransport(http.DefaultTransport)})
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("hub_id") == nil || tok.Expiry.IsZero() || tok.RefreshToken == "" {
		t.Fatalf("token %+v hub_id %v", tok, tok.Extra("hub_id"))
	}
	c := &Client{BaseURL: srv.APIBaseURL(), HTTP: BearerClient(nil, tok.AccessToken)}
	if _, err := c.ContactProperties(ctx); err != nil {
		t.Fatal(err)
	}
	srv.OAuth.ExpireAccessTokens()
	_, err = c.ContactProperties(ctx)
	if pe, ok := providers.AsError(err); !ok || pe.Kind != providers.KindExpired || pe.Code != "EXPIRED_AUTHENTICATION" {
		t.Fatalf("expired token: %v", err)
	}
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = BearerClient(nil, fresh.AccessToken)
	if _, err := c.ContactProperties(ctx); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
	// A dead refresh token is an invalid_grant the runtime classifies as auth.
	srv.OAuth.RevokeAllRefreshTokens()
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if pe := providers.ClassifyTokenError("hubspot", err); pe.Kind != providers.KindAuth {
		t.Fatalf("dead refresh token: %v → %+v", err, pe)
	}
}
