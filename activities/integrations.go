package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/oauth2"

	"github.com/aqio/connect/eventtypes"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// Error types the integration workflows' retry policies treat specially.
const (
	// ErrTypeAuthRevoked: invalid_grant, revoked or invalid token. Not
	// retried; the integration goes to status error until reconnected.
	ErrTypeAuthRevoked = "IntegrationAuthRevoked"
	// ErrTypeProviderPermanent: the provider refused the request for good
	// (e.g. Slack channel_not_found). Not retried.
	ErrTypeProviderPermanent = "ProviderPermanent"
	// ErrTypeIntegrationGone: deleted, disabled or not connected. Not retried.
	ErrTypeIntegrationGone = "IntegrationGone"
	// ErrTypeProviderRetryable: transient; retried with backoff.
	ErrTypeProviderRetryable = "ProviderRetryable"
	// ErrTypeRateLimited: retried after the provider's Retry-After.
	ErrTypeRateLimited = "ProviderRateLimited"
)

// IntegrationNonRetryable go into the integration workflows' RetryPolicy.
var IntegrationNonRetryable = []string{ErrTypeAuthRevoked, ErrTypeProviderPermanent, ErrTypeIntegrationGone}

// IntegrationUserAgent names the service on provider calls.
const IntegrationUserAgent = "Aqio-Connect-Integrations/1.0 (+https://aqio.app)"

// EventEmitter posts an operational event (integration.error) to the
// organization's webhooks that subscribe to it (webhooks.Service.Emit).
type EventEmitter interface {
	Emit(ctx context.Context, orgID, eventType string, object map[string]any) error
}

// Integrations performs every provider call and integration DB write.
type Integrations struct {
	Store   *store.Store
	Ring    *keyring.Ring
	HTTP    *http.Client
	Catalog *providers.Catalog
	// RedirectURL is the OAuth callback registered at the providers.
	RedirectURL string
	// RefreshMargin: refresh min(margin, 10% of lifetime) before expiry.
	RefreshMargin time.Duration
	Emitter       EventEmitter
	Logger        *slog.Logger
	Now           func() time.Time

	limits providers.Limits
}

func (a *Integrations) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// CleanupOAuthStatesInput: the states whose deadline passed before
// Before are deleted.
type CleanupOAuthStatesInput struct {
	Before time.Time
}

// CleanupOAuthStatesResult counts the deleted states.
type CleanupOAuthStatesResult struct {
	Deleted int64
}

// CleanupOAuthStates deletes expired pending authorizations (their PKCE
// verifiers and codes with them).
func (a *Integrations) CleanupOAuthStates(ctx context.Context, in CleanupOAuthStatesInput) (CleanupOAuthStatesResult, error) {
	n, err := a.Store.DeleteExpiredOAuthStates(ctx, in.Before)
	if err != nil {
		return CleanupOAuthStatesResult{}, err
	}
	return CleanupOAuthStatesResult{Deleted: n}, nil
}

// ConnectInput names a claimed OAuth state whose code is stored (encrypted).
type ConnectInput struct {
	StateID string
}

// ConnectResult is the connected integration.
type ConnectResult struct {
	IntegrationID   string
	OrganizationID  string
	IntegrationType string
	Created         bool
	TokensExpire    bool
	// Status is the integration's status once the connect run finished
	// (empty from runs that predate the checks after the exchange: active).
	// In status error, ErrorCode, ErrorField (a refused setting, e.g.
	// "settings.audience_id") and ErrorMessage say why; the connection
	// (tokens) is kept.
	Status       string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorField   string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
	// SettingsUnchecked: the provider could not be asked (unavailable);
	// the settings are checked again when next saved.
	SettingsUnchecked bool `json:",omitempty"`
}

// ErrCodeInvalidSettings is the error code of settings the provider
// refused after the OAuth callback (the integration is in status error).
const ErrCodeInvalidSettings = "invalid_settings"

