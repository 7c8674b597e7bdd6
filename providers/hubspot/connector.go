package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Connector is the HubSpot connector.
type Connector struct{}

// New returns the HubSpot connector.
func New() *Connector { return &Connector{} }

// Scopes the app asks for: contacts (upsert, and the property list the
// mapping is checked against), deals, marketing events (attendance).
var Scopes = []string{
	"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read",
	"crm.objects.deals.write", "crm.objects.marketing_events.read", "crm.objects.marketing_events.write",
}

// Info is HubSpot's catalog entry: OAuth on the v3 token endpoint
// (client credentials in the body, PKCE), 30-minute access tokens
// refreshed from expires_in, hub_id kept; 100 requests per 10 s per
// portal, so at most 5 requests in flight per connection.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"registrant email address, first and last name (as a contact)", "mapped registration fields (settings contact_field_mapping)", "registration, attendance and cancellation per event (marketing events)", "payments as deals (amount, currency, event)"},
		Type:     "hubspot", DisplayName: "HubSpot", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://api.hubapi.com",
		OAuth: &providers.OAuthInfo{
			AuthURL:    "https://app.hubspot.com/oauth/authorize",
			TokenURL:   "https://api.hubapi.com/oauth/v3/token",
			RevokeURL:  "https://api.hubapi.com/oauth/v3/token/revoke",
			ClientAuth: providers.ClientAuthBody, PKCE: true, TokensExpire: true,
			TokenExtras:   []string{"hub_id"},
			DefaultScopes: Scopes, ScopeSeparator: " ",
		},
		RateLimit:   RateLimit,
		Concurrency: 5,
	}
}

// ParseSettings decodes, defaults and validates HubSpot settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of HubSpot settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads a HubSpot answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// Actions are HubSpot's pushes by Aqio event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.created":   registration,
		"registration.confirmed": registration,
		"registration.cancelled": registration,
		"payment.completed":      paymentCompleted,
		"event.created":          eventChanged,
		"event.updated":          eventChanged,
		"event.published":        eventChanged,
		"event.cancelled":        eventCancelled,
	}
}

func client(rt *providers.Runtime) *Client {
	return &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP, Now: rt.Now}
}

func now(rt *providers.Runtime) time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

// CheckSettings checks the mapped contact properties against the
// portal's (GET /crm/v3/properties/contacts): each must exist and be
// writable; the error names the mapping entry and every unknown property.
func (*Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	if len(s.ContactPropertyMapping) == 0 {
		return nil
	}
	props, err := client(rt).ContactProperties(ctx)
	if err != nil {
		return err
	}
	targets := make([]crmmap.Target, len(props))
	for i, p := range props {
		targets[i] = crmmap.Target{Name: p.Name, Label: p.Label, ReadOnly: p.ReadOnly}
	}
	return s.ContactPropertyMapping.CheckTargets(mappingField, "HubSpot", targets)
}

// Link object types this connector keeps.
const (
	linkContact    = "registration" // registration id → contact id
	linkAttendance = "attendance"   // registration id → marketing event; Data["state"] last recorded
	linkEvent      = "event"        // Aqio event id → marketing event (externalEventId = the Aqio id)
	linkDeal       = "payment"      // payment id → deal id
)

// contactProperties are the properties a person's upsert writes.
func contactProperties(s Settings, p crmmap.Person) map[string]string {
	props := s.ContactPropertyMapping.Apply(p)
	if p.FirstName != "" {
		props["firstname"] = p.FirstName
	}
	if p.LastName != "" {
		props["lastname"] = p.LastName
	}
	return props
}

// upsertContact upserts the person and records the contact link of the
// Aqio object it came from.
func upsertContact(ctx context.Context, rt *providers.Runtime, s Settings, p crmmap.Person, objectType, objectID string) (UpsertedContact, error) {
	res, err := client(rt).UpsertContacts(ctx, []ContactInput{{Email: p.Email, Properties: contactProperties(s, p)}})
	if err != nil {
		return UpsertedContact{}, err
	}
	if len(res) != 1 {
		return UpsertedContact{}, &providers.Error{Provider: "hubspot", Kind: providers.KindRetryable, Code: "bad_response", Message: fmt.Sprintf("upsert answered %d results for 1 input", len(res))}
	}
	if objectID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: objectType, ObjectID: objectID, ExternalID: res[0].ID, Status: "active"}); err != nil {
			return res[0], fmt.Errorf("save contact link: %w", err)
		}
	}
	return res[0], nil
}

