// Package integrations is the integration domain service: it validates
// and stores connections, runs the OAuth authorize/callback handshake
// (state, PKCE), starts the token-refresh, sync, push and disconnect
// workflows and manages the periodic-sync Temporal Schedules. The API
// calls it; it never calls a provider itself (activities do).
package integrations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/oauth2"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// Service holds the integration service's dependencies.
type Service struct {
	Store    *store.Store
	Ring     *keyring.Ring
	Temporal client.Client
	Catalog  *providers.Catalog
	// RedirectURL is the OAuth callback URL registered at the providers.
	RedirectURL string
	// StateTTL bounds an authorize link's life (15 minutes).
	StateTTL time.Duration
	// DefaultReturnURL is used when an authorize call names none.
	DefaultReturnURL string
	// ReturnOrigins, when set, are the only origins return_url may name.
	ReturnOrigins []string
	Logger        *slog.Logger
	Now           func() time.Time
	// CallbackTimeout bounds how long the callback waits for the code exchange.
	CallbackTimeout time.Duration
	// PublicURL is the service's public base URL (feed URLs); empty: the
	// request's own host.
	PublicURL string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// InvalidError is a validation failure naming the field.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrConflict is returned when the request does not fit the current state
// (e.g. retrying a sync that did not fail).
var ErrConflict = errors.New("conflict")

// ValidateSettings checks a provider's settings with its connector and
// returns them normalised.
func (s *Service) ValidateSettings(typ string, raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	p, ok := s.Catalog.Get(typ)
	if !ok {
		return nil, invalid("type", "unknown integration type %q", typ)
	}
	_, err := p.Connector.ParseSettings(raw)
	var se *providers.SettingsError
	if errors.As(err, &se) {
		return nil, invalid(se.Field, "%s", se.Message)
	}
	if err != nil {
		return nil, invalid("settings", "%s", err.Error())
	}
	out := string(raw)
	return &out, nil
}

// parsedSettings parses an integration's stored settings (nil when the
// type is unknown or the settings no longer parse).
func (s *Service) parsedSettings(in models.Integration) (providers.Provider, any, bool) {
	p, ok := s.Catalog.Get(in.IntegrationType)
	if !ok {
		return p, nil, false
	}
	raw := []byte("{}")
	if in.Settings != nil {
		raw = []byte(*in.Settings)
	}
	set, err := p.Connector.ParseSettings(raw)
	return p, set, err == nil
}

// syncInterval reads the periodic sync interval from settings (0: none).
func (s *Service) syncInterval(in models.Integration) time.Duration {
	p, set, ok := s.parsedSettings(in)
	if !ok {
		return 0
	}
	if sc, ok := p.Connector.(providers.SyncScheduler); ok {
		return sc.SyncInterval(set)
	}
	return 0
}

// AuthorizeIn is the body of POST /api/integrations/{type}/authorize.
type AuthorizeIn struct {
	Name      string          `json:"name"`
	Settings  json.RawMessage `json:"settings"`
	ReturnURL string          `json:"return_url"`
}

// Authorization is the URL to send the user's browser to.
type Authorization struct {
	AuthorizationURL string    `json:"authorization_url"`
	ExpiresAt        time.Time `json:"expires_at"`
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// Authorize starts an OAuth connection: a random single-use state bound to
// the organization and user, and a PKCE verifier kept server-side.
func (s *Service) Authorize(ctx context.Context, orgID, userID, typ string, in AuthorizeIn) (Authorization, error) {
	p, ok := s.Catalog.Get(typ)
	if !ok {
		return Authorization{}, invalid("type", "unknown integration type %q", typ)
	}
	if !p.Available || p.Auth != providers.AuthOAuth2 {
		return Authorization{}, invalid("type", "%s cannot be connected yet", p.DisplayName)
	}
	if !p.OAuthConfigured() {
		return Authorization{}, invalid("type", "%s is not configured on this server (set AQIO_%s_CLIENT_ID and _CLIENT_SECRET)", p.DisplayName, strings.ToUpper(typ))
	}
	if s.RedirectURL == "" {
		return Authorization{}, invalid("type", "no OAuth callback URL is configured (set AQIO_PUBLIC_URL or AQIO_OAUTH_REDIRECT_URL)")
	}
	settings, err := s.ValidateSettings(typ, in.Settings)
	if err != nil {
		return Authorization{}, err
	}
	ret := in.ReturnURL
	if ret == "" {
		ret = s.DefaultReturnURL
	}
	u, err := url.Parse(ret)
	if ret == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Authorization{}, invalid("return_url", "must be an absolute http(s) URL to send the user back to")
	}
	if len(s.ReturnOrigins) > 0 && !slices.Contains(s.ReturnOrigins, u.Scheme+"://"+u.Host) {
		return Authorization{}, invalid("return_url", "must be on an allowed origin (%s)", strings.Join(s.ReturnOrigins, ", "))
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = p.DisplayName
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Authorization{}, err
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	verifier := oauth2.GenerateVerifier()
	st := &models.IntegrationOAuthState{
		ID: ids.New("ost"), StateHash: hashState(state), OrganizationID: orgID,
		IntegrationType: typ, Name: name, Settings: settings, ReturnURL: ret,
		ExpiresAt: s.now().Add(s.StateTTL),
	}
	if userID != "" {
		st.UserID = &userID
	}
	setRequester(st, audit.ActorFrom(ctx))
	if st.CodeVerifier, err = s.Ring.Encrypt([]byte(verifier), []byte(st.ID)); err != nil {
		return Authorization{}, err
	}
	if err := s.Store.CreateOAuthState(ctx, st); err != nil {
		return Authorization{}, err
	}
	authURL := p.OAuth2Config(s.RedirectURL).AuthCodeURL(state, p.AuthCodeOptions(verifier)...)
	return Authorization{AuthorizationURL: authURL, ExpiresAt: st.ExpiresAt}, nil
}

// CallbackError is a callback that cannot redirect back (unknown state):
// the API shows it as a page.
type CallbackError struct {
	Code    string
	Message string
}

func (e *CallbackError) Error() string { return e.Code + ": " + e.Message }

// Callback finishes the OAuth handshake and returns where to send the
// browser: the authorize call's return_url with integration_status=connected
// (and integration_id) or integration_status=error with error and
// error_description. Nothing is created on failure.
func (s *Service) Callback(ctx context.Context, q url.Values) (string, error) {
	state := q.Get("state")
	if state == "" {
		return "", &CallbackError{Code: "missing_state", Message: "the provider did not return the state parameter"}
	}
	st, err := s.Store.ClaimOAuthState(ctx, hashState(state))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", &CallbackError{Code: "unknown_state", Message: "this authorization link is unknown; start again from Aqio"}
	case errors.Is(err, store.ErrStateUsed):
		return back(st.ReturnURL, "error", map[string]string{"error": "state_already_used", "error_description": "this authorization response was already used"}), nil
	case errors.Is(err, store.ErrStateExpired):
		return back(st.ReturnURL, "error", map[string]string{"error": "state_expired", "error_description": "the authorization took longer than allowed; start again"}), nil
	case err != nil:
		return "", err
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if e == "access_denied" && desc == "" {
			desc = "consent was denied at the provider"
		}
		return back(st.ReturnURL, "error", map[string]string{"error": e, "error_description": desc, "integration_type": st.IntegrationType}), nil
	}
	code := q.Get("code")
	if code == "" {
		return back(st.ReturnURL, "error", map[string]string{"error": "missing_code", "error_description": "the provider returned no authorization code"}), nil
	}
	enc, err := s.Ring.Encrypt([]byte(code), []byte(st.ID))
	if err != nil {
		return "", err
	}
	cb := audit.ActorFrom(ctx)
	if err := s.Store.SetOAuthStateCode(ctx, st.ID, enc, cb.IP, cb.RequestID); err != nil {
		return "", err
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
		WorkflowRunTimeout:    5 * time.Minute,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrOrganizationID.ValueSet(st.OrganizationID),
			workflows.AttrIntegrationType.ValueSet(st.IntegrationType),
		),
	}, workflows.Connect, activities.ConnectInput{StateID: st.ID})
	if err != nil {
		return "", fmt.Errorf("start connect: %w", err)
	}
	var res activities.ConnectResult
	if err := run.Get(wctx, &res); err != nil {
		var appErr *temporal.ApplicationError
		code, desc := "provider_error", "the provider refused the authorization"
		if errors.As(err, &appErr) {
			var c string
			if appErr.HasDetails() && appErr.Details(&c) == nil && c != "" {
				code = c
			}
		}
		s.Logger.Warn("oauth connect failed", "organization_id", st.OrganizationID, "integration_type", st.IntegrationType, "code", code, "err", err)
		return back(st.ReturnURL, "error", map[string]string{"error": code, "error_description": desc, "integration_type": st.IntegrationType}), nil
	}
	integ, err := s.Store.GetIntegration(ctx, res.OrganizationID, res.IntegrationID)
	if err != nil {
		return "", err
	}
	if err := s.afterConnect(ctx, integ, res.TokensExpire); err != nil {
		return "", err
	}
	if res.Status == models.IntegrationError {
		// Connected, but the settings were refused (or the connection
		// could not be completed): the integration is kept in status error.
		return back(st.ReturnURL, "error", map[string]string{"integration_id": integ.ID, "integration_type": integ.IntegrationType,
			"error": res.ErrorCode, "error_description": res.ErrorMessage, "field": res.ErrorField}), nil
	}
	return back(st.ReturnURL, "connected", map[string]string{"integration_id": integ.ID, "integration_type": integ.IntegrationType}), nil
}

