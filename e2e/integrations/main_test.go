// Package integrations_test drives the integrations end to end: HTTP API →
// Temporal workflows → activities → local provider fakes (OAuth server,
// Slack, Google Calendar) → database rows, on SQLite or Postgres
// (AQIO_TEST_DATABASE_URL) with the embedded Temporal server.
package integrations_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/fakes"
	activecampaignfake "github.com/aqio/connect/internal/fakes/activecampaign"
	hubspotfake "github.com/aqio/connect/internal/fakes/hubspot"
	kitfake "github.com/aqio/connect/internal/fakes/kit"
	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/internal/testenv"
)

var fake *fakes.Server

// hubspotFake is HubSpot (OAuth v3 endpoints and API) under /hubspot on
// the fakes' server, its rate-limit window shortened to hubspotWindow.
var hubspotFake *hubspotfake.Mounted

const hubspotWindow = time.Second

// activecampaignFake is one ActiveCampaign account under /activecampaign
// on the fakes' server (its API URL: fake.URL + APIPath(); no OAuth, the
// account's API key is a credential given at connect).
var activecampaignFake *activecampaignfake.Mounted

// zoomFake is Zoom (OAuth, revoke and API) under /zoom on the fakes' server.
var zoomFake *zoomfake.Mounted

// kitFake is Kit (OAuth, revoke and the V4 API) under /kit on the fakes' server.
var kitFake *kitfake.Mounted

const (
	slackClient, slackSecret   = "slack-client-id", "slack-client-secret"
	googleClient, googleSecret = "google-client-id.apps.googleusercontent.com", "google-client-secret"
	returnURL                  = "https://app.aqio.test/settings/integrations"
	hubspotClient              = "5f1b3c9e-hubspot-client-id"
	hubspotSecret              = "hubspot-client-secret"
	zoomClient, zoomSecret     = "zoom-client-id", "zoom-client-secret"
	kitClient, kitSecret       = "kit-client-id", "kit-client-secret"
)

func TestMain(m *testing.M) {
	fake = fakes.New(map[string]string{slackClient: slackSecret, googleClient: googleSecret})
	defer fake.Close()
	hubspotFake = hubspotfake.Mount(fake.Mux, fake.Issuer, "/hubspot", map[string]string{hubspotClient: hubspotSecret},
		hubspotfake.Options{RateLimitInterval: hubspotWindow})
	hubspotFake.AddProperty(hubspotfake.Property{Name: "dietary_preferences", Label: "Dietary preferences"})
	activecampaignFake = activecampaignfake.Mount(fake.Mux, "/activecampaign", activecampaignfake.Options{})
	zoomFake = zoomfake.Mount(fake.Mux, fake.Issuer, "/zoom", map[string]string{zoomClient: zoomSecret}, func() string { return fake.URL })
	kitFake = kitfake.Mount(fake.Mux, fake.Issuer, "/kit", map[string]string{kitClient: kitSecret}, kitfake.Options{})
	salesforceFake = mountSalesforce()
	pipedriveFake = mountPipedrive()
	mailchimpFake = mountMailchimp()
	graphFake = mountGraph()
	discordFake = mountDiscord()
	teamsChannelFake = mountTeamsChannel()
	// The providers redirect the browser to the callback, so the API's
	// address must be known before the app is built.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	l.Close()
	testenv.Main(m, func(c *config.Config) {
		c.Integrations.Providers["hubspot"] = config.ProviderConfig{
			ClientID: hubspotClient, ClientSecret: hubspotSecret,
			AuthURL: fake.URL + hubspotFake.AuthPath(), TokenURL: fake.URL + hubspotFake.TokenPath(),
			RevokeURL: fake.URL + hubspotFake.RevokePath(), APIBaseURL: fake.URL + hubspotFake.APIPath(),
		}
		c.HTTPAddr = addr
		c.PublicURL = "http://" + addr
		c.Integrations.OAuthRedirectURL = "http://" + addr + "/api/integrations/oauth/callback"
		c.Integrations.ReturnOrigins = []string{"https://app.aqio.test"}
		c.Integrations.Providers["slack"] = config.ProviderConfig{
			ClientID: slackClient, ClientSecret: slackSecret,
			AuthURL:    fake.URL + "/slack/oauth/v2/authorize",
			TokenURL:   fake.URL + "/slack/api/oauth.v2.access",
			APIBaseURL: fake.URL + "/slack/api",
		}
		c.Integrations.Providers["google_calendar"] = config.ProviderConfig{
			ClientID: googleClient, ClientSecret: googleSecret,
			AuthURL:    fake.URL + "/oauth/authorize",
			TokenURL:   fake.URL + "/oauth/token",
			RevokeURL:  fake.URL + "/oauth/revoke",
			APIBaseURL: fake.URL + "/calendar/v3/",
		}
		// No API URL: Zoom's token answers carry api_url.
		c.Integrations.Providers["zoom"] = config.ProviderConfig{
			ClientID: zoomClient, ClientSecret: zoomSecret,
			AuthURL: fake.URL + zoomFake.AuthPath(), TokenURL: fake.URL + zoomFake.TokenPath(), RevokeURL: fake.URL + zoomFake.RevokePath(),
		}
		c.Integrations.Providers["kit"] = config.ProviderConfig{
			ClientID: kitClient, ClientSecret: kitSecret,
			AuthURL: fake.URL + kitFake.AuthPath(), TokenURL: fake.URL + kitFake.TokenPath(),
			RevokeURL: fake.URL + kitFake.RevokePath(), APIBaseURL: fake.URL + kitFake.APIPath(),
		}
		configureSalesforce(c)
		configurePipedrive(c)
		configureMailchimp(c)
		configureOutlook(c)
		configureDiscord(c)
		c.Integrations.Providers["teams_channel"] = config.ProviderConfig{APIBaseURL: fake.URL + "/teams-workflows"}
	})
}

// authorize starts a connection and returns the provider's redirect back
// to our callback (the URL the browser would load next).
func authorize(t *testing.T, org *testenv.Org, typ string, body map[string]any, user string) *url.URL {
	t.Helper()
	resp := org.Do(t, "POST", "/api/integrations/"+typ+"/authorize", body, "X-Aqio-User-Id", user)
	if resp.Status != http.StatusCreated {
		t.Fatalf("authorize: %d %s", resp.Status, resp.Body)
	}
	authURL := resp.Map(t)["authorization_url"].(string)
	if !strings.HasPrefix(authURL, fake.URL) {
		t.Fatalf("authorization_url %s does not point at the provider", authURL)
	}
	return testenv.Location(t, authURL)
}

// connect runs the whole redirect flow and returns the integration id.
func connect(t *testing.T, org *testenv.Org, typ string, settings map[string]any, user string) string {
	t.Helper()
	cb := authorize(t, org, typ, map[string]any{"name": typ + " test", "settings": settings, "return_url": returnURL}, user)
	back := testenv.Location(t, cb.String())
	q := back.Query()
	if q.Get("integration_status") != "connected" {
		t.Fatalf("callback redirected to %s", back)
	}
	if !strings.HasPrefix(back.String(), returnURL) {
		t.Fatalf("callback went to %s, want %s", back, returnURL)
	}
	return q.Get("integration_id")
}
