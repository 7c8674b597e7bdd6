// Package kit is the Kit (formerly ConvertKit) connector: registrants who
// opted in to marketing email become Kit subscribers (POST /v4/subscribers
// upserts by email) with mapped custom fields, tagged per Aqio event
// (POST /v4/tags/{tag_id}/subscribers/{id}). It connects with OAuth or
// with an account's V4 API key (X-Kit-Api-Key).
package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Type is the integration type.
const Type = "kit"

var (
	_ providers.Connector         = (*Connector)(nil)
	_ providers.Authorizer        = (*Connector)(nil)
	_ providers.CredentialChecker = (*Connector)(nil)
	_ providers.SettingsChecker   = (*Connector)(nil)
	_ providers.Revoker           = (*Connector)(nil)
	_ providers.Syncer            = (*Connector)(nil)
)

// Connector is the Kit connector.
type Connector struct{}

// New returns the Kit connector.
func New() *Connector { return &Connector{} }

// Info is Kit's catalog entry: OAuth 2 on api.kit.com/v4/oauth (client
// credentials in the body, PKCE, 48-hour access tokens refreshed from
// expires_in, refresh tokens replaced on refresh) — or, with
// POST /api/integrations/kit/connect, the account's V4 API key sent as
// X-Kit-Api-Key. Kit allows 600 requests per 60 s per OAuth token and 120
// per API key and answers 429 without Retry-After; a few requests in
// flight per connection keep under that, and 429s back off exponentially.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"email address and first name of registrants who opted in to marketing (as subscribers)", "mapped custom fields", "event tags"},
		Type:     Type, DisplayName: "Kit (ConvertKit)", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://api.kit.com/v4",
		OAuth: &providers.OAuthInfo{
			AuthURL:    "https://api.kit.com/v4/oauth/authorize",
			TokenURL:   "https://api.kit.com/v4/oauth/token",
			RevokeURL:  "https://api.kit.com/v4/oauth/revoke",
			ClientAuth: providers.ClientAuthBody, PKCE: true, TokensExpire: true, RotatesRefreshTokens: true,
			DefaultScopes: []string{"public"},
		},
		CredentialFields: []providers.CredentialField{{Name: "api_key", Required: true, Secret: true,
			Description: "A Kit V4 API key (Kit → Settings → Developer → API keys), instead of OAuth."}},
		APIKeyHeader: "X-Kit-Api-Key",
		RateLimit:    RateLimit,
		Concurrency:  4,
	}
}

// ParseSettings decodes, defaults and validates Kit settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of Kit settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads a Kit answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// Actions are Kit's pushes by Aqio event type.
func (*Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.confirmed": confirmed,
		"registration.cancelled": cancelled,
	}
}

type noAuthKey struct{}

// withoutCredential marks a request that must not carry the integration's
// credential (the revoke call authenticates the OAuth client instead).
func withoutCredential(ctx context.Context) context.Context {
	return context.WithValue(ctx, noAuthKey{}, true)
}

// Authorize sends the API key as X-Kit-Api-Key for API-key connections
// and the OAuth access token as a Bearer token otherwise.
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	if req.Context().Value(noAuthKey{}) != nil {
		return
	}
	if k := c.Fields["api_key"]; k != "" {
		req.Header.Set("X-Kit-Api-Key", k)
		return
	}
	if c.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
}

func client(rt *providers.Runtime) *Client { return &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP} }

// CheckCredentials checks an API key with GET /v4/account; a key Kit
// refuses is a 422 naming credentials.api_key.
func (*Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	if strings.TrimSpace(rt.Credentials.Fields["api_key"]) == "" && rt.Credentials.AccessToken == "" {
		return &providers.SettingsError{Field: "credentials.api_key", Message: "is required"}
	}
	_, err := client(rt).Account(ctx)
	if pe, ok := providers.AsError(err); ok && (pe.Kind == providers.KindExpired || pe.Kind == providers.KindAuth || pe.Status == http.StatusUnauthorized) {
		return &providers.SettingsError{Field: "credentials.api_key", Message: "Kit refused the API key (" + pe.Message + ")"}
	}
	return err
}

