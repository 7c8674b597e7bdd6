package integrations

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/workflows"
)

// ConnectIn is the body of POST /api/integrations/{type}/connect.
type ConnectIn struct {
	Name     string          `json:"name"`
	Settings json.RawMessage `json:"settings"`
	// Credentials are the provider's credential fields
	// (Info.CredentialFields, e.g. api_url and api_key).
	Credentials map[string]any `json:"credentials"`
}

// maxCredentialLen bounds one credential field.
const maxCredentialLen = 4096

// credentialFields checks the submitted fields against the provider's:
// known names, strings, required ones present.
func credentialFields(p providers.Provider, in map[string]any) (map[string]string, error) {
	if in == nil {
		return nil, invalid("credentials", "is required: %s", fieldNames(p))
	}
	known := map[string]providers.CredentialField{}
	for _, f := range p.CredentialFields {
		known[f.Name] = f
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		if _, ok := known[k]; !ok {
			return nil, invalid("credentials."+k, "unknown credential field; %s takes %s", p.DisplayName, fieldNames(p))
		}
		v, ok := in[k].(string)
		if !ok {
			return nil, invalid("credentials."+k, "must be a string")
		}
		if len(v) > maxCredentialLen {
			return nil, invalid("credentials."+k, "must be at most %d characters", maxCredentialLen)
		}
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	for _, f := range p.CredentialFields {
		if f.Required && out[f.Name] == "" {
			return nil, invalid("credentials."+f.Name, "is required (%s)", f.Description)
		}
	}
	return out, nil
}

func fieldNames(p providers.Provider) string {
	names := make([]string, len(p.CredentialFields))
	for i, f := range p.CredentialFields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// ConnectCredentials connects a provider whose auth mode is api_key,
// basic or webhook_url: the fields are checked for form here, then by the
// provider with one cheap call in a ConnectCredentials workflow run the
// request waits for. A refused credential or setting is an InvalidError
// naming it ("credentials.api_key") and nothing is stored; accepted, the
// integration is saved with the credential encrypted (a second connect of
// the same type by the same owner replaces its credential).
func (s *Service) ConnectCredentials(ctx context.Context, orgID, userID, typ string, in ConnectIn) (models.Integration, error) {
	p, ok := s.Catalog.Get(typ)
	if !ok {
		return models.Integration{}, invalid("type", "unknown integration type %q", typ)
	}
	if !p.Available {
		return models.Integration{}, invalid("type", "%s cannot be connected yet", p.DisplayName)
	}
	if p.Auth == providers.AuthOAuth2 && len(p.CredentialFields) == 0 {
		return models.Integration{}, invalid("type", "%s connects with OAuth: use POST /api/integrations/%s/authorize", p.DisplayName, typ)
	}
	fields, err := credentialFields(p, in.Credentials)
	if err != nil {
		return models.Integration{}, err
	}
	settings, err := s.ValidateSettings(typ, in.Settings)
	if err != nil {
		return models.Integration{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = p.DisplayName
	}
	if len(name) > 200 {
		return models.Integration{}, invalid("name", "must be at most 200 characters")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return models.Integration{}, err
	}
	now := s.now()
	st := &models.IntegrationOAuthState{
		ID: ids.New("ost"), StateHash: hashState(base64.RawURLEncoding.EncodeToString(raw)), OrganizationID: orgID,
		IntegrationType: typ, Name: name, Settings: settings, ExpiresAt: now.Add(s.StateTTL), UsedAt: &now,
	}
	if userID != "" {
		st.UserID = &userID
	}
	setRequester(st, audit.ActorFrom(ctx))
	b, _ := json.Marshal(fields)
	enc, err := s.Ring.Encrypt(b, []byte(st.ID))
	if err != nil {
		return models.Integration{}, err
	}
	st.Code = &enc
	if err := s.Store.CreateOAuthState(ctx, st); err != nil {
		return models.Integration{}, err
	}
	timeout := s.CallbackTimeout
	if timeout <= 0 {
		timeout = 45 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run, err := s.Temporal.ExecuteWorkflow(wctx, client.StartWorkflowOptions{
		ID:                    workflows.ConnectWorkflowID(st.ID),
		TaskQueue:             workflows.IntegrationsQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowRunTimeout:    2 * time.Minute,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrOrganizationID.ValueSet(orgID),
			workflows.AttrIntegrationType.ValueSet(typ),
		),
	}, workflows.ConnectCredentials, activities.ConnectInput{StateID: st.ID})
	if err != nil {
		return models.Integration{}, fmt.Errorf("start connect: %w", err)
	}
	var res activities.ConnectCredentialsResult
	if err := run.Get(wctx, &res); err != nil {
		_ = s.Store.ClearOAuthStateCode(context.WithoutCancel(ctx), st.ID)
		var appErr *temporal.ApplicationError
		msg := "could not check the credentials with " + p.DisplayName + "; try again"
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeAuthRevoked {
			msg = p.DisplayName + " refused the credentials"
		}
		s.Logger.Warn("credential connect failed", "organization_id", orgID, "integration_type", typ, "err", err)
		return models.Integration{}, invalid("credentials", "%s", msg)
	}
	if res.Field != "" {
		return models.Integration{}, invalid(res.Field, "%s", res.Message)
	}
	integ, err := s.Store.GetIntegration(ctx, res.OrganizationID, res.IntegrationID)
	if err != nil {
		return models.Integration{}, err
	}
	if err := s.afterConnect(ctx, integ, false); err != nil {
		return models.Integration{}, err
	}
	return integ, nil
}
