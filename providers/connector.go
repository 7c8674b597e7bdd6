package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// A Connector is one integration provider: its catalog entry, its
// settings, the actions it takes for Aqio domain events, and how it reads
// the provider's errors. One package per provider (providers/<name>)
// implements it and registers it in providers/registry. The runtime
// (activities) does authentication, token refresh, retries, rate-limit
// back-off, idempotency links and logging; a connector only maps Aqio
// objects to provider calls.
//
// Optional behaviour is declared by also implementing Syncer, Revoker,
// CredentialChecker, SettingsChecker, AfterConnecter, Reminder,
// Authorizer, APIBaser, TokenTransporter, Feeder or Eraser.
type Connector interface {
	// Info is the static catalog entry (configuration may override its URLs).
	Info() Info
	// ParseSettings decodes and validates an integration's settings JSON
	// (use DecodeSettings for strict decoding) and returns the typed
	// value actions receive in Runtime.Settings. Errors are *SettingsError
	// naming the field ("settings.channel").
	ParseSettings(raw []byte) (any, error)
	// SettingsSchema is the JSON Schema of the settings object, served by
	// GET /api/integrations/providers so a form can be rendered.
	SettingsSchema() map[string]any
	// Actions are the pushes, keyed by Aqio event type ("event.created").
	// The catalog's pushes list is their keys.
	Actions() map[string]Action
	// Classify reads a provider HTTP response: nil when it is a success,
	// otherwise the classified failure. body is the (possibly truncated)
	// response body. Most connectors start from ClassifyHTTP and add
	// their error codes (Slack answers 200 {"ok":false,…}).
	Classify(resp *http.Response, body []byte) *Error
}

// Action applies one Aqio domain event to one integration. It must be
// idempotent: a retried action never creates a second provider object
// (keep a Link per Aqio object and look it up first).
type Action func(ctx context.Context, rt *Runtime, ev Event) (Result, error)