func back(ret, status string, params map[string]string) string {
	u, err := url.Parse(ret)
	if err != nil {
		return ret
	}
	q := u.Query()
	q.Set("integration_status", status)
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// afterConnect starts (or wakes) the refresh loop and sets up the schedule.
func (s *Service) afterConnect(ctx context.Context, integ models.Integration, tokensExpire bool) error {
	if tokensExpire {
		_, err := s.Temporal.SignalWithStartWorkflow(ctx, workflows.TokenRefreshWorkflowID(integ.ID), workflows.SignalReconnected, nil,
			client.StartWorkflowOptions{
				ID:                       workflows.TokenRefreshWorkflowID(integ.ID),
				TaskQueue:                workflows.IntegrationsQueue,
				WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
				TypedSearchAttributes:    s.attrs(integ),
			},
			workflows.TokenRefresh, workflows.TokenRefreshInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, IntegrationType: integ.IntegrationType})
		if err != nil {
			return fmt.Errorf("start token refresh: %w", err)
		}
	}
	return s.ensureSchedule(ctx, integ)
}

func (s *Service) attrs(integ models.Integration) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrOrganizationID.ValueSet(integ.OrganizationID),
		workflows.AttrIntegrationID.ValueSet(integ.ID),
		workflows.AttrIntegrationType.ValueSet(integ.IntegrationType),
	)
}

