package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aqio/connect/apikeys"
	"github.com/aqio/connect/integrations"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// registerIntegrationRoutes adds the integration endpoints (issue 5).
func (s *Server) registerIntegrationRoutes(e *echo.Echo) {
	e.GET("/api/integrations/providers", s.listProviders)
	e.GET("/api/integrations/oauth/callback", s.oauthCallback)
	e.POST("/api/integrations/:type/authorize", s.authorizeIntegration)
	e.POST("/api/integrations/:type/connect", s.connectIntegration)
	e.GET("/api/integrations", s.listIntegrations)
	e.GET("/api/integrations/:id", s.getIntegration)
	e.PATCH("/api/integrations/:id", s.patchIntegration)
	e.DELETE("/api/integrations/:id", s.deleteIntegration)
	e.POST("/api/integrations/:id/refresh", s.refreshIntegration)
	e.GET("/api/integrations/:id/links", s.listIntegrationLinks)
	e.POST("/api/integrations/:id/sync", s.startSync)
	e.GET("/api/integrations/:id/syncs", s.listSyncs)
	e.GET("/api/integrations/:id/syncs/:sync_id", s.getSync)
	e.POST("/api/integrations/:id/syncs/:sync_id/retry", s.retrySync)
	e.GET("/api/integrations/:id/activity", s.listIntegrationActivity)
	e.POST("/api/integrations/:id/pushes/:push_id/retry", s.retryPush)
}

type integrationView struct {
	ID               string                      `json:"id"`
	OrganizationID   string                      `json:"organization_id"`
	UserID           *string                     `json:"user_id"`
	IntegrationType  string                      `json:"integration_type"`
	Name             string                      `json:"name"`
	Settings         json.RawMessage             `json:"settings"`
	SyncEnabled      bool                        `json:"sync_enabled"`
	Status           string                      `json:"status"`
	HasCredentials   bool                        `json:"has_credentials"`
	GrantedScopes    *string                     `json:"granted_scopes"`
	TokenExpiresAt   *time.Time                  `json:"token_expires_at"`
	ConnectedAt      *time.Time                  `json:"connected_at"`
	LastSyncAt       *time.Time                  `json:"last_sync_at"`
	LastErrorMessage *string                     `json:"last_error_message"`
	CreatedAt        time.Time                   `json:"created_at"`
	UpdatedAt        time.Time                   `json:"updated_at"`
	SyncSchedule     *integrations.ScheduleState `json:"sync_schedule,omitempty"`
	// GrantedScopeList and DataSent are shown for one integration: the
	// scopes the provider granted (from its token response) and what the
	// connector sends it (the catalog's DataSent).
	GrantedScopeList []string `json:"granted_scope_list,omitempty"`
	DataSent         []string `json:"data_sent,omitempty"`
}

func viewIntegration(in models.Integration) integrationView {
	v := integrationView{
		ID: in.ID, OrganizationID: in.OrganizationID, UserID: in.UserID, IntegrationType: in.IntegrationType,
		Name: in.Name, Settings: json.RawMessage("{}"), SyncEnabled: in.SyncEnabled, Status: in.Status,
		HasCredentials: in.AccessToken != nil || in.APIKey != nil, GrantedScopes: in.GrantedScopes,
		TokenExpiresAt: in.TokenExpiresAt, ConnectedAt: in.ConnectedAt, LastSyncAt: in.LastSyncAt,
		LastErrorMessage: in.LastErrorMessage, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
	}
	if in.Settings != nil && json.Valid([]byte(*in.Settings)) {
		v.Settings = json.RawMessage(*in.Settings)
	}
	return v
}

type syncView struct {
	ID               string          `json:"id"`
	IntegrationID    string          `json:"integration_id"`
	SyncType         string          `json:"sync_type"`
	Direction        string          `json:"direction"`
	Status           string          `json:"status"`
	RecordsProcessed int             `json:"records_processed"`
	RecordsCreated   int             `json:"records_created"`
	RecordsUpdated   int             `json:"records_updated"`
	RecordsFailed    int             `json:"records_failed"`
	StartedAt        time.Time       `json:"started_at"`
	CompletedAt      *time.Time      `json:"completed_at"`
	DurationSeconds  *int            `json:"duration_seconds"`
	ErrorDetails     json.RawMessage `json:"error_details"`
	SyncCursor       *string         `json:"sync_cursor"`
	RetryOf          *string         `json:"retry_of"`
	WorkflowID       *string         `json:"workflow_id"`
	TemporalURL      string          `json:"temporal_url,omitempty"`
}