// Result says what an action did (shown in the activity list).
type Result struct {
	// Action: created, updated, deleted, posted or skipped.
	Action     string `json:"action"`
	ExternalID string `json:"external_id,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// Skipped is a Result for an event the settings ignore.
func Skipped(detail string) Result { return Result{Action: "skipped", Detail: detail} }

// Syncer exports Aqio objects to the provider (full and incremental runs;
// the runtime pages through the objects changed after the run's cursor
// and calls ExportPage once per page).
type Syncer interface {
	// SyncObjectTypes are the Aqio object types exported ("event", "registration").
	SyncObjectTypes() []string
	// ExportPage writes one page of objects. A record the provider refuses
	// is reported in PageResult.Errors, not returned; an error fails the
	// whole page (rate limits, credentials) and Temporal retries it.
	ExportPage(ctx context.Context, rt *Runtime, objs []Object) (PageResult, error)
}

// PageResult counts one exported page.
type PageResult struct {
	Created, Updated, Skipped int
	Errors                    []RecordError
}

// RecordError is one record a sync could not export.
type RecordError struct {
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
	Code       string `json:"code"`
	Message    string `json:"message"`
}

func (e *RecordError) Error() string {
	return e.ObjectType + " " + e.ObjectID + ": " + e.Code + ": " + e.Message
}

// SyncScheduler connectors run periodic syncs from a Temporal Schedule.
type SyncScheduler interface {
	// SyncInterval is the period for parsed settings (0: no schedule).
	SyncInterval(settings any) time.Duration
}

// Revoker revokes the integration's credential at the provider on
// disconnect. Already revoked or expired counts as success.
type Revoker interface {
	Revoke(ctx context.Context, rt *Runtime) error
}

// CredentialChecker validates a non-OAuth credential (api_key, basic,
// webhook_url) with one cheap provider call before it is saved. A refused
// credential is a *SettingsError naming the field ("credentials.api_key").
type CredentialChecker interface {
	CheckCredentials(ctx context.Context, rt *Runtime) error
}

// SettingsChecker validates settings against the provider (e.g. mapped
// CRM properties exist) when they are saved. Errors are *SettingsError.
type SettingsChecker interface {
	CheckSettings(ctx context.Context, rt *Runtime) error
}

// AfterConnecter runs once after a connection is made (e.g. Mailchimp's
// metadata call for the data center); the returned extras are stored
// encrypted beside the token extras and appear in Credentials.Extra.
type AfterConnecter interface {
	AfterConnect(ctx context.Context, rt *Runtime) (map[string]any, error)
}

// Reminder connectors post an event reminder from a durable timer
// (the Reminder workflow) hours before an event starts.
type Reminder interface {
	// ReminderHours is hours_before for parsed settings (0: no reminders).
	ReminderHours(settings any) int
	// Remind posts the reminder for an Aqio event.
	Remind(ctx context.Context, rt *Runtime, event AqioEvent) (Result, error)
}

// Authorizer puts the credential on a request when the default does not
// fit. Defaults: oauth2 "Authorization: Bearer <access token>"; api_key
// Info.APIKeyHeader (or Bearer) with the api_key field; basic HTTP Basic
// with username/password; webhook_url nothing.
type Authorizer interface {
	Authorize(req *http.Request, c Credentials)
}

// APIBaser derives the API base URL from the credentials (Salesforce
// instance_url, Pipedrive api_domain, Mailchimp's data center). A
// configured AQIO_<TYPE>_API_URL always wins.
type APIBaser interface {
	APIBase(c Credentials) string
}

// TokenTransporter adapts the token endpoint's answers for
// golang.org/x/oauth2 (Slack answers errors as 200 {"ok":false}).
type TokenTransporter interface {
	TokenTransport(next http.RoundTripper) http.RoundTripper
}

// Feeder connectors serve a subscribable feed of the integration at a
// secret URL (Apple Calendar's ICS feed, which any calendar app can
// subscribe to). The API renders it on each GET from the integration's
// links, which the connector's actions keep (e.g. an entry and its
// SEQUENCE per Aqio event); it never calls the provider.
type Feeder interface {
	Feed(in FeedInput) (FeedOutput, error)
}

// FeedTokenExtra is the credential extra holding a feed's secret token
// (issued, rotated and revoked through /api/integrations/{id}/feed).
const FeedTokenExtra = "feed_token"

// FeedInput is what a feed is rendered from.
type FeedInput struct {
	// Name is the integration's name (a calendar's display name).
	Name     string
	Settings any
	// Links are all of the integration's links, deleted ones included.
	Links []Link
	Now   time.Time
}

// FeedOutput is a rendered feed.
type FeedOutput struct {
	ContentType string
	Body        []byte
}

// Eraser connectors propagate a data subject's erasure (GDPR art. 17) to
// the provider: delete or anonymise the person there (HubSpot's GDPR
// delete, Mailchimp's permanent member delete). Erase must be safe to
// call again: a person already gone is EraseNotFound, not an error.
type Eraser interface {
	Erase(ctx context.Context, rt *Runtime, s ErasureSubject) (EraseOutcome, error)
}

// ErasureSubject is who to erase: every address the erasure found for
// them (normalized), their Aqio user id, and the Aqio objects that were
// theirs.
type ErasureSubject struct {
	Emails []string
	UserID string
	// Held are the subject's Aqio objects (their registrations), with
	// this integration's link of each when it has one, as they were
	// before the local erasure deleted them: where the provider's records
	// of the person are (a Zoom registrant id and its meeting, the
	// calendar events a registration made them an attendee of) when the
	// provider cannot be searched for them (cancelled registrants, ended
	// meetings).
	Held []HeldObject
}

// HeldObject is one Aqio object of an erasure's subject.
type HeldObject struct {
	Type     string
	ID       string
	ParentID string // a registration's event id
	Status   string
	// Link is this integration's link of the object (nil: none).
	Link *Link
}

// Erase outcome statuses.
const (
	EraseDeleted     = "deleted"      // the provider deleted (or anonymised) the person
	EraseNotFound    = "not_found"    // the provider holds nobody with these addresses
	EraseNotPossible = "not_possible" // the provider cannot delete them (Detail says why)
)

// EraseOutcome says what an Erase did (shown in the erasure report; no
// personal data).
type EraseOutcome struct {
	Status string `json:"status"`
	// Deleted counts the provider records removed.
	Deleted int    `json:"deleted"`
	Detail  string `json:"detail,omitempty"`
}

// AuthMode is how a provider authenticates.
type AuthMode string

// Auth modes.
const (
	AuthOAuth2     AuthMode = "oauth2"
	AuthAPIKey     AuthMode = "api_key"
	AuthWebhookURL AuthMode = "webhook_url"
	AuthBasic      AuthMode = "basic"
)

// ClientAuth is how the token endpoint receives the OAuth client credentials.
type ClientAuth string

// Client authentication styles.
const (
	// ClientAuthBody sends client_id and client_secret in the form body.
	ClientAuthBody ClientAuth = "body"
	// ClientAuthBasic sends them as HTTP Basic (Zoom, Pipedrive).
	ClientAuthBasic ClientAuth = "basic"
)

// Info is a connector's catalog entry.
type Info struct {
	Type        string
	DisplayName string
	Auth        AuthMode
	// Available is false for a catalog entry whose connector is not built yet.
	Available bool
	// APIBaseURL is the default REST API base (AQIO_<TYPE>_API_URL overrides).
	APIBaseURL string
	// OAuth is set for Auth == AuthOAuth2.
	OAuth *OAuthInfo
	// CredentialFields are the fields POST /api/integrations/{type}/connect
	// takes for api_key, basic and webhook_url providers (e.g. api_key and
	// api_url). All are stored encrypted.
	CredentialFields []CredentialField
	// APIKeyHeader carries the api_key field (e.g. "X-Kit-Api-Key",
	// "Api-Token"); empty means "Authorization: Bearer".
	APIKeyHeader string
	// SecretExtras name the token extras and AfterConnect extras whose
	// values are secrets (Slack incoming_webhook, Discord webhook: their
	// URLs carry a token). Only these, the tokens and the secret (or
	// undeclared) credential fields are redacted from the request and
	// response excerpts kept for support staff; other extras (Zoom
	// api_url, Salesforce instance_url, Mailchimp api_endpoint) are shown.
	SecretExtras []string
	// RateLimit names the provider's rate-limit response headers.
	RateLimit RateLimitHeaders
	// Concurrency caps in-flight requests per connection in one worker
	// process (0: no cap). Mailchimp allows 10, Graph 4 per mailbox.
	Concurrency int
	// DataSent describes what Aqio data the connector sends to the
	// provider, one short phrase per kind (personal fields named), for
	// GET /api/integrations/{id} and docs/PRIVACY.md ("What each
	// connector sends", checked against this by a test).
	DataSent []string
	// NoErasure says, for a connector without an Eraser, why an erasure
	// request cannot reach the provider and what the organization should
	// do there instead (the erasure report shows it).
	NoErasure string
}

// OAuthInfo describes an OAuth 2.0 authorization-code provider.
type OAuthInfo struct {
	AuthURL, TokenURL, RevokeURL string
	// ClientAuth is how the token endpoint authenticates the client.
	ClientAuth ClientAuth
	PKCE       bool
	// RotatesRefreshTokens: every refresh returns a new refresh token and
	// invalidates the old one (the runtime persists it before anything else).
	RotatesRefreshTokens bool
	// TokensExpire: access tokens report expires_in and a refresh loop
	// runs. False for providers whose tokens never expire (Mailchimp) or
	// report no expiry (Salesforce: refresh-once-on-401 keeps them alive).
	TokensExpire bool
	// TokenExtras are token-response fields kept (encrypted) beside the
	// tokens: Slack incoming_webhook, Salesforce instance_url, Pipedrive
	// api_domain, Discord webhook.
	TokenExtras    []string
	DefaultScopes  []string
	ScopeSeparator string // " " when empty; Slack uses ","
	// AuthParams are added to the authorize URL (Google access_type=offline).
	AuthParams map[string]string
}

// CredentialField is one field of a non-OAuth credential.
type CredentialField struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Required    bool   `json:"required"`
	// Secret fields are never shown again (all fields are stored encrypted).
	Secret bool `json:"secret"`
}

// RateLimitHeaders are the response headers that say how long to wait.
// Retry-After is always honoured; these add the provider's own.
type RateLimitHeaders struct {
	// Remaining counts requests left in the current window.
	Remaining string
	// ResetAfter is seconds (may be fractional) until the window resets
	// (Discord X-RateLimit-Reset-After).
	ResetAfter string
	// ResetAt is the Unix time the window resets (X-RateLimit-Reset).
	ResetAt string
	// IntervalMillis is the window length in milliseconds; with Remaining
	// 0 it is the delay (HubSpot X-HubSpot-RateLimit-Interval-Milliseconds).
	IntervalMillis string
}

// Credentials are an integration's decrypted credentials, handed to
// connectors only inside activities (never in workflow history).
type Credentials struct {
	AccessToken  string
	RefreshToken string
	// Fields are a non-OAuth credential's fields (api_key, username,
	// password, webhook_url, …).
	Fields map[string]string
	// Extra are the kept token-response extras and AfterConnect extras.
	Extra map[string]any
}

// ExtraString returns a string extra ("" when absent).
func (c Credentials) ExtraString(key string) string {
	s, _ := c.Extra[key].(string)
	return s
}

// Runtime is what an action, sync, revoke or check receives: one
// integration's identity, parsed settings, credentials, an authenticated
// HTTP client and the stores it may use.
type Runtime struct {
	IntegrationID  string
	OrganizationID string
	// Provider is the catalog entry with configuration applied.
	Provider Provider
	// APIBaseURL is where to call: AQIO_<TYPE>_API_URL, else APIBaser,
	// else Info.APIBaseURL.
	APIBaseURL string
	// Settings is the value ParseSettings returned.
	Settings    any
	Credentials Credentials
	// HTTP is authenticated (Authorizer or the auth mode's default) and,
	// for OAuth connectors, refreshes the token once and retries when the
	// provider answers 401 or Classify says KindExpired. It caps
	// concurrency per connection and keeps the last response excerpt for
	// the activity list. Requests must have a replayable body
	// (http.NewRequest with bytes/strings readers does that).
	HTTP *http.Client
	// Objects reads the latest state of Aqio objects (a registration's event).
	Objects Objects
	// Links are the idempotency links of this integration.
	Links Links
	// Milestones claims once-only notifications (registration milestones).
	Milestones Milestones
	Now        func() time.Time
}

// Do sends req with rt.HTTP and classifies the answer: a nil error means
// Classify accepted the response, whose body is returned (at most 1 MiB).
func (rt *Runtime) Do(req *http.Request) (*http.Response, []byte, error) {
	return Do(rt.HTTP, rt.classify, req)
}

func (rt *Runtime) classify(resp *http.Response, body []byte) *Error {
	if rt.Provider.Connector == nil {
		return ClassifyHTTP(rt.Provider.Info.Type, rt.Provider.Info.RateLimit, resp, body)
	}
	return rt.Provider.Connector.Classify(resp, body)
}

// SettingsOf returns the runtime's settings as the connector's type.
func SettingsOf[T any](rt *Runtime) T {
	s, _ := rt.Settings.(T)
	return s
}

// IdempotencyKey is the stable key of one action on one Aqio object for
// this integration (for providers that take an idempotency key, a client
// transaction id, or a deterministic object id).
func (rt *Runtime) IdempotencyKey(objectType, objectID string) string {
	return IdempotencyKey(rt.IntegrationID, objectType, objectID)
}

// Event is one Aqio domain event as an action sees it.
type Event struct {
	ID   string
	Type string
	// Created is the event's Unix time.
	Created int64
	// Object is data.object (decode with the Aqio* types).
	Object json.RawMessage
}

// Decode decodes the event's object into v.
func (e Event) Decode(v any) error {
	if len(e.Object) == 0 {
		return errors.New("event has no data.object")
	}
	return json.Unmarshal(e.Object, v)
}

// Object is the latest known state of an Aqio object.
type Object struct {
	Type      string
	ID        string
	ParentID  string // a registration's event id
	Status    string // "cancelled" once a *.cancelled event arrived
	Data      json.RawMessage
	UpdatedAt time.Time
}

// ErrNotFound is returned by Objects and Links lookups.
var ErrNotFound = errors.New("not found")

// Objects reads Aqio objects of the integration's organization.
type Objects interface {
	Get(ctx context.Context, objectType, id string) (Object, error)
	// Children lists objects whose parent is parentID (an event's registrations).
	Children(ctx context.Context, objectType, parentID string) ([]Object, error)
	// CountActive counts children that are not cancelled.
	CountActive(ctx context.Context, objectType, parentID string) (int, error)
}

// Link maps an Aqio object to the provider object it became.
type Link struct {
	ObjectType string
	ObjectID   string
	ExternalID string
	// URL is a join/conference URL kept for the object (Meet, Zoom).
	URL    string
	Status string // active or deleted
	// Data holds small provider facts (a Zoom meeting id of a registrant).
	Data map[string]string
}

// Links stores one integration's links (table integration_links).
type Links interface {
	// Get returns ErrNotFound when the object has no link yet.
	Get(ctx context.Context, objectType, objectID string) (Link, error)
	Put(ctx context.Context, l Link) error
	// Claim stores l (a claim, Status "pending") before the provider
	// object is created, so that of concurrent runs only one creates it.
	// It reports whether it stored l: when the object has no link yet,
	// when its link is "deleted" (a claim released after the provider
	// refused the create), when its link is an earlier claim (l's
	// Status) written more than ClaimTimeout ago (its run died), or,
	// replaces non-empty, when its link still points at the provider
	// object replaces (known gone). Of concurrent claims of one object
	// exactly one wins.
	Claim(ctx context.Context, l Link, replaces string) (bool, error)
}

// ClaimTimeout is how old a claim (Links.Claim) must be before another
// run may take it over: longer than an action's attempt may run (push
// activities time out after a minute).
const ClaimTimeout = 2 * time.Minute

// Milestones claims a once-only notification for an Aqio event.
type Milestones interface {
	// Claim reports whether this run owns the milestone (first claim wins).
	Claim(ctx context.Context, eventID string, threshold int) (bool, error)
	// Posted records the provider message id of a claimed milestone.
	Posted(ctx context.Context, eventID string, threshold int, externalID string) error
}