// ensureSchedule creates, updates, pauses or deletes the periodic-sync
// schedule to match the integration's settings and sync_enabled.
func (s *Service) ensureSchedule(ctx context.Context, integ models.Integration) error {
	every := s.syncInterval(integ)
	sc := s.Temporal.ScheduleClient()
	id := workflows.SyncScheduleID(integ.ID)
	h := sc.GetHandle(ctx, id)
	if every <= 0 {
		err := h.Delete(ctx)
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("delete schedule: %w", err)
		}
		return nil
	}
	paused := !integ.SyncEnabled || integ.Status != models.IntegrationActive
	action := &client.ScheduleWorkflowAction{
		ID:        workflows.ScheduledSyncWorkflowID(integ.ID),
		Workflow:  workflows.Sync,
		TaskQueue: workflows.IntegrationsQueue,
		Args: []any{workflows.SyncInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID,
			IntegrationType: integ.IntegrationType, SyncType: "incremental"}},
		TypedSearchAttributes: s.attrs(integ),
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP, Paused: paused,
		Note: "periodic export of " + integ.IntegrationType, TypedSearchAttributes: s.attrs(integ),
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule: %w", err)
	}
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sched := in.Description.Schedule
		sched.Spec = &spec
		sched.Action = action
		if sched.Policy == nil {
			sched.Policy = &client.SchedulePolicies{}
		}
		sched.Policy.Overlap = enums.SCHEDULE_OVERLAP_POLICY_SKIP
		if sched.State == nil {
			sched.State = &client.ScheduleState{}
		}
		sched.State.Paused = paused
		return &client.ScheduleUpdate{Schedule: &sched}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule: %w", err)
	}
	return nil
}

// ScheduleState describes an integration's periodic-sync schedule.
type ScheduleState struct {
	ScheduleID      string `json:"schedule_id"`
	IntervalMinutes int    `json:"interval_minutes"`
	Paused          bool   `json:"paused"`
}