func permanent(code, msg string) error {
	return &providers.Error{Provider: "hubspot", Kind: providers.KindPermanent, Code: code, Message: msg}
}

// registration upserts the registrant (sync_contacts) and records its
// state in the event's marketing event (sync_event_attendance):
// register when created or confirmed, attend once Aqio marks it attended,
// cancel when cancelled. A state already recorded is not sent again.
func registration(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	res := providers.Skipped("contact sync and attendance are off")
	var done []string
	if s.Contacts() && ev.Type != "registration.cancelled" {
		c, err := upsertContact(ctx, rt, s, person, linkContact, reg.ID)
		if err != nil {
			return providers.Result{}, err
		}
		action := "updated"
		if c.New {
			action = "created"
		}
		res = providers.Result{Action: action, ExternalID: c.ID}
		done = append(done, "contact "+c.ID+" "+action)
	}
	if s.SyncEventAttendance && reg.EventID != "" {
		state := StateRegister
		switch {
		case ev.Type == "registration.cancelled" || reg.Status == "cancelled":
			state = StateCancel
		case reg.Attended != nil && *reg.Attended:
			state = StateAttend
		}
		recorded, err := recordState(ctx, rt, reg, person.Email, state, ev)
		if err != nil {
			return providers.Result{}, err
		}
		if recorded != "" {
			if res.Action == "skipped" {
				res = providers.Result{Action: "updated", ExternalID: reg.EventID}
			}
			done = append(done, recorded)
		}
	}
	if len(done) > 0 {
		res.Detail = strings.Join(done, "; ")
	}
	return res, nil
}

// recordState records a registrant's marketing-event state once.
func recordState(ctx context.Context, rt *providers.Runtime, reg providers.AqioRegistration, email, state string, ev providers.Event) (string, error) {
	prev, err := rt.Links.Get(ctx, linkAttendance, reg.ID)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return "", fmt.Errorf("load attendance link: %w", err)
	}
	if prev.Data["state"] == state {
		return "", nil
	}
	if state == StateCancel && prev.Data["state"] == "" {
		return "", nil // nothing was recorded to cancel
	}
	if err := ensureMarketingEvent(ctx, rt, reg.EventID); err != nil {
		return "", err
	}
	at := now(rt)
	if ev.Created > 0 {
		at = time.Unix(ev.Created, 0)
	}
	if err := client(rt).RecordParticipation(ctx, rt.OrganizationID, reg.EventID, state, email, at); err != nil {
		return "", err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkAttendance, ObjectID: reg.ID, ExternalID: reg.EventID, Status: "active", Data: map[string]string{"state": state}}); err != nil {
		return "", fmt.Errorf("save attendance link: %w", err)
	}
	return "attendance " + state, nil
}

// marketingEvent is the HubSpot marketing event of an Aqio event.
func marketingEvent(orgID string, e providers.AqioEvent) MarketingEvent {
	me := MarketingEvent{
		ExternalAccountID: orgID, ExternalEventID: e.ID, EventName: e.Title, EventOrganizer: "Aqio",
		EventURL: e.URL, EventDescription: e.Description, EventCancelled: e.Status == "cancelled",
	}
	if me.EventName == "" {
		me.EventName = "Aqio event " + e.ID
	}
	switch e.LocationType {
	case "virtual":
		me.EventType = "Virtual"
	case "hybrid":
		me.EventType = "Hybrid"
	case "in_person":
		me.EventType = "In person"
	}
	if start, end, ok := e.Times(); ok {
		me.StartDateTime, me.EndDateTime = start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)
	}
	return me
}

// ensureMarketingEvent upserts the Aqio event's marketing event unless
// it is already linked.
func ensureMarketingEvent(ctx context.Context, rt *providers.Runtime, eventID string) error {
	if _, err := rt.Links.Get(ctx, linkEvent, eventID); err == nil {
		return nil
	} else if !errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("load event link: %w", err)
	}
	e := providers.AqioEvent{ID: eventID}
	if o, err := rt.Objects.Get(ctx, "event", eventID); err == nil {
		_ = json.Unmarshal(o.Data, &e)
		e.ID = eventID
	} else if !errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("load event %s: %w", eventID, err)
	}
	return putMarketingEvent(ctx, rt, e)
}

