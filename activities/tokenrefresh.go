package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/oauth2"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// TokenStateInput names the integration whose tokens the loop watches.
type TokenStateInput struct {
	IntegrationID  string
	OrganizationID string
}

// TokenState is what the refresh loop needs to plan its next wake-up.
// It carries no token.
type TokenState struct {
	Exists      bool
	Status      string
	Refreshable bool
	// RefreshAt is min(margin, 10% of the token's lifetime) before expiry.
	RefreshAt time.Time
	ExpiresAt time.Time
}

// TokenState reads the integration's expiry and status.
func (a *Integrations) TokenState(ctx context.Context, in TokenStateInput) (TokenState, error) {
	integ, err := a.Store.GetIntegration(ctx, in.OrganizationID, in.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return TokenState{}, nil
	}
	if err != nil {
		return TokenState{}, err
	}
	p, _ := a.Catalog.Get(integ.IntegrationType)
	st := TokenState{Exists: true, Status: integ.Status}
	if !p.TokensExpire() || integ.RefreshToken == nil || integ.TokenExpiresAt == nil {
		return st, nil
	}
	st.Refreshable = true
	st.ExpiresAt = integ.TokenExpiresAt.UTC()
	st.RefreshAt = a.refreshAt(st.ExpiresAt, integ.TokenObtainedAt)
	return st, nil
}

func (a *Integrations) refreshAt(expires time.Time, obtained *time.Time) time.Time {
	margin := a.RefreshMargin
	if margin <= 0 {
		margin = 15 * time.Minute
	}
	if obtained != nil {
		if tenth := expires.Sub(*obtained) / 10; tenth < margin {
			margin = tenth
		}
	}
	return expires.Add(-margin)
}

// RefreshInput names the integration to refresh.
type RefreshInput struct {
	IntegrationID  string
	OrganizationID string
}

// RefreshResult is the new expiry (no token).
type RefreshResult struct {
	ExpiresAt time.Time
	RefreshAt time.Time
	// Rotated: the provider returned a new refresh token (saved).
	Rotated bool
}

// Refresh exchanges the refresh token for a new access token and saves
// both (a rotated refresh token included) in one transaction.
// invalid_grant and revoked tokens fail with IntegrationAuthRevoked.
func (a *Integrations) Refresh(ctx context.Context, in RefreshInput) (RefreshResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	if err != nil {
		return RefreshResult{}, err
	}
	creds, err := a.open(integ)
	if err != nil {
		return RefreshResult{}, err
	}
	if creds.Refresh == "" {
		return RefreshResult{}, temporal.NewNonRetryableApplicationError("integration has no refresh token", ErrTypeAuthRevoked, nil, "no_refresh_token")
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, p.TokenHTTPClient(a.HTTP))
	old := &oauth2.Token{RefreshToken: creds.Refresh, Expiry: time.Unix(1, 0)}
	tok, err := p.OAuth2Config(a.RedirectURL).TokenSource(octx, old).Token()
	if err != nil {
		return RefreshResult{}, providerError(providers.ClassifyTokenError(p.Type, err))
	}
	rotated := tok.RefreshToken != "" && tok.RefreshToken != creds.Refresh
	sealed, err := a.seal(p, integ.ID, tok, creds.Refresh)
	if err != nil {
		return RefreshResult{}, err
	}
	// Extras (e.g. Slack's incoming webhook) come only with the code exchange.
	sealed.TokenExtra = nil
	if err := a.Store.SaveRefreshedTokens(ctx, in.OrganizationID, in.IntegrationID, sealed); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return RefreshResult{}, temporal.NewNonRetryableApplicationError("integration was deleted", ErrTypeIntegrationGone, nil)
		}
		return RefreshResult{}, err
	}
	res := RefreshResult{Rotated: rotated}
	if sealed.ExpiresAt != nil {
		res.ExpiresAt = *sealed.ExpiresAt
		now := a.now()
		res.RefreshAt = a.refreshAt(res.ExpiresAt, &now)
	}
	return res, nil
}
