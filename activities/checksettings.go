package activities

import (
	"context"
	"errors"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
)

// CheckSettingsInput asks a connector to check settings against the
// provider before they are saved (settings are configuration, not
// secrets; the credentials are loaded by id).
type CheckSettingsInput struct {
	IntegrationID  string
	OrganizationID string
	// Settings are the normalised settings JSON about to be saved.
	Settings string
	// Stored checks the integration's saved settings instead (the
	// check after the OAuth callback; Settings is ignored).
	Stored bool `json:",omitempty"`
}

// CheckSettingsResult is the provider's verdict: Field and Message name
// the refused setting; both empty means accepted (or nothing to check).
type CheckSettingsResult struct {
	Field   string
	Message string
}

// CheckSettings runs the connector's SettingsChecker (e.g. HubSpot: the
// mapped contact properties exist in the portal) with the integration's
// credentials and the new settings. A refused setting is a result, not
// an error; provider failures follow the usual retry rules.
func (a *Integrations) CheckSettings(ctx context.Context, in CheckSettingsInput) (CheckSettingsResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return CheckSettingsResult{}, err
	}
	sc, ok := p.Connector.(providers.SettingsChecker)
	if !ok {
		return CheckSettingsResult{}, nil
	}
	// An integration in status error is checked too: a PATCH correcting
	// the settings refused after the callback is how it resumes.
	if integ.Status != models.IntegrationError {
		if err := requireActive(integ); err != nil {
			return CheckSettingsResult{}, err
		}
	}
	if !in.Stored {
		integ.Settings = &in.Settings
	}
	rt, _, err := a.runtime(ctx, integ, p)
	if err != nil {
		return CheckSettingsResult{}, err
	}
	err = sc.CheckSettings(ctx, rt)
	var se *providers.SettingsError
	switch {
	case err == nil:
		return CheckSettingsResult{}, nil
	case errors.As(err, &se):
		return CheckSettingsResult{Field: se.Field, Message: se.Message}, nil
	}
	return CheckSettingsResult{}, providerError(asProviderError(p.Type, err))
}