// CheckSettings checks the mapped custom fields (GET /v4/custom_fields)
// and the listed tags (GET /v4/tags) against the account.
func (*Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	c := client(rt)
	if len(s.FieldMapping) > 0 {
		fields, err := c.CustomFields(ctx)
		if err != nil {
			return err
		}
		targets := make([]crmmap.Target, len(fields))
		for i, f := range fields {
			targets[i] = crmmap.Target{Name: f.Key, Label: f.Label}
		}
		if err := s.FieldMapping.CheckTargets(fieldMapping, "Kit", targets); err != nil {
			return err
		}
	}
	if len(s.TagIDs) > 0 {
		tags, err := c.Tags(ctx)
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		for _, t := range tags {
			have[t.ID] = true
		}
		for i, id := range s.TagIDs {
			if !have[id] {
				return &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldTagIDs, i), Message: fmt.Sprintf("Kit has no tag %d; create it in Kit or remove it", id)}
			}
		}
	}
	return nil
}

// Revoke revokes the OAuth grant (POST /v4/oauth/revoke with the refresh
// token, which takes its access tokens with it). An API key belongs to
// the Kit account and is not revoked: the user deletes it in Kit.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	tok := rt.Credentials.RefreshToken
	if tok == "" {
		tok = rt.Credentials.AccessToken
	}
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	return RevokeToken(withoutCredential(ctx), rt.HTTP, rt.Provider.OAuth.RevokeURL, rt.Provider.ClientID, rt.Provider.ClientSecret, tok)
}

// Link object types this connector keeps.
const (
	linkSubscriber = "registration" // registration id → subscriber id; Data["event_tag"] the event tag given
	linkEventTag   = "event_tag"    // Aqio event id → tag id
)

func permanent(code, msg string) error {
	return &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: code, Message: msg}
}

// subscriberInput is the upsert of a person: email, first name and the
// mapped custom fields.
func subscriberInput(s Settings, p crmmap.Person) SubscriberInput {
	in := SubscriberInput{Email: p.Email, FirstName: p.FirstName}
	if f := s.FieldMapping.Apply(p); len(f) > 0 {
		in.Fields = f
	}
	return in
}

// subscribe upserts a consenting registrant, tags them (settings tags and
// the event tag) and records the link. Everything it calls is an upsert
// or idempotent at Kit (201/200), so a retry changes nothing twice.
func subscribe(ctx context.Context, rt *providers.Runtime, s Settings, reg providers.AqioRegistration, p crmmap.Person) (Subscriber, bool, []string, error) {
	c := client(rt)
	sub, created, err := c.UpsertSubscriber(ctx, subscriberInput(s, p))
	if err != nil {
		return Subscriber{}, false, nil, err
	}
	var tagged []string
	for _, id := range s.TagIDs {
		if _, err := c.TagSubscriber(ctx, id, sub.ID); err != nil {
			return sub, created, tagged, err
		}
		tagged = append(tagged, strconv.FormatInt(id, 10))
	}
	data := map[string]string{"email": p.Email}
	if reg.EventID != "" && s.Tag() != "" {
		tagID, name, err := eventTag(ctx, rt, s, reg.EventID)
		if err != nil {
			return sub, created, tagged, err
		}
		if _, err := c.TagSubscriber(ctx, tagID, sub.ID); err != nil {
			return sub, created, tagged, err
		}
		tagged = append(tagged, name)
		data["event_tag"] = strconv.FormatInt(tagID, 10)
	}
	if reg.ID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkSubscriber, ObjectID: reg.ID, ExternalID: strconv.FormatInt(sub.ID, 10), Status: "active", Data: data}); err != nil {
			return sub, created, tagged, fmt.Errorf("save subscriber link: %w", err)
		}
	}
	return sub, created, tagged, nil
}

// eventTag returns the Kit tag of an Aqio event, creating it the first
// time (Kit's create answers the existing tag of the same name, so a
// retry after a lost answer finds it) and keeping it for the event.
func eventTag(ctx context.Context, rt *providers.Runtime, s Settings, eventID string) (int64, string, error) {
	if l, err := rt.Links.Get(ctx, linkEventTag, eventID); err == nil {
		if id, err := strconv.ParseInt(l.ExternalID, 10, 64); err == nil {
			return id, l.Data["name"], nil
		}
	} else if !errors.Is(err, providers.ErrNotFound) {
		return 0, "", fmt.Errorf("load event tag link: %w", err)
	}
	e := providers.AqioEvent{ID: eventID}
	if o, err := rt.Objects.Get(ctx, "event", eventID); err == nil {
		_ = json.Unmarshal(o.Data, &e)
		e.ID = eventID
	} else if !errors.Is(err, providers.ErrNotFound) {
		return 0, "", fmt.Errorf("load event %s: %w", eventID, err)
	}
	name := s.eventTagName(e)
	t, err := client(rt).CreateTag(ctx, name)
	if err != nil {
		return 0, "", err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkEventTag, ObjectID: eventID, ExternalID: strconv.FormatInt(t.ID, 10), Status: "active", Data: map[string]string{"name": t.Name}}); err != nil {
		return 0, "", fmt.Errorf("save event tag link: %w", err)
	}
	return t.ID, t.Name, nil
}

