package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

var (
	_ providers.Connector         = (*Connector)(nil)
	_ providers.CredentialChecker = (*Connector)(nil)
	_ providers.SettingsChecker   = (*Connector)(nil)
	_ providers.APIBaser          = (*Connector)(nil)
	_ providers.Syncer            = (*Connector)(nil)
)

// Connector is the ActiveCampaign connector.
type Connector struct {
	pace *pacer
}

// New returns the ActiveCampaign connector.
func New() *Connector { return &Connector{pace: newPacer()} }

// Info is ActiveCampaign's catalog entry: an API key (Api-Token header)
// and the account's API URL, both given at connect and checked with one
// call; 5 requests per second per account, so at most 2 requests in
// flight per connection and every request paced (see pacer).
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"registrant email address, first and last name (as a contact)", "mapped custom fields", "event tags, and list memberships only with marketing consent"},
		Type:     "activecampaign", DisplayName: "ActiveCampaign", Auth: providers.AuthAPIKey, Available: true,
		CredentialFields: []providers.CredentialField{
			{Name: "api_url", Description: "The account's API URL (Settings → Developer), e.g. https://youraccount.api-us1.com", Required: true},
			{Name: "api_key", Description: "The API key shown beside it (Settings → Developer)", Required: true, Secret: true},
		},
		APIKeyHeader: APIKeyHeader,
		RateLimit:    RateLimit,
		Concurrency:  2,
	}
}

// ParseSettings decodes, defaults and validates ActiveCampaign settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of ActiveCampaign settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads an ActiveCampaign answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// APIBase is the account's API URL (a credential field) plus /api/3.
func (*Connector) APIBase(c providers.Credentials) string {
	u, err := NormalizeAPIURL(c.Fields["api_url"])
	if err != nil {
		return ""
	}
	return u + APIPath
}

// Actions are ActiveCampaign's pushes by Aqio event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.created":   c.registered,
		"registration.confirmed": c.registered,
		"registration.cancelled": c.cancelled,
	}
}

func (c *Connector) client(rt *providers.Runtime) *Client {
	cl := &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP, Now: rt.Now}
	if c.pace != nil {
		account := rt.APIBaseURL
		cl.Pace = func(ctx context.Context) error { return c.pace.wait(ctx, account) }
	}
	return cl
}

func permanent(code, msg string) *providers.Error {
	return &providers.Error{Provider: "activecampaign", Kind: providers.KindPermanent, Code: code, Message: msg}
}

// CheckCredentials checks the API URL's form and asks the account who
// the key belongs to (GET /api/3/users/me). A refused key names
// credentials.api_key; an address that is not an ActiveCampaign API
// names credentials.api_url.
func (c *Connector) CheckCredentials(ctx context.Context, rt *providers.Runtime) error {
	if _, err := NormalizeAPIURL(rt.Credentials.Fields["api_url"]); err != nil {
		return &providers.SettingsError{Field: "credentials.api_url", Message: err.Error()}
	}
	if strings.TrimSpace(rt.Credentials.Fields["api_key"]) == "" {
		return &providers.SettingsError{Field: "credentials.api_key", Message: "is required"}
	}
	_, err := c.client(rt).Me(ctx)
	pe, ok := providers.AsError(err)
	switch {
	case err == nil:
		return nil
	case !ok:
		return err
	case pe.Kind == providers.KindAuth && pe.Code == "forbidden":
		return &providers.SettingsError{Field: "credentials.api_key", Message: "ActiveCampaign refused the API key for this account (Settings → Developer shows the account's key)"}
	case pe.Kind == providers.KindPermanent || pe.Code == "transport" || pe.Code == "invalid_url":
		return &providers.SettingsError{Field: "credentials.api_url", Message: "no ActiveCampaign API answers at this address; copy the API URL from Settings → Developer"}
	}
	return err
}