func putMarketingEvent(ctx context.Context, rt *providers.Runtime, e providers.AqioEvent) error {
	if err := client(rt).UpsertMarketingEvent(ctx, marketingEvent(rt.OrganizationID, e)); err != nil {
		return err
	}
	status := "active"
	if e.Status == "cancelled" {
		status = "deleted"
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkEvent, ObjectID: e.ID, ExternalID: e.ID, Status: status}); err != nil {
		return fmt.Errorf("save event link: %w", err)
	}
	return nil
}

// eventChanged keeps the marketing event of an Aqio event up to date
// once attendance is recorded for it (or for every event when
// sync_event_attendance is on and the event is new).
func eventChanged(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.SyncEventAttendance {
		return providers.Skipped("sync_event_attendance is off"), nil
	}
	var e providers.AqioEvent
	if err := ev.Decode(&e); err != nil || e.ID == "" {
		return providers.Result{}, permanent("bad_object", "event object has no id")
	}
	if err := putMarketingEvent(ctx, rt, e); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "updated", ExternalID: e.ID, Detail: "marketing event upserted"}, nil
}

// eventCancelled marks the marketing event cancelled.
func eventCancelled(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.SyncEventAttendance {
		return providers.Skipped("sync_event_attendance is off"), nil
	}
	var e providers.AqioEvent
	if err := ev.Decode(&e); err != nil || e.ID == "" {
		return providers.Result{}, permanent("bad_object", "event object has no id")
	}
	l, err := rt.Links.Get(ctx, linkEvent, e.ID)
	if errors.Is(err, providers.ErrNotFound) {
		return providers.Skipped("no marketing event for this event"), nil
	}
	if err != nil {
		return providers.Result{}, fmt.Errorf("load event link: %w", err)
	}
	if l.Status == "deleted" {
		return providers.Skipped("marketing event already cancelled"), nil
	}
	if err := client(rt).CancelMarketingEvent(ctx, rt.OrganizationID, e.ID); err != nil {
		return providers.Result{}, err
	}
	l.Status = "deleted"
	if err := rt.Links.Put(ctx, l); err != nil {
		return providers.Result{}, fmt.Errorf("save event link: %w", err)
	}
	return providers.Result{Action: "updated", ExternalID: e.ID, Detail: "marketing event cancelled"}, nil
}

// paymentCompleted creates one deal per completed payment of a paid
// event, associated with the payer's contact (upserted by email). The
// payment → deal link makes a retried or repeated push a no-op.
func paymentCompleted(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.CreateDealsForPaidEvents {
		return providers.Skipped("create_deals_for_paid_events is off"), nil
	}
	var pay providers.AqioPayment
	if err := ev.Decode(&pay); err != nil || pay.ID == "" {
		return providers.Result{}, permanent("bad_object", "payment object has no id")
	}
	if pay.Amount <= 0 {
		return providers.Skipped("payment amount is 0: not a paid event"), nil
	}
	if l, err := rt.Links.Get(ctx, linkDeal, pay.ID); err == nil {
		return providers.Result{Action: "skipped", ExternalID: l.ExternalID, Detail: "deal already created for this payment"}, nil
	} else if !errors.Is(err, providers.ErrNotFound) {
		return providers.Result{}, fmt.Errorf("load deal link: %w", err)
	}
	// The payer: the registration's person when Aqio knows it (names and
	// mapped fields), else the payment's email.
	var person crmmap.Person
	var err error
	if pay.RegistrationID != "" {
		if o, gerr := rt.Objects.Get(ctx, "registration", pay.RegistrationID); gerr == nil {
			person, err = crmmap.FromRegistration(o.Data)
		}
	}
	if person.Email == "" {
		person, err = crmmap.FromRegistration(ev.Object)
	}
	if err != nil || person.Email == "" {
		return providers.Result{}, permanent("no_email", "payment has no payer email (user_email) and its registration none either")
	}
	regLink := pay.RegistrationID
	if !s.Contacts() {
		// Only identify the contact; do not write mapped fields.
		s.ContactPropertyMapping = nil
		person.FirstName, person.LastName = "", ""
		regLink = ""
	}
	contact, err := upsertContact(ctx, rt, s, person, linkContact, regLink)
	if err != nil {
		return providers.Result{}, err
	}
	var event providers.AqioEvent
	if pay.EventID != "" {
		if o, err := rt.Objects.Get(ctx, "event", pay.EventID); err == nil {
			_ = json.Unmarshal(o.Data, &event)
		}
	}
	props := map[string]string{
		"dealname":           dealName(event, pay, person),
		"amount":             strconv.FormatFloat(pay.Amount, 'f', -1, 64),
		"deal_currency_code": strings.ToUpper(pay.Currency),
		"pipeline":           s.DealPipeline,
		"dealstage":          s.DealStage,
	}
	if t, err := time.Parse(time.RFC3339, pay.PaidAt); err == nil {
		props["closedate"] = t.UTC().Format(time.RFC3339)
	}
	id, err := client(rt).CreateDeal(ctx, DealInput{Properties: props, ContactID: contact.ID})
	if err != nil {
		return providers.Result{}, err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkDeal, ObjectID: pay.ID, ExternalID: id, Status: "active", Data: map[string]string{"contact_id": contact.ID}}); err != nil {
		return providers.Result{}, fmt.Errorf("save deal link: %w", err)
	}
	return providers.Result{Action: "created", ExternalID: id, Detail: "deal associated with contact " + contact.ID}, nil
}

