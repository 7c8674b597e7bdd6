package zoom_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/aqio/connect/internal/fakes/oauth"
	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/zoom"
)

// TestOAuthAgainstTheFake runs Zoom's catalog entry through the OAuth
// fake with Zoom's rules: PKCE, HTTP Basic client auth at the token
// endpoint, rotating refresh tokens, api_url in the token answer, and the
// Basic-authenticated revoke.
func TestOAuthAgainstTheFake(t *testing.T) {
	ctx := context.Background()
	srv := zoomfake.NewServer(oauth.NewIssuer(), map[string]string{"zoom-client": "zoom-secret"})
	defer srv.Close()

	conn := zoom.New()
	info := conn.Info()
	o := *info.OAuth
	o.AuthURL, o.TokenURL, o.RevokeURL = srv.AuthURL(), srv.TokenURL(), srv.RevokeURL()
	info.OAuth = &o
	p := providers.Provider{Info: info, Connector: conn, ClientID: "zoom-client", ClientSecret: "zoom-secret"}
	cfg := p.OAuth2Config("https://connect.aqio.test/api/integrations/oauth/callback")

	verifier := oauth2.GenerateVerifier()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(cfg.AuthCodeURL("state-1", p.AuthCodeOptions(verifier)...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	code := back.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || back.Query().Get("state") != "state-1" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, back)
	}
	// Zoom refuses client credentials in the body.
	bodyCfg := *cfg
	bodyCfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := bodyCfg.Exchange(ctx, code, p.ExchangeOptions(verifier)...); err == nil {
		t.Fatal("token endpoint accepted client credentials in the body")
	}
	resp, err = noRedirect.Get(cfg.AuthCodeURL("state-2", p.AuthCodeOptions(verifier)...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), p.ExchangeOptions(verifier)...)
	if err != nil {
		t.Fatal(err)
	}
	apiURL, _ := tok.Extra("api_url").(string)
	creds := providers.Credentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Extra: map[string]any{"api_url": apiURL}}
	if base := conn.APIBase(creds); base != srv.APIBaseURL() {
		t.Fatalf("APIBase = %q, want %q", base, srv.APIBaseURL())
	}
	c := &zoom.Client{BaseURL: conn.APIBase(creds), HTTP: http.DefaultClient, Token: tok.AccessToken}
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("API with the new token: %v", err)
	}

	// Refresh rotates: the spent refresh token is refused afterwards.
	old := &oauth2.Token{RefreshToken: tok.RefreshToken}
	fresh, err := cfg.TokenSource(ctx, old).Token()
	if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", fresh, err)
	}
	_, err = cfg.TokenSource(ctx, old).Token()
	if pe := providers.ClassifyTokenError("zoom", err); pe.Kind != providers.KindAuth || pe.Code != "invalid_grant" {
		t.Fatalf("spent refresh token: %v (%+v)", err, pe)
	}

	// Revoke with HTTP Basic client auth; the token then stops working.
	rt := &providers.Runtime{Provider: p, Credentials: providers.Credentials{AccessToken: fresh.AccessToken},
		HTTP: providers.NewSession(conn, info, providers.Credentials{AccessToken: fresh.AccessToken}).Client(http.DefaultClient)}
	if err := conn.Revoke(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if got := srv.OAuth.Revoked(); len(got) != 1 || got[0] != fresh.AccessToken {
		t.Fatalf("revoked %v", got)
	}
	c.Token = fresh.AccessToken
	if _, err := c.Me(ctx); err == nil {
		t.Fatal("revoked token still works")
	}
	// Revoking again is success (Zoom no longer knows the token).
	if err := conn.Revoke(ctx, rt); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}
