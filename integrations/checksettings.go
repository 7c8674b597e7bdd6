package integrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/workflows"
)

// checkSettings asks the provider whether new settings fit (connectors
// implementing providers.SettingsChecker, e.g. HubSpot's mapped contact
// properties), through a CheckSettings workflow run the request waits
// for. A refused setting is an InvalidError naming the field; nothing is
// saved. Integrations without credentials or not active are not checked
// (their pushes do not run either).
func (s *Service) checkSettings(ctx context.Context, integ models.Integration, settings string) error {
	p, ok := s.Catalog.Get(integ.IntegrationType)
	if !ok {
		return nil
	}
	if _, checks := p.Connector.(providers.SettingsChecker); !checks || (integ.Status != models.IntegrationActive && !settingsRefused(integ)) {
		return nil
	}
	timeout := s.CallbackTimeout
	if timeout <= 0 {
		timeout = 45 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run, err := s.Temporal.ExecuteWorkflow(wctx, client.StartWorkflowOptions{
		ID:                    workflows.CheckSettingsWorkflowID(integ.ID, ids.New("chk")),
		TaskQueue:             workflows.IntegrationsQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowRunTimeout:    time.Minute,
		TypedSearchAttributes: s.attrs(integ),
	}, workflows.CheckSettings, activities.CheckSettingsInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, Settings: settings})
	if err != nil {
		return fmt.Errorf("start settings check: %w", err)
	}
	var res activities.CheckSettingsResult
	if err := run.Get(wctx, &res); err != nil {
		var appErr *temporal.ApplicationError
		msg := "could not check the settings with " + p.DisplayName + "; try again"
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeAuthRevoked {
			msg = p.DisplayName + " refused the credentials; reconnect the integration"
		}
		return invalid("settings", "%s", msg)
	}
	if res.Field != "" {
		return invalid(res.Field, "%s", res.Message)
	}
	return nil
}

// settingsRefused reports an integration in status error because the
// provider refused its settings after the OAuth callback (its
// last_error_message names the field, "settings.…: …"). A PATCH whose
// settings the provider accepts makes it active again.
func settingsRefused(integ models.Integration) bool {
	return integ.Status == models.IntegrationError && integ.LastErrorMessage != nil &&
		strings.HasPrefix(*integ.LastErrorMessage, "settings")
}