// Schedule describes the integration's schedule from Temporal (nil when none).
func (s *Service) Schedule(ctx context.Context, integ models.Integration) (*ScheduleState, error) {
	if s.syncInterval(integ) <= 0 {
		return nil, nil
	}
	d, err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SyncScheduleID(integ.ID)).Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe schedule: %w", err)
	}
	st := &ScheduleState{ScheduleID: workflows.SyncScheduleID(integ.ID)}
	if d.Schedule.Spec != nil && len(d.Schedule.Spec.Intervals) > 0 {
		st.IntervalMinutes = int(d.Schedule.Spec.Intervals[0].Every / time.Minute)
	}
	if d.Schedule.State != nil {
		st.Paused = d.Schedule.State.Paused
	}
	return st, nil
}

// Patch is the body of PATCH /api/integrations/{id}.
type Patch struct {
	Name        *string         `json:"name"`
	Settings    json.RawMessage `json:"settings"`
	SyncEnabled *bool           `json:"sync_enabled"`
}

// Update changes name, settings or sync_enabled; the schedule follows
// (sync_enabled false pauses it, true resumes it).
func (s *Service) Update(ctx context.Context, orgID, id string, p Patch) (models.Integration, error) {
	integ, err := s.Store.GetIntegration(ctx, orgID, id)
	if err != nil {
		return integ, err
	}
	cols := map[string]any{}
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		if n == "" || len(n) > 200 {
			return integ, invalid("name", "must be 1 to 200 characters")
		}
		cols["name"] = n
	}
	if len(p.Settings) > 0 {
		set, err := s.ValidateSettings(integ.IntegrationType, p.Settings)
		if err != nil {
			return integ, err
		}
		if err := s.checkSettings(ctx, integ, *set); err != nil {
			return integ, err
		}
		cols["settings"] = *set
		if settingsRefused(integ) {
			// The provider accepted the corrected settings: resume.
			cols["status"], cols["last_error_message"] = models.IntegrationActive, nil
		}
	}
	if p.SyncEnabled != nil {
		cols["sync_enabled"] = *p.SyncEnabled
	}
	if len(cols) == 0 {
		return integ, invalid("body", "nothing to change")
	}
	before := integ
	var changed []string
	for _, k := range []string{"name", "settings", "sync_enabled"} {
		if _, ok := cols[k]; ok {
			changed = append(changed, k)
		}
	}
	details := map[string]any{"changed": changed}
	if set, ok := cols["settings"].(string); ok {
		details["settings_keys"] = changedSettingKeys(before.Settings, set)
	}
	if v, ok := cols["sync_enabled"].(bool); ok {
		details["sync_enabled"] = v
	}
	integ, err = s.Store.UpdateIntegrationAudited(ctx, orgID, id, cols, s.entry(before, audit.IntegrationSettingsChanged, audit.ActorFrom(ctx), details))
	if err != nil {
		return integ, err
	}
	return integ, s.ensureSchedule(ctx, integ)
}

// Delete stops the integration's workflows and schedule, revokes the token
// at the provider where it offers revocation, wipes the credentials and
// deletes the integration (through the disconnect workflow).
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	integ, err := s.Store.GetIntegration(ctx, orgID, id)
	if err != nil {
		return err
	}
	err = s.Temporal.SignalWorkflow(ctx, workflows.TokenRefreshWorkflowID(id), "", workflows.SignalStop, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("stop token refresh: %w", err)
	}
	if err := s.Temporal.ScheduleClient().GetHandle(ctx, workflows.SyncScheduleID(id)).Delete(ctx); err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete schedule: %w", err)
	}
	// Who asked waits on the row: the disconnect run deletes it with its
	// audit entry, in one transaction.
	req, _ := json.Marshal(activities.DisconnectRequest{Actor: audit.ActorFrom(ctx)})
	if _, err := s.Store.UpdateIntegration(ctx, orgID, id, map[string]any{"disconnect_request": string(req)}); err != nil {
		return err
	}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.DisconnectWorkflowID(id),
		TaskQueue:                workflows.IntegrationsQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowRunTimeout:       10 * time.Minute,
		TypedSearchAttributes:    s.attrs(integ),
	}, workflows.Disconnect, activities.DisconnectInput{IntegrationID: id, OrganizationID: orgID})
	if err != nil {
		return fmt.Errorf("start disconnect: %w", err)
	}
	var res workflows.DisconnectResult
	return run.Get(ctx, &res)
}

