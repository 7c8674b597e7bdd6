package mailchimp

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

var (
	_ providers.Connector       = (*Connector)(nil)
	_ providers.SettingsChecker = (*Connector)(nil)
	_ providers.AfterConnecter  = (*Connector)(nil)
	_ providers.APIBaser        = (*Connector)(nil)
	_ providers.Authorizer      = (*Connector)(nil)
	_ providers.Syncer          = (*Connector)(nil)
)

// Connector is the Mailchimp connector. It is deliberately not a
// providers.Revoker: Mailchimp has no token revocation endpoint (its
// tokens never expire; a user removes the app under Account → Extras →
// Registered apps / Connected sites), so disconnecting deletes the stored
// token and nothing is called at Mailchimp.
type Connector struct {
	// PollInterval and MaxWait pace batch polling in one sync page (see
	// Client); zero uses the client's defaults.
	PollInterval, MaxWait time.Duration

	mu sync.Mutex
	// bases are API bases learned from the metadata endpoint, by token
	// digest, for connections whose data center was not stored at connect.
	bases map[[32]byte]string
}

// New returns the Mailchimp connector.
func New() *Connector { return &Connector{bases: map[[32]byte]string{}} }

// Info is Mailchimp's catalog entry: OAuth 2 with client credentials in
// the body, no scopes and no PKCE; tokens never expire and come without a
// refresh token (no refresh loop; a 401 means the app was removed); the
// API base depends on the account's data center, learned from the
// metadata endpoint (so there is no default API URL); at most 10
// simultaneous connections per user, so 10 in flight per connection.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"registrant email address, first and last name (as an audience member)", "mapped merge fields", "marketing consent (subscription status) and event tags"},
		Type:     "mailchimp", DisplayName: "Mailchimp", Auth: providers.AuthOAuth2, Available: true,
		OAuth: &providers.OAuthInfo{
			AuthURL:    "https://login.mailchimp.com/oauth2/authorize",
			TokenURL:   "https://login.mailchimp.com/oauth2/token",
			ClientAuth: providers.ClientAuthBody,
		},
		Concurrency: 10,
	}
}

// ParseSettings decodes, defaults and validates Mailchimp settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of Mailchimp settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads a Mailchimp answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// Actions are Mailchimp's pushes by Aqio event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.confirmed": c.confirmed,
		"registration.cancelled": c.cancelled,
	}
}

// Authorize puts the access token on Mailchimp requests: Bearer on API
// calls, "OAuth <token>" on the metadata call, nothing on batch result
// downloads (pre-signed S3 URLs).
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	authorize(req, c.AccessToken)
}

// APIBase is <api_endpoint>/3.0 when the data center was stored at
// connect (AfterConnect); "" otherwise (the connector asks the metadata
// endpoint then).
func (*Connector) APIBase(c providers.Credentials) string {
	if ep := c.ExtraString("api_endpoint"); ep != "" {
		return strings.TrimRight(ep, "/") + "/3.0"
	}
	return ""
}

// AfterConnect asks the metadata endpoint (beside the token endpoint:
// https://login.mailchimp.com/oauth2/metadata) for the account's data
// center and API endpoint.
func (*Connector) AfterConnect(ctx context.Context, rt *providers.Runtime) (map[string]any, error) {
	md, err := FetchMetadata(ctx, rt.HTTP, metadataURL(rt))
	if err != nil {
		return nil, err
	}
	return map[string]any{"dc": md.DC, "api_endpoint": md.APIEndpoint}, nil
}

func metadataURL(rt *providers.Runtime) string {
	tokenURL := "https://login.mailchimp.com/oauth2/token"
	if rt.Provider.OAuth != nil && rt.Provider.OAuth.TokenURL != "" {
		tokenURL = rt.Provider.OAuth.TokenURL
	}
	return MetadataURL(tokenURL)
}

// client is the API client of a runtime. Without a configured or stored
// API base it asks the metadata endpoint once per token and process.
func (c *Connector) client(ctx context.Context, rt *providers.Runtime) (*Client, error) {
	base := rt.APIBaseURL
	if base == "" {
		key := sha256.Sum256([]byte(rt.Credentials.AccessToken))
		c.mu.Lock()
		base = c.bases[key]
		c.mu.Unlock()
		if base == "" {
			md, err := FetchMetadata(ctx, rt.HTTP, metadataURL(rt))
			if err != nil {
				return nil, err
			}
			base = md.APIEndpoint + "/3.0"
			c.mu.Lock()
			c.bases[key] = base
			c.mu.Unlock()
		}
	}
	return &Client{BaseURL: base, HTTP: rt.HTTP, PollInterval: c.PollInterval, MaxWait: c.MaxWait}, nil
}