// ExchangeCode exchanges the authorization code (with the PKCE verifier)
// for tokens and saves the integration, tokens encrypted, in one
// transaction. Nothing is written when the provider refuses.
func (a *Integrations) ExchangeCode(ctx context.Context, in ConnectInput) (ConnectResult, error) {
	st, err := a.Store.GetOAuthState(ctx, in.StateID)
	if errors.Is(err, store.ErrNotFound) {
		return ConnectResult{}, temporal.NewNonRetryableApplicationError("authorization state not found", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return ConnectResult{}, fmt.Errorf("load oauth state %s: %w", in.StateID, err)
	}
	if st.Code == nil {
		return ConnectResult{}, temporal.NewNonRetryableApplicationError("authorization code already used", ErrTypeAuthRevoked, nil)
	}
	p, ok := a.Catalog.Get(st.IntegrationType)
	if !ok {
		return ConnectResult{}, temporal.NewNonRetryableApplicationError("unknown provider", ErrTypeProviderPermanent, nil)
	}
	verifier, err := a.Ring.Decrypt(st.CodeVerifier, []byte(st.ID))
	if err != nil {
		return ConnectResult{}, fmt.Errorf("decrypt verifier: %w", err)
	}
	code, err := a.Ring.Decrypt(*st.Code, []byte(st.ID))
	if err != nil {
		return ConnectResult{}, fmt.Errorf("decrypt code: %w", err)
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, p.TokenHTTPClient(a.HTTP))
	tok, err := p.OAuth2Config(a.RedirectURL).Exchange(octx, string(code), p.ExchangeOptions(string(verifier))...)
	if err != nil {
		return ConnectResult{}, providerError(providers.ClassifyTokenError(p.Type, err))
	}
	integ, created, err := a.Store.SaveConnection(ctx, st, func(id string) (store.Sealed, error) {
		return a.seal(p, id, tok, "")
	}, newIntegrationID(st.ID), oauthConnectEntry(st, a.now()))
	if err != nil {
		return ConnectResult{}, err
	}
	return ConnectResult{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, IntegrationType: integ.IntegrationType,
		Created: created, TokensExpire: p.TokensExpire() && integ.RefreshToken != nil && integ.TokenExpiresAt != nil}, nil
}

// newIntegrationID is derived from the state so a retried exchange that
// already saved finds the same row.
func newIntegrationID(stateID string) string {
	sum := sha256.Sum256([]byte(stateID))
	return "int_" + hex.EncodeToString(sum[:16])
}

// seal encrypts a token response for the integration row id. oldRefresh
// is kept when the provider did not return a new refresh token.
func (a *Integrations) seal(p providers.Provider, id string, tok *oauth2.Token, oldRefresh string) (store.Sealed, error) {
	var s store.Sealed
	ad := []byte(id)
	at, err := a.Ring.Encrypt([]byte(tok.AccessToken), ad)
	if err != nil {
		return s, err
	}
	s.AccessToken = &at
	rt := tok.RefreshToken
	if rt == "" {
		rt = oldRefresh
	}
	if rt != "" {
		enc, err := a.Ring.Encrypt([]byte(rt), ad)
		if err != nil {
			return s, err
		}
		s.RefreshToken = &enc
	}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		s.ExpiresAt = &e
	}
	extras := map[string]any{}
	var keep []string
	if p.OAuth != nil {
		keep = p.OAuth.TokenExtras
	}
	for _, k := range keep {
		if v := tok.Extra(k); v != nil {
			extras[k] = v
		}
	}
	if len(extras) > 0 {
		b, _ := json.Marshal(extras)
		enc, err := a.Ring.Encrypt(b, ad)
		if err != nil {
			return s, err
		}
		s.TokenExtra = &enc
	}
	if sc, ok := tok.Extra("scope").(string); ok && sc != "" {
		s.GrantedScopes = &sc
	}
	return s, nil
}