// CheckSettings checks that the lists exist and resolves the mapped
// custom fields (by id, personalization tag or title) to field ids,
// keeping the resolution as links so pushes need no lookup.
func (c *Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	cl := c.client(rt)
	for i, id := range s.ListIDs {
		if _, err := cl.List(ctx, id); err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Code == "not_found" {
				return &providers.SettingsError{Field: fmt.Sprintf("%s[%d]", fieldLists, i), Message: "ActiveCampaign has no list with id " + id}
			}
			return err
		}
	}
	if len(s.ContactFieldMapping) == 0 {
		return nil
	}
	fields, err := cl.Fields(ctx)
	if err != nil {
		return err
	}
	resolved, err := checkMapping(s.ContactFieldMapping, fields)
	if err != nil {
		return err
	}
	return saveFieldLinks(ctx, rt, resolved)
}

// persTag accepts a personalization tag as written in messages (%DIETARY%).
var persTag = regexp.MustCompile(`^%?([A-Za-z0-9_]+)%?$`)

// resolveField finds the custom field a mapping target names: its id,
// its personalization tag, or its title (case-insensitive).
func resolveField(target string, fields []Field) (Field, bool) {
	for _, f := range fields {
		if f.ID == target {
			return f, true
		}
	}
	if m := persTag.FindStringSubmatch(target); m != nil {
		for _, f := range fields {
			if f.PersTag != "" && strings.EqualFold(f.PersTag, m[1]) {
				return f, true
			}
		}
	}
	for _, f := range fields {
		if strings.EqualFold(strings.TrimSpace(f.Title), target) {
			return f, true
		}
	}
	return Field{}, false
}

// checkMapping resolves every target or names the unknown ones (the
// shared mapping message, listing the account's fields by their names).
func checkMapping(m crmmap.Mapping, fields []Field) (map[string]string, error) {
	resolved := map[string]string{}
	targets := make([]crmmap.Target, 0, len(fields))
	for _, f := range fields {
		targets = append(targets, crmmap.Target{Name: f.ID, Label: f.Title})
	}
	byID := crmmap.Mapping{}
	for src, dst := range m {
		byID[src] = dst
		if f, ok := resolveField(dst, fields); ok {
			byID[src] = f.ID
			resolved[dst] = f.ID
		}
	}
	if err := byID.CheckTargets(fieldMapping, "ActiveCampaign", targets); err != nil {
		return nil, err
	}
	return resolved, nil
}

// linkField keeps a resolved mapping target: object id the target as
// written in the settings, external id the custom field's id.
const linkField = "field"

func saveFieldLinks(ctx context.Context, rt *providers.Runtime, resolved map[string]string) error {
	for target, id := range resolved {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkField, ObjectID: target, ExternalID: id, Status: "active"}); err != nil {
			return fmt.Errorf("save field link: %w", err)
		}
	}
	return nil
}

// fieldIDs resolves the mapping's targets to custom-field ids: from the
// links saved with the settings, else (settings saved before a field was
// created, or a field renamed) from the account's field list once.
func (c *Connector) fieldIDs(ctx context.Context, rt *providers.Runtime, m crmmap.Mapping) (map[string]string, error) {
	out := map[string]string{}
	missing := false
	for _, src := range m.Keys() {
		dst := m[src]
		l, err := rt.Links.Get(ctx, linkField, dst)
		switch {
		case err == nil && l.Status == "active":
			out[dst] = l.ExternalID
		case err == nil || errors.Is(err, providers.ErrNotFound):
			missing = true
		default:
			return nil, fmt.Errorf("load field link: %w", err)
		}
	}
	if !missing {
		return out, nil
	}
	fields, err := c.client(rt).Fields(ctx)
	if err != nil {
		return nil, err
	}
	resolved, err := checkMapping(m, fields)
	if err != nil {
		var se *providers.SettingsError
		if errors.As(err, &se) {
			return nil, &providers.Error{Provider: "activecampaign", Kind: providers.KindPermanent, Code: "unknown_field", Message: se.Message, Field: se.Field}
		}
		return nil, err
	}
	if err := saveFieldLinks(ctx, rt, resolved); err != nil {
		return nil, err
	}
	return resolved, nil
}

// linkContact: registration id → contact id; linkTag: tag name
// (lower-cased) → tag id.
const (
	linkContact = "registration"
	linkTag     = "tag"
)

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

