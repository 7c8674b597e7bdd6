// Package privacy_test drives data-subject requests end to end: events
// for a person are ingested, delivered to a real receiver and pushed to
// the fakes of every connector that erases (HubSpot, Mailchimp,
// ActiveCampaign, Pipedrive, Salesforce, Zoom, Kit, Google Calendar,
// Outlook, Apple Calendar over CalDAV); then the erasure (HTTP → Erasure
// workflow → activities → database and provider fakes), the access
// export and the retention schedule's run are checked against every
// text column of every table and every recorded Temporal history, on
// SQLite or Postgres (AQIO_TEST_DATABASE_URL).
package privacy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/fakes"
	activecampaignfake "github.com/aqio/connect/internal/fakes/activecampaign"
	hubspotfake "github.com/aqio/connect/internal/fakes/hubspot"
	kitfake "github.com/aqio/connect/internal/fakes/kit"
	mailchimpfake "github.com/aqio/connect/internal/fakes/mailchimp"
	graphfake "github.com/aqio/connect/internal/fakes/msgraph"
	pipedrivefake "github.com/aqio/connect/internal/fakes/pipedrive"
	sffake "github.com/aqio/connect/internal/fakes/salesforce"
	zoomfake "github.com/aqio/connect/internal/fakes/zoom"
	"github.com/aqio/connect/internal/testenv"
	"github.com/aqio/connect/workflows"
)

var (
	fake          *fakes.Server
	hubspotFake   *hubspotfake.Mounted
	mailchimpFake *mailchimpfake.Mounted
	// activecampaignFake is an API-key provider (connected with
	// credentials, not OAuth).
	activecampaignFake *activecampaignfake.Mounted
	pipedriveFake      *pipedrivefake.Mounted
	salesforceFake     *sffake.Mounted
	zoomFake           *zoomfake.Mounted
	kitFake            *kitfake.Mounted
	graphFake          *graphfake.Mounted
)

const (
	hubspotClient, hubspotSecret     = "privacy-hubspot-client", "privacy-hubspot-secret"
	mailchimpClient, mailchimpSecret = "privacy-mailchimp-client", "privacy-mailchimp-secret"
	googleClient, googleSecret       = "privacy-google-client.apps.googleusercontent.com", "privacy-google-secret"
	pipedriveClient, pipedriveSecret = "privacy-pipedrive-client", "privacy-pipedrive-secret"
	sfClient, sfSecret               = "privacy-salesforce-client", "privacy-salesforce-secret"
	zoomClient, zoomSecret           = "privacy-zoom-client", "privacy-zoom-secret"
	kitClient, kitSecret             = "privacy-kit-client", "privacy-kit-secret"
	graphClient, graphSecret         = "0c1f2e3d-privacy-graph-client", "privacy~graph~secret"
	returnURL                        = "https://app.aqio.test/settings/integrations"
	wait                             = 60 * time.Second
)