// credentials are an integration's decrypted tokens.
type credentials struct {
	Access, Refresh string
	// Fields are a non-OAuth credential (api_key column, JSON).
	Fields map[string]string
	Extra  map[string]any
}

func (a *Integrations) open(in models.Integration) (credentials, error) {
	var c credentials
	ad := []byte(in.ID)
	if in.AccessToken != nil {
		b, err := a.Ring.Decrypt(*in.AccessToken, ad)
		if err != nil {
			return c, fmt.Errorf("decrypt access token of %s: %w", in.ID, err)
		}
		c.Access = string(b)
	}
	if in.RefreshToken != nil {
		b, err := a.Ring.Decrypt(*in.RefreshToken, ad)
		if err != nil {
			return c, fmt.Errorf("decrypt refresh token of %s: %w", in.ID, err)
		}
		c.Refresh = string(b)
	}
	if in.APIKey != nil {
		b, err := a.Ring.Decrypt(*in.APIKey, ad)
		if err != nil {
			return c, fmt.Errorf("decrypt credential of %s: %w", in.ID, err)
		}
		_ = json.Unmarshal(b, &c.Fields)
	}
	if in.TokenExtra != nil {
		b, err := a.Ring.Decrypt(*in.TokenExtra, ad)
		if err != nil {
			return c, fmt.Errorf("decrypt token extras of %s: %w", in.ID, err)
		}
		_ = json.Unmarshal(b, &c.Extra)
	}
	return c, nil
}

// load returns an active integration or a non-retryable IntegrationGone.
func (a *Integrations) load(ctx context.Context, orgID, id string) (models.Integration, providers.Provider, error) {
	in, err := a.Store.GetIntegration(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, providers.Provider{}, temporal.NewNonRetryableApplicationError("integration was deleted", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return in, providers.Provider{}, fmt.Errorf("load integration %s: %w", id, err)
	}
	p, ok := a.Catalog.Get(in.IntegrationType)
	if !ok {
		return in, p, temporal.NewNonRetryableApplicationError("unknown provider "+in.IntegrationType, ErrTypeProviderPermanent, nil)
	}
	return in, p, nil
}

func requireActive(in models.Integration) error {
	switch in.Status {
	case models.IntegrationActive:
		return nil
	case models.IntegrationError:
		return temporal.NewNonRetryableApplicationError("integration needs to be reconnected", ErrTypeAuthRevoked, nil)
	}
	return temporal.NewNonRetryableApplicationError("integration is "+in.Status, ErrTypeIntegrationGone, nil)
}

// providerError maps a classified provider failure onto the retry policy.
func providerError(pe *providers.Error) error {
	if pe == nil {
		return nil
	}
	msg := pe.Error()
	switch pe.Kind {
	case providers.KindAuth, providers.KindExpired:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeAuthRevoked, nil, pe.Code)
	case providers.KindPermanent:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeProviderPermanent, nil, pe.Code)
	case providers.KindRateLimited:
		opts := temporal.ApplicationErrorOptions{Details: []any{pe.Code}}
		if pe.RetryAfter > 0 {
			opts.NextRetryDelay = min(pe.RetryAfter, MaxRetryInterval)
		}
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeRateLimited, opts)
	}
	return temporal.NewApplicationError(msg, ErrTypeProviderRetryable, pe.Code)
}

// asProviderError extracts a classified error, or wraps a plain one as retryable.
func asProviderError(provider string, err error) *providers.Error {
	if pe, ok := providers.AsError(err); ok {
		return pe
	}
	return &providers.Error{Provider: provider, Kind: providers.KindRetryable, Code: "error", Message: err.Error()}
}

// MarkErrorInput puts an integration into status error.
type MarkErrorInput struct {
	IntegrationID  string
	OrganizationID string
	Message        string
	Code           string
}

// MarkErrorResult says whether the status changed.
type MarkErrorResult struct {
	Changed bool
}