func (s *Server) viewSync(l models.IntegrationSyncLog) syncView {
	v := syncView{
		ID: l.ID, IntegrationID: l.IntegrationID, SyncType: l.SyncType, Direction: l.Direction, Status: l.Status,
		RecordsProcessed: l.RecordsProcessed, RecordsCreated: l.RecordsCreated, RecordsUpdated: l.RecordsUpdated,
		RecordsFailed: l.RecordsFailed, StartedAt: l.StartedAt, CompletedAt: l.CompletedAt, DurationSeconds: l.DurationSeconds,
		ErrorDetails: json.RawMessage("[]"), SyncCursor: l.SyncCursor, RetryOf: l.RetryOf, WorkflowID: l.WorkflowID,
	}
	if l.ErrorDetails != nil && json.Valid([]byte(*l.ErrorDetails)) {
		v.ErrorDetails = json.RawMessage(*l.ErrorDetails)
	}
	if l.WorkflowID != nil && s.deps.Webhooks != nil {
		v.TemporalURL = s.deps.Webhooks.WorkflowURL(*l.WorkflowID, "")
	}
	return v
}

// integrationError maps the integration service's errors.
func integrationError(err error, what string) error {
	var inv *integrations.InvalidError
	switch {
	case errors.As(err, &inv):
		return FieldError(inv.Field, "%s", inv.Message)
	case errors.Is(err, store.ErrNotFound):
		return notFound(what)
	case errors.Is(err, integrations.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	}
	return err
}

func (s *Server) listProviders(c echo.Context) error {
	type providerView struct {
		Type                 string                      `json:"type"`
		DisplayName          string                      `json:"display_name"`
		AuthMode             string                      `json:"auth_mode"`
		Available            bool                        `json:"available"`
		Configured           bool                        `json:"configured"`
		OAuthConfigured      bool                        `json:"oauth_configured"`
		DefaultScopes        []string                    `json:"default_scopes"`
		PKCE                 bool                        `json:"pkce"`
		RotatesRefreshTokens bool                        `json:"rotates_refresh_tokens"`
		TokensExpire         bool                        `json:"tokens_expire"`
		Revocable            bool                        `json:"revocable"`
		Syncs                bool                        `json:"syncs"`
		Pushes               []string                    `json:"pushes"`
		CredentialFields     []providers.CredentialField `json:"credential_fields"`
		SettingsSchema       map[string]any              `json:"settings_schema"`
		DataSent             []string                    `json:"data_sent"`
	}
	var out []providerView
	for _, p := range s.deps.Integrations.Catalog.All() {
		_, syncs := p.Syncer()
		v := providerView{Type: p.Type, DisplayName: p.DisplayName, AuthMode: string(p.Auth), Available: p.Available,
			Configured: p.Configured(), OAuthConfigured: p.OAuthConfigured(), DefaultScopes: []string{}, TokensExpire: p.TokensExpire(), Revocable: p.Revocable(),
			Syncs: syncs, Pushes: p.Pushes(), CredentialFields: p.CredentialFields, SettingsSchema: p.Connector.SettingsSchema(),
			DataSent: p.DataSent}
		if v.DataSent == nil {
			v.DataSent = []string{}
		}
		if o := p.OAuth; o != nil {
			v.PKCE, v.RotatesRefreshTokens = o.PKCE, o.RotatesRefreshTokens
			if o.DefaultScopes != nil {
				v.DefaultScopes = o.DefaultScopes
			}
		}
		if v.CredentialFields == nil {
			v.CredentialFields = []providers.CredentialField{}
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) authorizeIntegration(c echo.Context) error {
	var in integrations.AuthorizeIn
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	if _, err := s.deps.Store.EnsureOrganization(ctx, p.OrganizationID); err != nil {
		return err
	}
	out, err := s.deps.Integrations.Authorize(ctx, p.OrganizationID, p.UserID, c.Param("type"), in)
	if err != nil {
		return integrationError(err, "integration type")
	}
	return c.JSON(http.StatusCreated, out)
}

// connectIntegration connects an api_key, basic or webhook_url provider:
// the provider checks the credential before anything is saved.
func (s *Server) connectIntegration(c echo.Context) error {
	var in integrations.ConnectIn
	if err := bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	if _, err := s.deps.Store.EnsureOrganization(ctx, p.OrganizationID); err != nil {
		return err
	}
	integ, err := s.deps.Integrations.ConnectCredentials(ctx, p.OrganizationID, p.UserID, c.Param("type"), in)
	if err != nil {
		return integrationError(err, "integration type")
	}
	v := viewIntegration(integ)
	if v.SyncSchedule, err = s.deps.Integrations.Schedule(ctx, integ); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

// oauthCallback is reached by the user's browser (no bearer token): it
// redirects back to the return_url, or answers 400 when the state is
// unknown and there is nowhere to go back to.
func (s *Server) oauthCallback(c echo.Context) error {
	to, err := s.deps.Integrations.Callback(c.Request().Context(), c.QueryParams())
	var cbErr *integrations.CallbackError
	if errors.As(err, &cbErr) {
		return &Error{Status: http.StatusBadRequest, Code: cbErr.Code, Message: cbErr.Message, Field: "state"}
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, to)
}

func (s *Server) listIntegrations(c echo.Context) error {
	p := principal(c)
	list, err := s.deps.Store.ListIntegrationsFor(c.Request().Context(), p.OrganizationID, integrationOwner(p))
	if err != nil {
		return err
	}
	out := make([]integrationView, len(list))
	for i, in := range list {
		out[i] = viewIntegration(in)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) getIntegration(c echo.Context) error {
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	return s.respondIntegration(c, in)
}

func (s *Server) patchIntegration(c echo.Context) error {
	var p integrations.Patch
	if err := bind(c, &p); err != nil {
		return err
	}
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	in, err := s.deps.Integrations.Update(ctx, principal(c).OrganizationID, c.Param("id"), p)
	if err != nil {
		return integrationError(err, "integration")
	}
	return s.respondIntegration(c, in)
}

func (s *Server) deleteIntegration(c echo.Context) error {
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	if err := s.deps.Integrations.Delete(c.Request().Context(), principal(c).OrganizationID, c.Param("id")); err != nil {
		return integrationError(err, "integration")
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) refreshIntegration(c echo.Context) error {
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	if err := s.deps.Integrations.RefreshNow(c.Request().Context(), principal(c).OrganizationID, c.Param("id")); err != nil {
		return integrationError(err, "integration")
	}
	return c.JSON(http.StatusAccepted, map[string]any{"status": "refresh requested"})
}

func (s *Server) listIntegrationLinks(c echo.Context) error {
	ctx := c.Request().Context()
	in, err := s.reachIntegration(c)
	if err != nil {
		return err
	}
	links, err := s.deps.Store.ListLinks(ctx, in.ID)
	if err != nil {
		return err
	}
	type linkView struct {
		ObjectType    string    `json:"object_type"`
		ObjectID      string    `json:"object_id"`
		ExternalID    string    `json:"external_id"`
		ConferenceURL *string   `json:"conference_url"`
		Status        string    `json:"status"`
		UpdatedAt     time.Time `json:"updated_at"`
	}
	out := make([]linkView, len(links))
	for i, l := range links {
		out[i] = linkView{l.ObjectType, l.ObjectID, l.ExternalID, l.ConferenceURL, l.Status, l.UpdatedAt}
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) startSync(c echo.Context) error {
	var in struct {
		SyncType string `json:"sync_type"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &in); err != nil {
			return err
		}
	}
	if in.SyncType == "" {
		in.SyncType = "manual"
	}
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	l, err := s.deps.Integrations.StartSync(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), in.SyncType)
	if err != nil {
		return integrationError(err, "integration")
	}
	return c.JSON(http.StatusAccepted, s.viewSync(l))
}

func (s *Server) listSyncs(c echo.Context) error {
	ctx := c.Request().Context()
	org := principal(c).OrganizationID
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	logs, err := s.deps.Store.ListSyncLogs(ctx, org, c.Param("id"), limit)
	if err != nil {
		return err
	}
	out := make([]syncView, len(logs))
	for i, l := range logs {
		out[i] = s.viewSync(l)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

func (s *Server) getSync(c echo.Context) error {
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	l, err := s.deps.Store.GetSyncLog(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("sync_id"))
	if err != nil {
		return integrationError(err, "sync")
	}
	return c.JSON(http.StatusOK, s.viewSync(l))
}

func (s *Server) retrySync(c echo.Context) error {
	if _, err := s.reachIntegration(c); err != nil {
		return err
	}
	l, err := s.deps.Integrations.RetrySync(c.Request().Context(), principal(c).OrganizationID, c.Param("id"), c.Param("sync_id"))
	if err != nil {
		return integrationError(err, "sync")
	}
	return c.JSON(http.StatusAccepted, s.viewSync(l))
}

// integrationOwner is the owner rule for integrations (the same as for
// user API keys): the organization's integrations and the caller's own;
// every user's with integrations:all_users.
func integrationOwner(p Principal) store.Owner {
	return apikeys.OwnerFor("integrations", p.UserID, p.Scopes)
}

// reachIntegration loads the path's integration under the owner rule:
// another user's integration is 404 to a caller that does not reach it.
// Every handler of /api/integrations/{id}/… calls it after its scope check.
func (s *Server) reachIntegration(c echo.Context) (models.Integration, error) {
	p := principal(c)
	in, err := s.deps.Store.GetIntegrationFor(c.Request().Context(), p.OrganizationID, c.Param("id"), integrationOwner(p))
	if err != nil {
		return in, integrationError(err, "integration")
	}
	return in, nil
}

// respondIntegration answers with one integration, its sync schedule,
// its granted scopes and what its connector sends the provider.
func (s *Server) respondIntegration(c echo.Context, in models.Integration) error {
	v := viewIntegration(in)
	v.GrantedScopeList = integrations.GrantedScopes(in)
	if p, ok := s.deps.Integrations.Catalog.Get(in.IntegrationType); ok {
		v.DataSent = p.DataSent
	}
	var err error
	if v.SyncSchedule, err = s.deps.Integrations.Schedule(c.Request().Context(), in); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
