package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// ConnectCredentialsResult is a non-OAuth connection: the saved
// integration, or the credential or setting the provider refused (Field
// and Message; nothing saved).
type ConnectCredentialsResult struct {
	ConnectResult
	Field   string
	Message string
}

// ConnectCredentials connects an api_key, basic or webhook_url provider:
// the pending state names the organization, user, type, name and
// settings, and holds the credential fields encrypted. The connector
// checks the credential with one cheap call (CredentialChecker) and the
// settings against the account (SettingsChecker); only when both accept
// is the integration saved, the fields encrypted for its row. A refusal
// is a result naming the field, and the pending credential is wiped.
func (a *Integrations) ConnectCredentials(ctx context.Context, in ConnectInput) (ConnectCredentialsResult, error) {
	st, err := a.Store.GetOAuthState(ctx, in.StateID)
	if errors.Is(err, store.ErrNotFound) {
		return ConnectCredentialsResult{}, temporal.NewNonRetryableApplicationError("connection request not found", ErrTypeIntegrationGone, nil)
	}
	if err != nil {
		return ConnectCredentialsResult{}, fmt.Errorf("load connection request %s: %w", in.StateID, err)
	}
	if st.Code == nil {
		return ConnectCredentialsResult{}, temporal.NewNonRetryableApplicationError("credentials already used", ErrTypeAuthRevoked, nil)
	}
	p, ok := a.Catalog.Get(st.IntegrationType)
	if !ok || (p.Auth == providers.AuthOAuth2 && len(p.CredentialFields) == 0) {
		return ConnectCredentialsResult{}, temporal.NewNonRetryableApplicationError("provider does not connect with credentials", ErrTypeProviderPermanent, nil)
	}
	raw, err := a.Ring.Decrypt(*st.Code, []byte(st.ID))
	if err != nil {
		return ConnectCredentialsResult{}, fmt.Errorf("decrypt credentials: %w", err)
	}
	// The would-be integration, credentials sealed for its id, so the
	// runtime is built exactly as for a saved one.
	id := newIntegrationID(st.ID)
	enc, err := a.Ring.Encrypt(raw, []byte(id))
	if err != nil {
		return ConnectCredentialsResult{}, err
	}
	integ := models.Integration{ID: id, OrganizationID: st.OrganizationID, UserID: st.UserID, IntegrationType: st.IntegrationType,
		Settings: st.Settings, APIKey: &enc, Status: models.IntegrationActive}
	rt, _, err := a.runtime(ctx, integ, p)
	if err != nil {
		return ConnectCredentialsResult{}, err
	}
	// Links a check writes (e.g. resolved field ids) wait for the row.
	pending := &pendingLinks{m: map[string]providers.Link{}}
	rt.Links = pending
	refused := func(err error) (ConnectCredentialsResult, bool, error) {
		var se *providers.SettingsError
		if errors.As(err, &se) {
			if werr := a.Store.ClearOAuthStateCode(ctx, st.ID); werr != nil {
				return ConnectCredentialsResult{}, true, werr
			}
			return ConnectCredentialsResult{Field: se.Field, Message: se.Message}, true, nil
		}
		if err != nil {
			return ConnectCredentialsResult{}, true, providerError(asProviderError(p.Type, err))
		}
		return ConnectCredentialsResult{}, false, nil
	}
	if cc, ok := p.Connector.(providers.CredentialChecker); ok {
		if res, done, err := refused(cc.CheckCredentials(ctx, rt)); done {
			return res, err
		}
	}
	if sc, ok := p.Connector.(providers.SettingsChecker); ok {
		if res, done, err := refused(sc.CheckSettings(ctx, rt)); done {
			return res, err
		}
	}
	var fields map[string]string
	_ = json.Unmarshal(raw, &fields)
	saved, created, err := a.Store.SaveConnection(ctx, st, func(rowID string) (store.Sealed, error) {
		enc, err := a.Ring.Encrypt(raw, []byte(rowID))
		return store.Sealed{APIKey: &enc}, err
	}, id, credentialConnectEntry(st, fields, a.now()))
	if err != nil {
		return ConnectCredentialsResult{}, err
	}
	links := linkStore{a.Store, saved.ID}
	for _, l := range pending.all() {
		if err := links.Put(ctx, l); err != nil {
			return ConnectCredentialsResult{}, fmt.Errorf("save link: %w", err)
		}
	}
	return ConnectCredentialsResult{ConnectResult: ConnectResult{IntegrationID: saved.ID, OrganizationID: saved.OrganizationID,
		IntegrationType: saved.IntegrationType, Created: created}}, nil
}

// pendingLinks keeps the links written before the integration exists.
type pendingLinks struct {
	mu sync.Mutex
	m  map[string]providers.Link
}

func (l *pendingLinks) Get(_ context.Context, typ, id string) (providers.Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[typ+"\x00"+id]
	if !ok {
		return providers.Link{}, providers.ErrNotFound
	}
	return v, nil
}

func (l *pendingLinks) Put(_ context.Context, v providers.Link) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[v.ObjectType+"\x00"+v.ObjectID] = v
	return nil
}

// Claim stores a claim when the object has no link (or a deleted one,
// or, replaces set, a link to that gone object); one check runs at a time, so no claim of it
// goes stale.
func (l *pendingLinks) Claim(_ context.Context, v providers.Link, replaces string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := v.ObjectType + "\x00" + v.ObjectID
	if prev, ok := l.m[k]; ok && prev.Status != "deleted" && (replaces == "" || prev.Status == v.Status || prev.ExternalID != replaces) {
		return false, nil
	}
	l.m[k] = v
	return true, nil
}

func (l *pendingLinks) all() []providers.Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]providers.Link, 0, len(l.m))
	for _, v := range l.m {
		out = append(out, v)
	}
	return out
}