// confirmed adds a registrant who opted in to marketing email to Kit
// (upsert by email, mapped custom fields, tags). Without consent nothing
// is sent to Kit.
func confirmed(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	if !reg.Consented() {
		return providers.Skipped("no marketing consent: not sent to Kit"), nil
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	sub, created, tagged, err := subscribe(ctx, rt, s, reg, person)
	if err != nil {
		return providers.Result{}, err
	}
	res := providers.Result{Action: "updated", ExternalID: strconv.FormatInt(sub.ID, 10)}
	if created {
		res.Action = "created"
	}
	if len(tagged) > 0 {
		res.Detail = "tagged " + strings.Join(tagged, ", ")
	}
	return res, nil
}

// cancelled removes the event tag from the registrant. It never
// unsubscribes: the person may be on the list for other reasons, and
// the tags of settings.tag_ids stay.
func cancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil || reg.ID == "" {
		return providers.Result{}, permanent("bad_object", "registration object has no id")
	}
	l, err := rt.Links.Get(ctx, linkSubscriber, reg.ID)
	if errors.Is(err, providers.ErrNotFound) {
		return providers.Skipped("registration was never sent to Kit"), nil
	}
	if err != nil {
		return providers.Result{}, fmt.Errorf("load subscriber link: %w", err)
	}
	tag := l.Data["event_tag"]
	if tag == "" || l.Status == "cancelled" {
		return providers.Result{Action: "skipped", ExternalID: l.ExternalID, Detail: "no event tag to remove; still subscribed"}, nil
	}
	subID, err1 := strconv.ParseInt(l.ExternalID, 10, 64)
	tagID, err2 := strconv.ParseInt(tag, 10, 64)
	if err1 != nil || err2 != nil {
		return providers.Result{}, permanent("bad_link", "stored subscriber link is not numeric")
	}
	if err := client(rt).UntagSubscriber(ctx, tagID, subID); err != nil {
		return providers.Result{}, err
	}
	l.Status = "cancelled"
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, fmt.Errorf("save subscriber link: %w", err)
	}
	return providers.Result{Action: "updated", ExternalID: l.ExternalID, Detail: "event tag " + tag + " removed; still subscribed"}, nil
}

// SyncObjectTypes: a sync exports registrations as subscribers.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// ExportPage sends each consenting, not-cancelled registration of the
// page to Kit as confirmed does (one upsert and its tags per record:
// Kit's bulk endpoints need OAuth, and API-key connections must work the
// same). A record Kit refuses (an address it calls invalid) is a
// per-record error; rate limits and credential failures fail the page
// and Temporal retries it (what was sent is an upsert, so nothing
// doubles).
func (*Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	s := providers.SettingsOf[Settings](rt)
	for _, o := range objs {
		var reg providers.AqioRegistration
		if err := json.Unmarshal(o.Data, &reg); err != nil {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "bad_object", Message: err.Error()})
			continue
		}
		if reg.ID == "" {
			reg.ID = o.ID
		}
		if reg.EventID == "" {
			reg.EventID = o.ParentID
		}
		if o.Status == "cancelled" || reg.Status == "cancelled" || !reg.Consented() {
			res.Skipped++
			continue
		}
		p, err := crmmap.FromRegistration(o.Data)
		if err != nil {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "no_email", Message: err.Error()})
			continue
		}
		_, created, _, err := subscribe(ctx, rt, s, reg, p)
		if err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
				res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: pe.Code, Message: pe.Message})
				continue
			}
			return res, err
		}
		if created {
			res.Created++
		} else {
			res.Updated++
		}
	}
	return res, nil
}
