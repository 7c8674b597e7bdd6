package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/oauth2"

	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
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
	// Unsaved is set when the provider issued new tokens but they could
	// not be written: the key-ring ciphertexts (bound to the row id,
	// never plaintext), for SaveTokens to write. The spent refresh token
	// is never sent again.
	Unsaved *store.Sealed `json:",omitempty"`
}

type refreshOutcome struct {
	creds   credentials
	sealed  store.Sealed
	rotated bool
	saveErr error
}

// refreshTokens exchanges the stored refresh token and persists the new
// tokens before anything else uses them, retrying the write with the new
// tokens. A refresh token that another run just spent (a concurrent
// refresh saved a newer one) is not an error: the newer tokens are used.
func (a *Integrations) refreshTokens(ctx context.Context, orgID, id, trigger string) (refreshOutcome, error) {
	integ, p, err := a.load(ctx, orgID, id)
	if err != nil {
		return refreshOutcome{}, err
	}
	creds, err := a.open(integ)
	if err != nil {
		return refreshOutcome{}, err
	}
	if creds.Refresh == "" {
		return refreshOutcome{}, temporal.NewNonRetryableApplicationError("integration has no refresh token", ErrTypeAuthRevoked, nil, "no_refresh_token")
	}
	record := func(status string, rotated bool, pe *providers.Error) {
		r := &models.IntegrationTokenRefresh{ID: ids.New("ref"), IntegrationID: id, OrganizationID: orgID, Status: status, Trigger: trigger, Rotated: rotated}
		if activity.IsActivity(ctx) {
			wf := activity.GetInfo(ctx).WorkflowExecution.ID
			r.WorkflowID = &wf
		}
		if pe != nil {
			msg := pe.Error()
			r.ErrorCode, r.ErrorMessage = &pe.Code, &msg
		}
		if err := a.Store.RecordTokenRefresh(ctx, r); err != nil {
			a.Logger.Warn("record token refresh", "integration_id", id, "err", err)
		}
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, p.TokenHTTPClient(a.HTTP))
	old := &oauth2.Token{RefreshToken: creds.Refresh, Expiry: time.Unix(1, 0)}
	tok, err := p.OAuth2Config(a.RedirectURL).TokenSource(octx, old).Token()
	if err != nil {
		pe := providers.ClassifyTokenError(p.Type, err)
		if pe.Kind == providers.KindAuth {
			// Spent by a concurrent refresh that saved newer tokens?
			if cur, lerr := a.Store.GetIntegration(ctx, orgID, id); lerr == nil {
				if c2, oerr := a.open(cur); oerr == nil && c2.Refresh != "" && c2.Refresh != creds.Refresh {
					return refreshOutcome{creds: c2}, nil
				}
			}
		}
		record(models.PushFailed, false, pe)
		return refreshOutcome{}, providerError(pe)
	}
	rotated := tok.RefreshToken != "" && tok.RefreshToken != creds.Refresh
	sealed, err := a.seal(p, integ.ID, tok, creds.Refresh)
	if err != nil {
		return refreshOutcome{}, err
	}
	// Extras (e.g. Slack's incoming webhook) come only with the code exchange.
	sealed.TokenExtra = nil
	out := refreshOutcome{sealed: sealed, rotated: rotated,
		creds: credentials{Access: tok.AccessToken, Refresh: creds.Refresh, Fields: creds.Fields, Extra: creds.Extra}}
	if tok.RefreshToken != "" {
		out.creds.Refresh = tok.RefreshToken
	}
	out.saveErr = saveRetry(ctx, func() error { return a.Store.SaveRefreshedTokens(ctx, orgID, id, sealed) })
	if errors.Is(out.saveErr, store.ErrNotFound) {
		return out, temporal.NewNonRetryableApplicationError("integration was deleted", ErrTypeIntegrationGone, nil)
	}
	if out.saveErr == nil {
		record("succeeded", rotated, nil)
	}
	return out, nil
}

// Refresh exchanges the refresh token for a new access token and saves
// both (a rotated refresh token included) in one transaction, retrying
// the write with the new tokens; when it still fails, the ciphertexts go
// back to the workflow (RefreshResult.Unsaved) for SaveTokens, so the
// activity is never retried with the spent refresh token.
// invalid_grant and revoked tokens fail with IntegrationAuthRevoked.
func (a *Integrations) Refresh(ctx context.Context, in RefreshInput) (RefreshResult, error) {
	out, err := a.refreshTokens(ctx, in.OrganizationID, in.IntegrationID, "schedule")
	if err != nil {
		return RefreshResult{}, err
	}
	res := RefreshResult{Rotated: out.rotated}
	if out.saveErr != nil {
		a.Logger.Error("new tokens not saved yet; handing them to SaveTokens", "integration_id", in.IntegrationID, "err", out.saveErr)
		sealed := out.sealed
		res.Unsaved = &sealed
	}
	if out.sealed.ExpiresAt != nil {
		res.ExpiresAt = *out.sealed.ExpiresAt
		now := a.now()
		res.RefreshAt = a.refreshAt(res.ExpiresAt, &now)
	}
	return res, nil
}

// SaveTokensInput carries sealed tokens whose first save failed.
type SaveTokensInput struct {
	IntegrationID  string
	OrganizationID string
	Sealed         store.Sealed
	Rotated        bool
}

// SaveTokens writes tokens a refresh obtained (Temporal retries it until
// the database takes them).
func (a *Integrations) SaveTokens(ctx context.Context, in SaveTokensInput) error {
	err := a.Store.SaveRefreshedTokens(ctx, in.OrganizationID, in.IntegrationID, in.Sealed)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("integration was deleted", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return fmt.Errorf("save refreshed tokens of %s: %w", in.IntegrationID, err)
	}
	r := &models.IntegrationTokenRefresh{ID: ids.New("ref"), IntegrationID: in.IntegrationID, OrganizationID: in.OrganizationID,
		Status: "succeeded", Trigger: "schedule", Rotated: in.Rotated}
	if activity.IsActivity(ctx) {
		wf := activity.GetInfo(ctx).WorkflowExecution.ID
		r.WorkflowID = &wf
	}
	_ = a.Store.RecordTokenRefresh(ctx, r)
	return nil
}