// tagID finds (and, when create, creates) a tag by name, remembering it.
func (c *Connector) tagID(ctx context.Context, rt *providers.Runtime, name string, create bool) (string, error) {
	key := strings.ToLower(name)
	if l, err := rt.Links.Get(ctx, linkTag, key); err == nil && l.Status == "active" {
		return l.ExternalID, nil
	} else if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return "", fmt.Errorf("load tag link: %w", err)
	}
	cl := c.client(rt)
	var t Tag
	if create {
		var err error
		if t, err = cl.EnsureTag(ctx, name, "Added by Aqio"); err != nil {
			return "", err
		}
	} else {
		found, ok, err := cl.FindTag(ctx, name)
		if err != nil || !ok {
			return "", err
		}
		t = found
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkTag, ObjectID: key, ExternalID: t.ID, Status: "active"}); err != nil {
		return "", fmt.Errorf("save tag link: %w", err)
	}
	return t.ID, nil
}

// tag adds a tag to a contact; a tag deleted in ActiveCampaign since it
// was remembered is created again once.
func (c *Connector) tag(ctx context.Context, rt *providers.Runtime, contactID, name string) error {
	for attempt := 0; ; attempt++ {
		id, err := c.tagID(ctx, rt, name, true)
		if err != nil {
			return err
		}
		err = c.client(rt).TagContact(ctx, contactID, id)
		pe, ok := providers.AsError(err)
		if attempt == 0 && ok && pe.Code == "not_found" && strings.Contains(pe.Message, "Tag") {
			if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkTag, ObjectID: strings.ToLower(name), ExternalID: id, Status: "deleted"}); err != nil {
				return fmt.Errorf("save tag link: %w", err)
			}
			continue
		}
		return err
	}
}

// tagNames are the tags of an event type: the event tag (for
// registrations) and the configured ones, expanded, without repeats.
func tagNames(s Settings, eventType, eventID, title string) (eventTag string, extra []string) {
	if t := s.EventTagTemplate(); t != "" && eventID != "" {
		eventTag = crmmap.ExpandTag(t, eventID, title, maxTagLen)
	}
	seen := map[string]bool{strings.ToLower(eventTag): true}
	for _, t := range s.Tags[eventType] {
		n := crmmap.ExpandTag(t, eventID, title, maxTagLen)
		if n != "" && !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			extra = append(extra, n)
		}
	}
	return eventTag, extra
}

// upsert syncs the registrant's contact (names and mapped fields) and
// records the registration → contact link.
func (c *Connector) upsert(ctx context.Context, rt *providers.Runtime, s Settings, regID string, p crmmap.Person) (Contact, error) {
	ids, err := c.fieldIDs(ctx, rt, s.ContactFieldMapping)
	if err != nil {
		return Contact{}, err
	}
	values := map[string]string{}
	for target, v := range s.ContactFieldMapping.Apply(p) {
		if id, ok := ids[target]; ok {
			values[id] = v
		}
	}
	ct, err := c.client(rt).SyncContact(ctx, ContactInput{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, FieldValues: values})
	if err != nil {
		return Contact{}, err
	}
	if regID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkContact, ObjectID: regID, ExternalID: ct.ID, Status: "active"}); err != nil {
			return ct, fmt.Errorf("save contact link: %w", err)
		}
	}
	return ct, nil
}