func dealName(e providers.AqioEvent, pay providers.AqioPayment, p crmmap.Person) string {
	title := e.Title
	if title == "" {
		title = "Aqio event"
		if pay.EventID != "" {
			title += " " + pay.EventID
		}
	}
	who := strings.TrimSpace(p.FirstName + " " + p.LastName)
	if who == "" {
		who = p.Email
	}
	return title + " — " + who
}

// Revoke revokes the refresh token (POST /oauth/v3/token/revoke, form
// token, token_type_hint, client_id, client_secret). A token HubSpot no
// longer knows counts as revoked.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	tok := rt.Credentials.RefreshToken
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	form := url.Values{"token": {tok}, "token_type_hint": {"refresh_token"},
		"client_id": {rt.Provider.ClientID}, "client_secret": {rt.Provider.ClientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rt.Provider.OAuth.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return permanent("invalid_url", err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, _, err = providers.Do(rt.HTTP, func(resp *http.Response, body []byte) *providers.Error {
		if resp.StatusCode == http.StatusNotFound || (resp.StatusCode == http.StatusBadRequest && deadToken(body)) {
			return nil
		}
		return Classify(resp, body)
	}, req)
	return err
}

// deadToken reports a token-endpoint error saying the token is unknown.
func deadToken(body []byte) bool {
	var b struct {
		Error    string `json:"error"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Error == "invalid_grant" || b.Error == "invalid_token" || b.Status == "BAD_REFRESH_TOKEN" || b.Category == "BAD_REFRESH_TOKEN"
}

// TokenTransport turns HubSpot's token-endpoint errors
// ({"status":"BAD_REFRESH_TOKEN","message":…}) into OAuth 2.0 error
// bodies ({"error":"invalid_grant"}) so golang.org/x/oauth2 reports a
// classifiable code: a dead refresh token means reconnecting.
func (*Connector) TokenTransport(next http.RoundTripper) http.RoundTripper {
	return tokenTransport{next: next}
}

type tokenTransport struct{ next http.RoundTripper }

var tokenErrorCodes = map[string]string{
	"BAD_REFRESH_TOKEN": "invalid_grant", "BAD_AUTH_CODE": "invalid_grant", "EXPIRED_AUTH_CODE": "invalid_grant",
	"BAD_CLIENT_ID": "invalid_client", "BAD_CLIENT_SECRET": "invalid_client", "BAD_REDIRECT_URI": "invalid_grant",
	"BAD_GRANT_TYPE": "unsupported_grant_type",
}

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, providers.MaxBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var b map[string]any
	if json.Unmarshal(body, &b) == nil && b["error"] == nil {
		status, _ := b["status"].(string)
		if status == "error" || status == "" {
			status, _ = b["category"].(string)
		}
		if code, ok := tokenErrorCodes[status]; ok {
			msg, _ := b["message"].(string)
			body, _ = json.Marshal(map[string]string{"error": code, "error_description": status + ": " + msg})
			resp.Header.Set("Content-Type", "application/json")
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}