// MarkError emits an integration.error event to the organization's
// webhooks and sets status error with last_error_message (the event is
// emitted only while the status is not error yet).
func (a *Integrations) MarkError(ctx context.Context, in MarkErrorInput) (MarkErrorResult, error) {
	integ, err := a.Store.GetIntegration(ctx, in.OrganizationID, in.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return MarkErrorResult{}, nil
	}
	if err != nil {
		return MarkErrorResult{}, err
	}
	if a.Emitter != nil && integ.Status != models.IntegrationError {
		obj := map[string]any{
			"id": integ.ID, "object": "integration", "integration_type": integ.IntegrationType,
			"name": integ.Name, "user_id": integ.UserID, "status": models.IntegrationError,
			"error":       map[string]any{"code": in.Code, "message": in.Message},
			"occurred_at": a.now().Format(time.RFC3339),
		}
		if err := a.Emitter.Emit(ctx, in.OrganizationID, eventtypes.IntegrationError, obj); err != nil {
			return MarkErrorResult{}, fmt.Errorf("emit integration.error: %w", err)
		}
	}
	changed, err := a.Store.MarkIntegrationError(ctx, in.OrganizationID, in.IntegrationID, in.Message)
	if err != nil {
		return MarkErrorResult{}, err
	}
	if changed {
		a.Logger.Warn("integration needs reconnect", "integration_id", in.IntegrationID, "organization_id", in.OrganizationID, "code", in.Code)
	}
	return MarkErrorResult{Changed: changed}, nil
}

// DisconnectInput names an integration being deleted.
type DisconnectInput struct {
	IntegrationID  string
	OrganizationID string
}

// DisconnectResult reports the revocation.
type DisconnectResult struct {
	Revoked bool
	Note    string
}

// RevokeTokens revokes the integration's token at the provider (where it
// offers revocation) and wipes the stored credentials.
func (a *Integrations) RevokeTokens(ctx context.Context, in DisconnectInput) (DisconnectResult, error) {
	integ, p, err := a.load(ctx, in.OrganizationID, in.IntegrationID)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == ErrTypeIntegrationGone {
		return DisconnectResult{Note: "already deleted"}, nil
	}
	if err != nil {
		return DisconnectResult{}, err
	}
	res := DisconnectResult{}
	if rv, ok := p.Connector.(providers.Revoker); ok && (integ.AccessToken != nil || integ.RefreshToken != nil || integ.APIKey != nil) {
		rt, _, err := a.runtime(ctx, integ, p)
		if err != nil {
			// Unparseable settings must not keep a credential alive: revoke with empty settings.
			integ.Settings = nil
			if rt, _, err = a.runtime(ctx, integ, p); err != nil {
				return res, err
			}
		}
		if rerr := rv.Revoke(ctx, rt); rerr != nil {
			pe := asProviderError(p.Type, rerr)
			if pe.Kind == providers.KindRetryable || pe.Kind == providers.KindRateLimited {
				return res, providerError(pe)
			}
			res.Note = "provider refused revocation: " + pe.Code
		} else {
			res.Revoked = true
		}
	}
	if err := a.Store.WipeCredentials(ctx, in.OrganizationID, in.IntegrationID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	// The outcome waits on the row for the disconnect's audit entry.
	req := readDisconnectRequest(integ)
	req.Revocation = RevocationOutcome(res.Revoked, res.Note)
	b, _ := json.Marshal(req)
	if _, err := a.Store.UpdateIntegration(ctx, in.OrganizationID, in.IntegrationID, map[string]any{"disconnect_request": string(b)}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	return res, nil
}

// DeleteIntegration removes the (wiped) integration row and its links,
// milestones and sync logs, with the disconnect's audit entry (who asked,
// from the row's disconnect request, and what the revocation did) in the
// same transaction.
func (a *Integrations) DeleteIntegration(ctx context.Context, in DisconnectInput) error {
	err := a.Store.DeleteIntegration(ctx, in.OrganizationID, in.IntegrationID, disconnectEntry(a.now()))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