// CheckSettings checks the settings against the account: the audience
// exists (GET /lists/{id}); every mapped merge tag exists in it, and every
// required merge field is filled by the mapping (else new members would
// be refused).
func (c *Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	if s.AudienceID == "" {
		return nil
	}
	cl, err := c.client(ctx, rt)
	if err != nil {
		return err
	}
	if _, err := cl.GetList(ctx, s.AudienceID); err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
			return &providers.SettingsError{Field: fieldAudience, Message: fmt.Sprintf("the Mailchimp account has no audience %q", s.AudienceID)}
		}
		return err
	}
	fields, err := cl.MergeFields(ctx, s.AudienceID)
	if err != nil {
		return err
	}
	m := s.Mapping()
	targets := make([]crmmap.Target, 0, len(fields))
	for _, f := range fields {
		targets = append(targets, crmmap.Target{Name: f.Tag, Label: f.Name})
	}
	if err := m.CheckTargets(fieldMapping, "Mailchimp", targets); err != nil {
		return err
	}
	mapped := map[string]bool{}
	for _, tag := range m {
		mapped[tag] = true
	}
	byTag := map[string]MergeField{}
	for _, f := range fields {
		byTag[f.Tag] = f
	}
	for _, src := range m.Keys() {
		if f := byTag[m[src]]; f.Type == "address" {
			return &providers.SettingsError{Field: fieldMapping + "." + src, Message: fmt.Sprintf("merge field %s is an address (an object of addr1, city, zip, …); map a text field", f.Tag)}
		}
	}
	for _, f := range fields {
		if f.Required && f.Tag != "EMAIL" && !mapped[f.Tag] {
			return &providers.SettingsError{Field: fieldMapping, Message: fmt.Sprintf("the audience requires merge field %s (%s); map an Aqio field to it or make it optional in Mailchimp", f.Tag, f.Name)}
		}
	}
	return nil
}

// Link object types this connector keeps.
const (
	linkMember = "registration"    // registration id → subscriber hash
	linkBatch  = "mailchimp_batch" // sync page → batch id while it runs
)

func permanent(code, msg string) *providers.Error {
	return &providers.Error{Provider: "mailchimp", Kind: providers.KindPermanent, Code: code, Message: msg}
}

func noAudience() error {
	e := permanent("no_audience", "choose the Mailchimp audience (settings.audience_id), then re-run")
	e.Field = fieldAudience
	return e
}

// memberInput is the upsert of a registrant, by consent: status_if_new
// is the settings' status (subscribed or pending) only with an explicit
// marketing opt-in, else transactional; ok is false when the settings
// skip registrants without consent.
func memberInput(s Settings, reg providers.AqioRegistration, p crmmap.Person) (MemberInput, bool) {
	in := MemberInput{Email: p.Email, StatusIfNew: s.StatusIfNew}
	if !reg.Consented() {
		if s.WithoutConsent == WithoutConsentSkip {
			return in, false
		}
		in.StatusIfNew = StatusTransactional
	}
	if mf := s.Mapping().Apply(p); len(mf) > 0 {
		in.MergeFields = mf
	}
	return in, true
}

// eventTitle is the Aqio event's title, when the event is known.
func eventTitle(ctx context.Context, rt *providers.Runtime, eventID string) string {
	if eventID == "" || rt.Objects == nil {
		return ""
	}
	o, err := rt.Objects.Get(ctx, "event", eventID)
	if err != nil {
		return ""
	}
	var e providers.AqioEvent
	_ = json.Unmarshal(o.Data, &e)
	return e.Title
}

// tagChanges are the tag changes of an event type: the event tag active
// on confirmation and inactive on cancellation, plus the settings' tags
// of that type (active).
func tagChanges(s Settings, eventType, eventID, title string) []Tag {
	var out []Tag
	seen := map[string]bool{}
	add := func(name, status string) {
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, Tag{Name: name, Status: status})
		}
	}
	if t := s.EventTagTemplate(); t != "" && eventID != "" {
		st := "active"
		if eventType == "registration.cancelled" {
			st = "inactive"
		}
		add(crmmap.ExpandTag(t, eventID, title, maxTagLen), st)
	}
	for _, t := range s.Tags[eventType] {
		add(crmmap.ExpandTag(t, eventID, title, maxTagLen), "active")
	}
	return out
}

