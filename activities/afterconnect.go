package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/aqio/connect/providers"
)

// AfterConnectInput names a connection just saved by ExchangeCode.
type AfterConnectInput struct {
	IntegrationID  string
	OrganizationID string
}

// AfterConnectResult lists the extras the connector stored (names only:
// values may be secrets and stay out of workflow history).
type AfterConnectResult struct {
	Stored []string
}

// AfterConnect runs the connector's AfterConnecter once after the OAuth
// code exchange, with the authenticated runtime of the new connection
// (e.g. Mailchimp's metadata call for the data center), and stores the
// extras it returns encrypted beside the token extras, so they appear in
// Credentials.Extra (and APIBaser sees them) from then on. A connector
// without AfterConnect is a no-op.
func (a *Integrations) AfterConnect(ctx context.Context, in AfterConnectInput) (AfterConnectResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return AfterConnectResult{}, err
	}
	ac, ok := p.Connector.(providers.AfterConnecter)
	if !ok {
		return AfterConnectResult{}, nil
	}
	if err := requireActive(integ); err != nil {
		return AfterConnectResult{}, err
	}
	rt, _, err := a.runtime(ctx, integ, p)
	if err != nil {
		return AfterConnectResult{}, err
	}
	extras, err := ac.AfterConnect(ctx, rt)
	if err != nil {
		return AfterConnectResult{}, actionError(p.Type, err)
	}
	if len(extras) == 0 {
		return AfterConnectResult{}, nil
	}
	// Re-read: a refresh during the call may have changed the row (its
	// extras are kept; only the code exchange writes token extras).
	integ, _, err = a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return AfterConnectResult{}, err
	}
	creds, err := a.open(integ)
	if err != nil {
		return AfterConnectResult{}, err
	}
	merged := map[string]any{}
	maps.Copy(merged, creds.Extra)
	maps.Copy(merged, extras)
	b, err := json.Marshal(merged)
	if err != nil {
		return AfterConnectResult{}, fmt.Errorf("encode extras: %w", err)
	}
	enc, err := a.Ring.Encrypt(b, []byte(integ.ID))
	if err != nil {
		return AfterConnectResult{}, err
	}
	if _, err := a.Store.UpdateIntegration(ctx, in.OrganizationID, in.IntegrationID, map[string]any{"token_extra": enc}); err != nil {
		return AfterConnectResult{}, fmt.Errorf("store extras of %s: %w", in.IntegrationID, err)
	}
	return AfterConnectResult{Stored: slices.Sorted(maps.Keys(extras))}, nil
}