func TestMain(m *testing.M) {
	fake = fakes.New(map[string]string{googleClient: googleSecret})
	defer fake.Close()
	hubspotFake = hubspotfake.Mount(fake.Mux, fake.Issuer, "/hubspot", map[string]string{hubspotClient: hubspotSecret}, hubspotfake.Options{})
	mailchimpFake = mailchimpfake.Mount(fake.Mux, fake.Issuer, "/mailchimp", map[string]string{mailchimpClient: mailchimpSecret},
		func() string { return fake.URL }, mailchimpfake.Options{})
	activecampaignFake = activecampaignfake.Mount(fake.Mux, "/activecampaign", activecampaignfake.Options{RateLimit: 1000})
	base := func() string { return fake.URL }
	pipedriveFake = pipedrivefake.Mount(fake.Mux, fake.Issuer, "/pipedrive", map[string]string{pipedriveClient: pipedriveSecret}, base, pipedrivefake.Options{})
	salesforceFake = sffake.Mount(fake.Mux, fake.Issuer, "/salesforce", map[string]string{sfClient: sfSecret}, base, sffake.Options{})
	zoomFake = zoomfake.Mount(fake.Mux, fake.Issuer, "/zoom", map[string]string{zoomClient: zoomSecret}, base)
	kitFake = kitfake.Mount(fake.Mux, fake.Issuer, "/kit", map[string]string{kitClient: kitSecret}, kitfake.Options{})
	graphFake = graphfake.Mount(fake.Mux, fake.Issuer, "/msgraph", map[string]string{graphClient: graphSecret})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	l.Close()
	testenv.Main(m, func(c *config.Config) {
		c.HTTPAddr = addr
		c.PublicURL = "http://" + addr
		c.Integrations.OAuthRedirectURL = "http://" + addr + "/api/integrations/oauth/callback"
		c.Integrations.ReturnOrigins = []string{"https://app.aqio.test"}
		c.Integrations.Providers["hubspot"] = config.ProviderConfig{
			ClientID: hubspotClient, ClientSecret: hubspotSecret,
			AuthURL: fake.URL + hubspotFake.AuthPath(), TokenURL: fake.URL + hubspotFake.TokenPath(),
			RevokeURL: fake.URL + hubspotFake.RevokePath(), APIBaseURL: fake.URL + hubspotFake.APIPath(),
		}
		c.Integrations.Providers["mailchimp"] = config.ProviderConfig{
			ClientID: mailchimpClient, ClientSecret: mailchimpSecret,
			AuthURL: fake.URL + mailchimpFake.AuthPath(), TokenURL: fake.URL + mailchimpFake.TokenPath(),
		}
		// No API URLs for Pipedrive, Salesforce and Zoom: their token
		// answers say where the account's API is.
		c.Integrations.Providers["pipedrive"] = config.ProviderConfig{ClientID: pipedriveClient, ClientSecret: pipedriveSecret,
			AuthURL: fake.URL + pipedriveFake.AuthPath(), TokenURL: fake.URL + pipedriveFake.TokenPath(), RevokeURL: fake.URL + pipedriveFake.RevokePath()}
		c.Integrations.Providers["salesforce"] = config.ProviderConfig{ClientID: sfClient, ClientSecret: sfSecret,
			AuthURL: fake.URL + salesforceFake.AuthPath(), TokenURL: fake.URL + salesforceFake.TokenPath(), RevokeURL: fake.URL + salesforceFake.RevokePath()}
		c.Integrations.Providers["zoom"] = config.ProviderConfig{ClientID: zoomClient, ClientSecret: zoomSecret,
			AuthURL: fake.URL + zoomFake.AuthPath(), TokenURL: fake.URL + zoomFake.TokenPath(), RevokeURL: fake.URL + zoomFake.RevokePath()}
		c.Integrations.Providers["kit"] = config.ProviderConfig{ClientID: kitClient, ClientSecret: kitSecret,
			AuthURL: fake.URL + kitFake.AuthPath(), TokenURL: fake.URL + kitFake.TokenPath(),
			RevokeURL: fake.URL + kitFake.RevokePath(), APIBaseURL: fake.URL + kitFake.APIPath()}
		c.Integrations.Providers["google_calendar"] = config.ProviderConfig{ClientID: googleClient, ClientSecret: googleSecret,
			AuthURL: fake.URL + "/oauth/authorize", TokenURL: fake.URL + "/oauth/token", RevokeURL: fake.URL + "/oauth/revoke",
			APIBaseURL: fake.URL + "/calendar/v3/"}
		c.Integrations.Providers["outlook_calendar"] = config.ProviderConfig{ClientID: graphClient, ClientSecret: graphSecret,
			AuthURL: fake.URL + graphFake.AuthPath(), TokenURL: fake.URL + graphFake.TokenPath(), APIBaseURL: fake.URL + graphFake.APIPath()}
	})
}

// subjects are every personal value the tests give a data subject who is
// erased; the history test fails if any of them is in a Temporal history.
var subjects struct {
	sync.Mutex
	values []string
}

func personal(values ...string) {
	subjects.Lock()
	subjects.values = append(subjects.values, values...)
	subjects.Unlock()
}

// connect runs the OAuth redirect flow and returns the integration id.
func connect(t *testing.T, org *testenv.Org, typ string, settings map[string]any) string {
	t.Helper()
	resp := org.Do(t, "POST", "/api/integrations/"+typ+"/authorize",
		map[string]any{"name": typ + " (privacy)", "settings": settings, "return_url": returnURL})
	if resp.Status != http.StatusCreated {
		t.Fatalf("authorize %s: %d %s", typ, resp.Status, resp.Body)
	}
	cb := testenv.Location(t, resp.Map(t)["authorization_url"].(string))
	back := testenv.Location(t, cb.String())
	if back.Query().Get("integration_status") != "connected" || !strings.HasPrefix(back.String(), returnURL) {
		t.Fatalf("callback redirected to %s", back)
	}
	return back.Query().Get("integration_id")
}

func postEvent(t *testing.T, org *testenv.Org, id, typ string, object map[string]any) {
	t.Helper()
	resp := org.Do(t, "POST", "/api/events", map[string]any{"id": id, "type": typ, "data": map[string]any{"object": object}})
	if resp.Status != http.StatusAccepted && resp.Status != http.StatusOK {
		t.Fatalf("post %s: %d %s", typ, resp.Status, resp.Body)
	}
}

// waitClosed waits until a workflow run has finished and returns its status.
func waitClosed(t *testing.T, env *testenv.Env, workflowID string) enums.WorkflowExecutionStatus {
	t.Helper()
	var status enums.WorkflowExecutionStatus
	testenv.Eventually(t, wait, "workflow "+workflowID+" to close", func() bool {
		d, err := env.App.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil {
			return false
		}
		status = d.GetWorkflowExecutionInfo().GetStatus()
		return status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	return status
}

func pushDone(t *testing.T, env *testenv.Env, integ, eventID string) {
	t.Helper()
	if st := waitClosed(t, env, workflows.PushWorkflowID(integ, eventID)); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("push %s to %s ended %v", eventID, integ, st)
	}
}