// registered upserts the registrant's contact, tags it with the event
// (and the tags configured for the event type) and, only when the
// registration carries marketing consent, subscribes it to the lists.
// Every step is idempotent at ActiveCampaign (upsert by email, one
// membership per list, one contactTag per tag), so a retried push adds
// nothing twice.
func (c *Connector) registered(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	if !reg.Consented() && s.WithoutConsent == WithoutConsentSkip {
		return providers.Skipped("no marketing consent: not sent to ActiveCampaign (without_consent skip)"), nil
	}
	ct, err := c.upsert(ctx, rt, s, reg.ID, person)
	if err != nil {
		return providers.Result{}, err
	}
	eventTag, extra := tagNames(s, ev.Type, reg.EventID, eventTitle(ctx, rt, reg.EventID))
	var tags []string
	if eventTag != "" {
		tags = append(tags, eventTag)
	}
	tags = append(tags, extra...)
	for _, t := range tags {
		if err := c.tag(ctx, rt, ct.ID, t); err != nil {
			return providers.Result{}, err
		}
	}
	action := "updated"
	if ct.New {
		action = "created"
	}
	detail := []string{"contact " + ct.ID + " " + action}
	if len(tags) > 0 {
		detail = append(detail, "tagged "+strings.Join(tags, ", "))
	}
	switch {
	case len(s.ListIDs) == 0:
	case !reg.Consented():
		detail = append(detail, "no marketing consent: not added to any list")
	default:
		for _, l := range s.ListIDs {
			if err := c.client(rt).Subscribe(ctx, ct.ID, l); err != nil {
				if pe, ok := providers.AsError(err); ok && pe.Code == "not_found" && strings.Contains(pe.Message, "List") {
					pe.Field = fieldLists
				}
				return providers.Result{}, err
			}
		}
		detail = append(detail, "subscribed to list "+strings.Join(s.ListIDs, ", "))
	}
	return providers.Result{Action: action, ExternalID: ct.ID, Detail: strings.Join(detail, "; ")}, nil
}

// cancelled removes the event tag from the registrant's contact and adds
// the tags configured for cancellations. It never unsubscribes anyone
// from a list: list membership is the person's marketing choice, which a
// cancelled registration does not withdraw.
func (c *Connector) cancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	eventTag, extra := tagNames(s, ev.Type, reg.EventID, eventTitle(ctx, rt, reg.EventID))
	contactID := ""
	if l, err := rt.Links.Get(ctx, linkContact, reg.ID); err == nil {
		contactID = l.ExternalID
	} else if !errors.Is(err, providers.ErrNotFound) {
		return providers.Result{}, fmt.Errorf("load contact link: %w", err)
	}
	var done []string
	if contactID != "" && eventTag != "" {
		if id, err := c.tagID(ctx, rt, eventTag, false); err != nil {
			return providers.Result{}, err
		} else if id != "" {
			removed, err := c.client(rt).UntagContact(ctx, contactID, id)
			if err != nil {
				return providers.Result{}, err
			}
			if removed {
				done = append(done, "removed tag "+eventTag)
			}
		}
	}
	if len(extra) > 0 {
		if contactID == "" {
			person, err := crmmap.FromRegistration(ev.Object)
			if err != nil {
				return providers.Skipped("registration has no usable email: " + err.Error()), nil
			}
			if !reg.Consented() && s.WithoutConsent == WithoutConsentSkip {
				return providers.Skipped("no marketing consent: not sent to ActiveCampaign (without_consent skip)"), nil
			}
			ct, err := c.upsert(ctx, rt, s, reg.ID, person)
			if err != nil {
				return providers.Result{}, err
			}
			contactID = ct.ID
		}
		for _, t := range extra {
			if err := c.tag(ctx, rt, contactID, t); err != nil {
				return providers.Result{}, err
			}
		}
		done = append(done, "tagged "+strings.Join(extra, ", "))
	}
	if len(done) == 0 {
		return providers.Skipped("nothing to change for a cancellation (lists are never left)"), nil
	}
	return providers.Result{Action: "updated", ExternalID: contactID, Detail: strings.Join(done, "; ") + "; lists unchanged"}, nil
}

// SyncObjectTypes: a sync exports registrations as contacts.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// ExportPage exports registrations one contact at a time (contact/sync
// takes one contact), exactly as a confirmed registration's push does:
// contact, event tag, lists with consent. Cancelled registrations are
// skipped; a registration ActiveCampaign refuses (an invalid email, an
// unknown field) is a record error and the page goes on.
func (c *Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	for _, o := range objs {
		if o.Status == "cancelled" {
			res.Skipped++
			continue
		}
		if _, err := crmmap.FromRegistration(o.Data); err != nil {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "no_email", Message: err.Error()})
			continue
		}
		r, err := c.registered(ctx, rt, providers.Event{ID: "sync", Type: "registration.confirmed", Object: o.Data})
		if err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
				res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: pe.Code, Message: pe.Message})
				continue
			}
			return res, err
		}
		switch r.Action {
		case "created":
			res.Created++
		case "updated":
			res.Updated++
		default:
			res.Skipped++
		}
	}
	return res, nil
}