// RefreshNow asks the refresh loop to refresh at once.
func (s *Service) RefreshNow(ctx context.Context, orgID, id string) error {
	integ, err := s.Store.GetIntegration(ctx, orgID, id)
	if err != nil {
		return err
	}
	p, _ := s.Catalog.Get(integ.IntegrationType)
	if !p.TokensExpire() || integ.RefreshToken == nil {
		return fmt.Errorf("%w: %s tokens do not expire", ErrConflict, p.DisplayName)
	}
	err = s.Temporal.SignalWorkflow(ctx, workflows.TokenRefreshWorkflowID(id), "", workflows.SignalRefreshNow, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return s.afterConnect(ctx, integ, true)
	}
	return err
}

// StartSync creates a running sync log row and starts the sync workflow.
func (s *Service) StartSync(ctx context.Context, orgID, id, syncType string) (models.IntegrationSyncLog, error) {
	integ, err := s.Store.GetIntegration(ctx, orgID, id)
	if err != nil {
		return models.IntegrationSyncLog{}, err
	}
	return s.startSync(ctx, integ, syncType, "")
}

// RetrySync re-runs a failed sync as a new run linked to the original.
func (s *Service) RetrySync(ctx context.Context, orgID, id, syncID string) (models.IntegrationSyncLog, error) {
	integ, err := s.Store.GetIntegration(ctx, orgID, id)
	if err != nil {
		return models.IntegrationSyncLog{}, err
	}
	orig, err := s.Store.GetSyncLog(ctx, orgID, id, syncID)
	if err != nil {
		return orig, err
	}
	if orig.Status != models.SyncFailed {
		return orig, fmt.Errorf("%w: only a failed sync can be retried (this one is %s)", ErrConflict, orig.Status)
	}
	l, err := s.startSync(ctx, integ, orig.SyncType, orig.ID)
	if err == nil {
		s.record(ctx, integ, audit.IntegrationSyncRetried, audit.ActorFrom(ctx),
			map[string]any{"sync_id": l.ID, "retry_of": orig.ID, "sync_type": orig.SyncType, "workflow_id": deref(l.WorkflowID)})
	}
	return l, err
}

func (s *Service) startSync(ctx context.Context, integ models.Integration, syncType, retryOf string) (models.IntegrationSyncLog, error) {
	p, _ := s.Catalog.Get(integ.IntegrationType)
	if _, ok := p.Syncer(); !ok {
		return models.IntegrationSyncLog{}, invalid("id", "%s does not support syncs; it reacts to events as they happen", p.DisplayName)
	}
	if integ.Status != models.IntegrationActive {
		return models.IntegrationSyncLog{}, fmt.Errorf("%w: the integration is %s; reconnect it first", ErrConflict, integ.Status)
	}
	org := integ.OrganizationID
	row := models.IntegrationSyncLog{ID: ids.New("sync"), IntegrationID: integ.ID, SyncType: syncType, Direction: "export",
		Status: models.SyncRunning, OrganizationID: &org, StartedAt: s.now()}
	wf := workflows.SyncWorkflowID(integ.ID, row.ID)
	row.WorkflowID = &wf
	if retryOf != "" {
		row.RetryOf = &retryOf
	}
	if err := s.Store.CreateSyncLog(ctx, &row); err != nil {
		return row, err
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    wf,
		TaskQueue:             workflows.IntegrationsQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowRunTimeout:    24 * time.Hour,
		TypedSearchAttributes: s.attrs(integ),
	}, workflows.Sync, workflows.SyncInput{IntegrationID: integ.ID, OrganizationID: integ.OrganizationID,
		IntegrationType: integ.IntegrationType, SyncLogID: row.ID, SyncType: syncType, RetryOf: retryOf})
	if err != nil {
		now := s.now()
		msg := `[{"code":"start_failed","message":"the sync workflow could not be started"}]`
		_ = s.Store.FinishSyncLog(ctx, row.ID, map[string]any{"status": models.SyncFailed, "completed_at": now, "error_details": msg})
		return row, fmt.Errorf("start sync: %w", err)
	}
	return row, nil
}