func tagNames(tags []Tag) string {
	var on, off []string
	for _, t := range tags {
		if t.Status == "active" {
			on = append(on, t.Name)
		} else {
			off = append(off, t.Name)
		}
	}
	var parts []string
	if len(on) > 0 {
		parts = append(parts, "tagged "+strings.Join(on, ", "))
	}
	if len(off) > 0 {
		parts = append(parts, "untagged "+strings.Join(off, ", "))
	}
	return strings.Join(parts, "; ")
}

// refusedAddress reports a Mailchimp refusal that is the member's own
// state (unsubscribed, bounced, under compliance review, or erased on
// request): Mailchimp will not re-add them, and Aqio must not try.
func refusedAddress(err error) (*providers.Error, bool) {
	pe, ok := providers.AsError(err)
	return pe, ok && pe.Kind == providers.KindPermanent && (pe.Code == CodeComplianceState || pe.Code == CodeForgottenEmail)
}

// confirmed upserts the registrant (PUT /lists/{id}/members/{hash} with
// status_if_new by consent and the mapped merge fields) and tags them with
// the event. A registration link marks whether the member was new to Aqio.
func (c *Connector) confirmed(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if s.AudienceID == "" {
		return providers.Result{}, noAudience()
	}
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	in, ok := memberInput(s, reg, person)
	if !ok {
		return providers.Skipped("no marketing consent: not sent to Mailchimp (without_consent skip)"), nil
	}
	cl, err := c.client(ctx, rt)
	if err != nil {
		return providers.Result{}, err
	}
	_, linkErr := rt.Links.Get(ctx, linkMember, reg.ID)
	if linkErr != nil && !errors.Is(linkErr, providers.ErrNotFound) {
		return providers.Result{}, fmt.Errorf("load member link: %w", linkErr)
	}
	m, err := cl.UpsertMember(ctx, s.AudienceID, in)
	if pe, refused := refusedAddress(err); refused {
		return providers.Skipped("Mailchimp keeps this address out of the audience: " + pe.Code), nil
	}
	if err != nil {
		return providers.Result{}, err
	}
	// A transactional contact who has now opted in joins the marketing
	// list; other statuses (unsubscribed, cleaned, pending) are the
	// member's own and are never changed.
	if reg.Consented() && m.Status == StatusTransactional {
		up := in
		up.Status, up.MergeFields = s.StatusIfNew, nil
		if m, err = cl.UpsertMember(ctx, s.AudienceID, up); err != nil {
			return providers.Result{}, err
		}
	}
	tags := tagChanges(s, ev.Type, reg.EventID, eventTitle(ctx, rt, reg.EventID))
	if len(tags) > 0 {
		if err := cl.UpdateTags(ctx, s.AudienceID, person.Email, tags); err != nil {
			return providers.Result{}, err
		}
	}
	if reg.ID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkMember, ObjectID: reg.ID, ExternalID: m.ID, Status: "active",
			Data: map[string]string{"audience_id": s.AudienceID, "status": m.Status}}); err != nil {
			return providers.Result{}, fmt.Errorf("save member link: %w", err)
		}
	}
	action := "updated"
	if errors.Is(linkErr, providers.ErrNotFound) {
		action = "created"
	}
	detail := "member " + m.Status
	if t := tagNames(tags); t != "" {
		detail += "; " + t
	}
	return providers.Result{Action: action, ExternalID: m.ID, Detail: detail}, nil
}

// cancelled removes the event tag and adds the cancellation tags. The
// member's status is left alone: cancelling a registration is not
// withdrawing marketing consent.
func (c *Connector) cancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if s.AudienceID == "" {
		return providers.Result{}, noAudience()
	}
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	tags := tagChanges(s, ev.Type, reg.EventID, eventTitle(ctx, rt, reg.EventID))
	if len(tags) == 0 {
		return providers.Skipped("no event tag or cancellation tags set"), nil
	}
	cl, err := c.client(ctx, rt)
	if err != nil {
		return providers.Result{}, err
	}
	if err := cl.UpdateTags(ctx, s.AudienceID, person.Email, tags); err != nil {
		if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
			return providers.Skipped("not a member of the audience"), nil
		}
		return providers.Result{}, err
	}
	return providers.Result{Action: "updated", ExternalID: SubscriberHash(person.Email), Detail: tagNames(tags)}, nil
}
