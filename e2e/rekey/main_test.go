// Package rekey_test drives key rotation to the end: secrets, destination
// credentials, OAuth tokens, PKCE verifiers and API credentials written
// under one key, the service restarted with a new key first, the Rekey
// workflow run, the old key removed, and everything still opens — on
// SQLite or Postgres (AQIO_TEST_DATABASE_URL) with the embedded Temporal
// server.
package rekey_test

import (
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/fakes"
	activecampaignfake "github.com/aqio/connect/internal/fakes/activecampaign"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/keyring"
)

var (
	fake               *fakes.Server
	activecampaignFake *activecampaignfake.Mounted
	// k1 is the key everything is first written under; k2 the new one.
	k1, k2 string
)

const (
	googleClient, googleSecret = "google-client-id.apps.googleusercontent.com", "google-client-secret"
	returnURL                  = "https://app.aqio.test/settings/integrations"
)

func TestMain(m *testing.M) {
	fake = fakes.New(map[string]string{googleClient: googleSecret})
	defer fake.Close()
	activecampaignFake = activecampaignfake.Mount(fake.Mux, "/activecampaign", activecampaignfake.Options{})
	k1, _ = keyring.Generate("k1")
	k2, _ = keyring.Generate("k2")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	l.Close()
	testenv.Main(m, func(c *config.Config) {
		c.EncryptionKeys = k1
		c.HTTPAddr = addr
		c.PublicURL = "http://" + addr
		c.Integrations.OAuthRedirectURL = "http://" + addr + "/api/integrations/oauth/callback"
		c.Integrations.ReturnOrigins = []string{"https://app.aqio.test"}
		c.Integrations.Providers["google_calendar"] = config.ProviderConfig{
			ClientID: googleClient, ClientSecret: googleSecret,
			AuthURL:    fake.URL + "/oauth/authorize",
			TokenURL:   fake.URL + "/oauth/token",
			RevokeURL:  fake.URL + "/oauth/revoke",
			APIBaseURL: fake.URL + "/calendar/v3/",
		}
	})
}
