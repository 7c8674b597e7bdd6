// Package salesforce is the Salesforce connector: registrants become
// Contacts (or Leads) upserted by an External ID field holding their
// email, each Aqio event can become a Campaign whose members' status
// follows registration and attendance, and paid registrations become one
// Opportunity per payment. It connects as an External Client App (OAuth
// authorization code with PKCE and the client secret) and calls the org's
// instance_url from the token response.
package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// Type is the integration type.
const Type = "salesforce"

var (
	_ providers.Connector       = (*Connector)(nil)
	_ providers.Authorizer      = (*Connector)(nil)
	_ providers.APIBaser        = (*Connector)(nil)
	_ providers.SettingsChecker = (*Connector)(nil)
	_ providers.Revoker         = (*Connector)(nil)
	_ providers.Syncer          = (*Connector)(nil)
)

// Connector is the Salesforce connector.
type Connector struct {
	// Usage is shared by all the connector's calls in this process (the
	// orgs' last Sforce-Limit-Info readings).
	Usage *Usage
}

// New returns the Salesforce connector.
func New() *Connector { return &Connector{Usage: &Usage{}} }

// Info is Salesforce's catalog entry: an External Client App (PKCE is
// mandatory for them, plus the client secret in the body), scopes api and
// refresh_token; token answers have no expires_in (no refresh loop: a
// session that ended answers 401 INVALID_SESSION_ID and is refreshed once)
// and carry instance_url, the API base. Refresh tokens rotate only where
// the app's policy says so; a new one is saved like any other.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"registrant email address, first and last name", "mapped registration fields (settings field mapping)", "events as Campaigns and registrations as CampaignMember statuses", "payments as Opportunities (amount, event)"},
		Type:     Type, DisplayName: "Salesforce", Auth: providers.AuthOAuth2, Available: true,
		OAuth: &providers.OAuthInfo{
			AuthURL:    "https://login.salesforce.com/services/oauth2/authorize",
			TokenURL:   "https://login.salesforce.com/services/oauth2/token",
			RevokeURL:  "https://login.salesforce.com/services/oauth2/revoke",
			ClientAuth: providers.ClientAuthBody, PKCE: true, TokensExpire: false,
			TokenExtras:   []string{"instance_url", "id"},
			DefaultScopes: []string{"api", "refresh_token"},
		},
		Concurrency: 5,
	}
}

// ParseSettings decodes, defaults and validates Salesforce settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of Salesforce settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads a Salesforce answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// Actions are Salesforce's pushes by Aqio event type.
func (c *Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.created":   c.registration,
		"registration.confirmed": c.registration,
		"registration.cancelled": c.registration,
		"payment.completed":      c.paymentCompleted,
		"event.created":          c.eventChanged,
		"event.updated":          c.eventChanged,
		"event.published":        c.eventChanged,
		"event.cancelled":        c.eventChanged,
	}
}

// APIBase is the org's instance_url from the token response.
func (*Connector) APIBase(cr providers.Credentials) string { return cr.ExtraString("instance_url") }

type noAuthKey struct{}

// Authorize sends the access token as a Bearer token, except on the
// revoke call (which carries the token in its form).
func (*Connector) Authorize(req *http.Request, cr providers.Credentials) {
	if req.Context().Value(noAuthKey{}) != nil || cr.AccessToken == "" {
		return
	}
	req.Header.Set("Authorization", "Bearer "+cr.AccessToken)
}

func (c *Connector) client(rt *providers.Runtime) *Client {
	return &Client{InstanceURL: rt.APIBaseURL, HTTP: rt.HTTP, Usage: c.Usage}
}

func permanent(code, msg string) error {
	return &providers.Error{Provider: Type, Kind: providers.KindPermanent, Code: code, Message: msg}
}

// CheckSettings checks the settings against the org: the external id
// fields exist and are External ID fields, the mapped fields exist and
// are writable (describe of the record type, Campaign, Opportunity).
func (c *Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	cl := c.client(rt)
	fields, err := cl.Describe(ctx, s.RecordType)
	if err != nil {
		return err
	}
	if err := checkExternalID(fields, s.RecordType, s.ExternalIDField, "settings.external_id_field"); err != nil {
		return err
	}
	if len(s.FieldMapping) > 0 {
		targets := make([]crmmap.Target, len(fields))
		for i, f := range fields {
			targets[i] = crmmap.Target{Name: f.Name, Label: f.Label, ReadOnly: !f.Createable || !f.Updateable}
		}
		if err := s.FieldMapping.CheckTargets(fieldMapping, "Salesforce "+s.RecordType, targets); err != nil {
			return err
		}
	}
	if s.SyncCampaigns {
		fs, err := cl.Describe(ctx, "Campaign")
		if err != nil {
			return err
		}
		if err := checkExternalID(fs, "Campaign", s.CampaignExternalIDField, "settings.campaign_external_id_field"); err != nil {
			return err
		}
	}
	if s.CreateOpportunities {
		fs, err := cl.Describe(ctx, "Opportunity")
		if err != nil {
			return err
		}
		if err := checkExternalID(fs, "Opportunity", s.OpportunityExternalIDField, "settings.opportunity_external_id_field"); err != nil {
			return err
		}
	}
	return nil
}

func checkExternalID(fields []FieldInfo, object, name, settingsField string) error {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			if !f.ExternalID {
				return &providers.SettingsError{Field: settingsField, Message: fmt.Sprintf("%s.%s is not an External ID field; mark it External ID (and Unique) in Setup", object, f.Name)}
			}
			return nil
		}
	}
	return &providers.SettingsError{Field: settingsField, Message: fmt.Sprintf("Salesforce %s has no field %q; create a text field marked External ID and Unique (see docs/integrations/salesforce.md)", object, name)}
}

// Revoke revokes the refresh token (POST /services/oauth2/revoke, form
// token). A token Salesforce no longer knows counts as revoked.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	tok := rt.Credentials.RefreshToken
	if tok == "" {
		tok = rt.Credentials.AccessToken
	}
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, noAuthKey{}, true), http.MethodPost, rt.Provider.OAuth.RevokeURL,
		strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		return permanent("invalid_url", err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, _, err = providers.Do(rt.HTTP, func(resp *http.Response, body []byte) *providers.Error {
		if resp.StatusCode == http.StatusBadRequest {
			var b struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &b) == nil && (b.Error == "invalid_token" || b.Error == "invalid_grant" || b.Error == "unsupported_token_type") {
				return nil
			}
		}
		return providers.ClassifyHTTP(Type, providers.RateLimitHeaders{}, resp, body)
	}, req)
	return err
}

// Link object types this connector keeps.
const (
	linkPerson   = "registration" // registration id → Contact/Lead id (Data["type"])
	linkMember   = "campaign_member"
	linkCampaign = "event"   // Aqio event id → Campaign id
	linkOpp      = "payment" // payment id → Opportunity id
)

// personFields are the record fields of a person: the mapped ones, then
// Email, FirstName, LastName (required: the last name, else the first,
// else the address's local part) and Company for leads.
func personFields(s Settings, p crmmap.Person) map[string]any {
	out := map[string]any{}
	for k, v := range s.FieldMapping.Apply(p) {
		out[k] = v
	}
	out["Email"] = p.Email
	if p.FirstName != "" && p.LastName != "" {
		out["FirstName"] = p.FirstName
	}
	last := p.LastName
	if last == "" {
		last = p.FirstName
	}
	if last == "" {
		last, _, _ = strings.Cut(p.Email, "@")
	}
	out["LastName"] = last
	if s.RecordType == RecordLead {
		if _, ok := out["Company"]; !ok {
			out["Company"] = s.LeadCompany
		}
	}
	return out
}

// upsertPerson upserts a person by the external id field (the email) and
// records the link of the Aqio object it came from.
func (c *Connector) upsertPerson(ctx context.Context, rt *providers.Runtime, s Settings, p crmmap.Person, regID string) (UpsertResult, error) {
	res, err := c.client(rt).Upsert(ctx, s.RecordType, s.ExternalIDField, p.Email, personFields(s, p))
	if err != nil {
		return res, err
	}
	if regID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkPerson, ObjectID: regID, ExternalID: res.ID, Status: "active", Data: map[string]string{"type": s.RecordType}}); err != nil {
			return res, fmt.Errorf("save person link: %w", err)
		}
	}
	return res, nil
}

func (c *Connector) registration(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil || reg.ID == "" {
		return providers.Result{}, permanent("bad_object", "registration object has no id")
	}
	cancelled := ev.Type == "registration.cancelled" || reg.Status == "cancelled"
	if cancelled {
		return c.cancelMember(ctx, rt, s, reg)
	}
	p, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	res, err := c.upsertPerson(ctx, rt, s, p, reg.ID)
	if err != nil {
		return providers.Result{}, err
	}
	out := providers.Result{Action: "updated", ExternalID: res.ID, Detail: s.RecordType + " " + res.ID}
	if res.Created {
		out.Action = "created"
	}
	if s.SyncCampaigns && reg.EventID != "" {
		status := s.MemberStatuses.Registered
		if reg.Attended != nil && *reg.Attended {
			status = s.MemberStatuses.Attended
		}
		detail, err := c.member(ctx, rt, s, reg, res.ID, status)
		if err != nil {
			return providers.Result{}, err
		}
		out.Detail += "; " + detail
	}
	return out, nil
}

// member makes the person a member of the event's campaign with status,
// once: the member link (or, after a lost answer, a query) finds an
// existing member, whose status is then updated if it differs.
func (c *Connector) member(ctx context.Context, rt *providers.Runtime, s Settings, reg providers.AqioRegistration, personID, status string) (string, error) {
	campaignID, err := c.ensureCampaign(ctx, rt, s, reg.EventID)
	if err != nil {
		return "", err
	}
	cl := c.client(rt)
	l, err := rt.Links.Get(ctx, linkMember, reg.ID)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return "", fmt.Errorf("load campaign member link: %w", err)
	}
	if err == nil && l.Data["campaign_id"] == campaignID {
		if l.Data["status"] == status {
			return "campaign member " + l.ExternalID + " already " + status, nil
		}
		if err := cl.Update(ctx, "CampaignMember", l.ExternalID, map[string]any{"Status": status}); err != nil {
			return "", err
		}
		return c.putMember(ctx, rt, reg.ID, l.ExternalID, campaignID, status, "campaign member "+l.ExternalID+" → "+status)
	}
	who := "ContactId"
	if s.RecordType == RecordLead {
		who = "LeadId"
	}
	id, err := cl.Create(ctx, "CampaignMember", map[string]any{"CampaignId": campaignID, who: personID, "Status": status})
	if pe, ok := providers.AsError(err); ok && pe.Code == "DUPLICATE_VALUE" {
		// Already a member (a retry after a lost answer, or added in Salesforce).
		if !recordID.MatchString(campaignID) || !recordID.MatchString(personID) {
			return "", err
		}
		recs, qerr := cl.Query(ctx, fmt.Sprintf("SELECT Id, Status FROM CampaignMember WHERE CampaignId = '%s' AND %s = '%s'", campaignID, who, personID))
		if qerr != nil {
			return "", qerr
		}
		if len(recs) == 0 {
			return "", err
		}
		id, _ = recs[0]["Id"].(string)
		if cur, _ := recs[0]["Status"].(string); cur != status {
			if err := cl.Update(ctx, "CampaignMember", id, map[string]any{"Status": status}); err != nil {
				return "", err
			}
		}
	} else if err != nil {
		return "", err
	}
	return c.putMember(ctx, rt, reg.ID, id, campaignID, status, "campaign member "+id+" "+status)
}

func (c *Connector) putMember(ctx context.Context, rt *providers.Runtime, regID, id, campaignID, status, detail string) (string, error) {
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkMember, ObjectID: regID, ExternalID: id, Status: "active",
		Data: map[string]string{"campaign_id": campaignID, "status": status}}); err != nil {
		return "", fmt.Errorf("save campaign member link: %w", err)
	}
	return detail, nil
}

// cancelMember sets a cancelled registration's campaign member to the
// cancelled status. The Contact or Lead is kept.
func (c *Connector) cancelMember(ctx context.Context, rt *providers.Runtime, s Settings, reg providers.AqioRegistration) (providers.Result, error) {
	if !s.SyncCampaigns {
		return providers.Skipped("sync_campaigns is off; the " + s.RecordType + " is kept"), nil
	}
	l, err := rt.Links.Get(ctx, linkMember, reg.ID)
	if errors.Is(err, providers.ErrNotFound) {
		return providers.Skipped("no campaign member for this registration"), nil
	}
	if err != nil {
		return providers.Result{}, fmt.Errorf("load campaign member link: %w", err)
	}
	st := s.MemberStatuses.Cancelled
	if l.Data["status"] == st {
		return providers.Result{Action: "skipped", ExternalID: l.ExternalID, Detail: "campaign member already " + st}, nil
	}
	if err := c.client(rt).Update(ctx, "CampaignMember", l.ExternalID, map[string]any{"Status": st}); err != nil {
		return providers.Result{}, err
	}
	if _, err := c.putMember(ctx, rt, reg.ID, l.ExternalID, l.Data["campaign_id"], st, ""); err != nil {
		return providers.Result{}, err
	}
	return providers.Result{Action: "updated", ExternalID: l.ExternalID, Detail: "campaign member → " + st}, nil
}

// campaignFields are the Campaign fields of an Aqio event.
func campaignFields(e providers.AqioEvent) map[string]any {
	name := strings.TrimSpace(e.Title)
	if name == "" {
		name = "Aqio event " + e.ID
	}
	if len(name) > 80 {
		name = strings.ToValidUTF8(name[:80], "")
	}
	f := map[string]any{"Name": name, "IsActive": e.Status != "cancelled", "Type": "Conference"}
	if e.Status == "cancelled" {
		f["Status"] = "Aborted"
	} else {
		f["Status"] = "Planned"
	}
	if start, end, ok := e.Times(); ok {
		f["StartDate"] = start.UTC().Format("2006-01-02")
		f["EndDate"] = end.UTC().Format("2006-01-02")
	}
	if e.Description != "" {
		f["Description"] = e.Description
	}
	return f
}

// putCampaign upserts the Campaign of an Aqio event; a new one gets the
// configured member statuses (Sent and Responded come with every
// campaign).
func (c *Connector) putCampaign(ctx context.Context, rt *providers.Runtime, s Settings, e providers.AqioEvent) (UpsertResult, error) {
	cl := c.client(rt)
	res, err := cl.Upsert(ctx, "Campaign", s.CampaignExternalIDField, e.ID, campaignFields(e))
	if err != nil {
		return res, err
	}
	l, lerr := rt.Links.Get(ctx, linkCampaign, e.ID)
	if lerr != nil && !errors.Is(lerr, providers.ErrNotFound) {
		return res, fmt.Errorf("load campaign link: %w", lerr)
	}
	if res.Created || l.Data["statuses"] != "1" {
		for i, label := range []string{s.MemberStatuses.Registered, s.MemberStatuses.Attended, s.MemberStatuses.Cancelled} {
			if label == "Sent" || label == "Responded" {
				continue
			}
			_, err := cl.Create(ctx, "CampaignMemberStatus", map[string]any{"CampaignId": res.ID, "Label": label,
				"HasResponded": label == s.MemberStatuses.Attended, "SortOrder": 10 + i})
			if pe, ok := providers.AsError(err); ok && pe.Code == "DUPLICATE_VALUE" {
				continue
			} else if err != nil {
				return res, err
			}
		}
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkCampaign, ObjectID: e.ID, ExternalID: res.ID, Status: "active", Data: map[string]string{"statuses": "1"}}); err != nil {
		return res, fmt.Errorf("save campaign link: %w", err)
	}
	return res, nil
}

// ensureCampaign returns the Campaign id of an Aqio event, upserting it
// unless it is linked already.
func (c *Connector) ensureCampaign(ctx context.Context, rt *providers.Runtime, s Settings, eventID string) (string, error) {
	if l, err := rt.Links.Get(ctx, linkCampaign, eventID); err == nil && l.Data["statuses"] == "1" {
		return l.ExternalID, nil
	} else if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return "", fmt.Errorf("load campaign link: %w", err)
	}
	e := providers.AqioEvent{ID: eventID}
	if o, err := rt.Objects.Get(ctx, "event", eventID); err == nil {
		_ = json.Unmarshal(o.Data, &e)
		e.ID = eventID
	} else if !errors.Is(err, providers.ErrNotFound) {
		return "", fmt.Errorf("load event %s: %w", eventID, err)
	}
	res, err := c.putCampaign(ctx, rt, s, e)
	return res.ID, err
}

func (c *Connector) eventChanged(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.SyncCampaigns {
		return providers.Skipped("sync_campaigns is off"), nil
	}
	var e providers.AqioEvent
	if err := ev.Decode(&e); err != nil || e.ID == "" {
		return providers.Result{}, permanent("bad_object", "event object has no id")
	}
	if ev.Type == "event.cancelled" {
		e.Status = "cancelled"
	}
	res, err := c.putCampaign(ctx, rt, s, e)
	if err != nil {
		return providers.Result{}, err
	}
	out := providers.Result{Action: "updated", ExternalID: res.ID, Detail: "campaign upserted"}
	if res.Created {
		out.Action = "created"
	}
	if e.Status == "cancelled" {
		out.Detail = "campaign marked Aborted, inactive"
	}
	return out, nil
}

// paymentCompleted upserts one Opportunity per completed payment of a
// paid event, by the payment id in the opportunity's external id field,
// so a retry or a repeated event updates the same one.
func (c *Connector) paymentCompleted(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.CreateOpportunities {
		return providers.Skipped("create_opportunities is off"), nil
	}
	var pay providers.AqioPayment
	if err := ev.Decode(&pay); err != nil || pay.ID == "" {
		return providers.Result{}, permanent("bad_object", "payment object has no id")
	}
	if pay.Amount <= 0 {
		return providers.Skipped("payment amount is 0: not a paid event"), nil
	}
	var person crmmap.Person
	if pay.RegistrationID != "" {
		if o, err := rt.Objects.Get(ctx, "registration", pay.RegistrationID); err == nil {
			person, _ = crmmap.FromRegistration(o.Data)
		}
	}
	if person.Email == "" {
		p, err := crmmap.FromRegistration(ev.Object)
		if err != nil {
			return providers.Result{}, permanent("no_email", "payment has no payer email (user_email) and its registration none either")
		}
		person = p
	}
	who, err := c.upsertPerson(ctx, rt, s, person, pay.RegistrationID)
	if err != nil {
		return providers.Result{}, err
	}
	var event providers.AqioEvent
	if pay.EventID != "" {
		if o, err := rt.Objects.Get(ctx, "event", pay.EventID); err == nil {
			_ = json.Unmarshal(o.Data, &event)
		}
	}
	title := event.Title
	if title == "" {
		title = "Aqio event " + pay.EventID
	}
	name := strings.TrimSpace(person.FirstName + " " + person.LastName)
	if name == "" {
		name = person.Email
	}
	close := now(rt)
	if t, err := time.Parse(time.RFC3339, pay.PaidAt); err == nil {
		close = t
	}
	fields := map[string]any{
		"Name": truncate(title+" — "+name, 120), "Amount": pay.Amount, "StageName": s.OpportunityStage,
		"CloseDate": close.UTC().Format("2006-01-02"), "LeadSource": "Aqio",
	}
	if s.RecordType == RecordContact {
		fields["ContactId"] = who.ID
	}
	if s.SyncCampaigns && pay.EventID != "" {
		campaignID, err := c.ensureCampaign(ctx, rt, s, pay.EventID)
		if err != nil {
			return providers.Result{}, err
		}
		fields["CampaignId"] = campaignID
	}
	res, err := c.client(rt).Upsert(ctx, "Opportunity", s.OpportunityExternalIDField, pay.ID, fields)
	if err != nil {
		return providers.Result{}, err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkOpp, ObjectID: pay.ID, ExternalID: res.ID, Status: "active", Data: map[string]string{"person_id": who.ID}}); err != nil {
		return providers.Result{}, fmt.Errorf("save opportunity link: %w", err)
	}
	out := providers.Result{Action: "updated", ExternalID: res.ID, Detail: "opportunity for " + s.RecordType + " " + who.ID}
	if res.Created {
		out.Action = "created"
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func now(rt *providers.Runtime) time.Time {
	if rt.Now != nil {
		return rt.Now()
	}
	return time.Now()
}

// SyncObjectTypes: a sync exports registrations.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// ExportPage upserts a page of registrations through sObject Collections
// (PATCH /composite/sobjects/{type}/{external id field}, at most 200 a
// call, allOrNone false): each refused record is a per-record error with
// Salesforce's code; registrants sharing an address are sent once. With
// sync_campaigns the upserted registrants then become campaign members.
// Cancelled registrations and registrants without an email are skipped.
func (c *Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	s := providers.SettingsOf[Settings](rt)
	type item struct {
		obj    providers.Object
		reg    providers.AqioRegistration
		person crmmap.Person
	}
	byEmail := map[string][]item{}
	var order []string
	for _, o := range objs {
		var reg providers.AqioRegistration
		_ = json.Unmarshal(o.Data, &reg)
		if reg.ID == "" {
			reg.ID = o.ID
		}
		if reg.EventID == "" {
			reg.EventID = o.ParentID
		}
		if o.Status == "cancelled" || reg.Status == "cancelled" {
			res.Skipped++
			continue
		}
		p, err := crmmap.FromRegistration(o.Data)
		if err != nil {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "no_email", Message: err.Error()})
			continue
		}
		if _, seen := byEmail[p.Email]; !seen {
			order = append(order, p.Email)
		}
		byEmail[p.Email] = append(byEmail[p.Email], item{o, reg, p})
	}
	cl := c.client(rt)
	for start := 0; start < len(order); start += MaxCollection {
		emails := order[start:min(start+MaxCollection, len(order))]
		records := make([]map[string]any, len(emails))
		for i, e := range emails {
			first := byEmail[e][0]
			r := personFields(s, first.person)
			r["attributes"] = map[string]any{"type": s.RecordType}
			r[s.ExternalIDField] = e
			records[i] = r
		}
		out, err := cl.UpsertCollection(ctx, s.RecordType, s.ExternalIDField, records)
		if err != nil {
			return res, err // rate limits, sessions, outages: Temporal retries the page
		}
		for i, e := range emails {
			r := out[i]
			for _, it := range byEmail[e] {
				if !r.Success {
					code, msg := "refused", "Salesforce refused the record"
					if len(r.Errors) > 0 {
						code = r.Errors[0].Code()
						msg = r.Errors[0].Message
						if len(r.Errors[0].Fields) > 0 {
							msg += " (fields: " + strings.Join(r.Errors[0].Fields, ", ") + ")"
						}
					}
					res.Errors = append(res.Errors, providers.RecordError{ObjectType: it.obj.Type, ObjectID: it.obj.ID, Code: code, Message: msg})
					continue
				}
				if r.Created {
					res.Created++
					r.Created = false // the next registrant of the address updated it
				} else {
					res.Updated++
				}
				if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkPerson, ObjectID: it.reg.ID, ExternalID: r.ID, Status: "active", Data: map[string]string{"type": s.RecordType}}); err != nil {
					return res, err
				}
				if s.SyncCampaigns && it.reg.EventID != "" {
					status := s.MemberStatuses.Registered
					if it.reg.Attended != nil && *it.reg.Attended {
						status = s.MemberStatuses.Attended
					}
					if _, err := c.member(ctx, rt, s, it.reg, r.ID, status); err != nil {
						if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
							res.Errors = append(res.Errors, providers.RecordError{ObjectType: it.obj.Type, ObjectID: it.obj.ID, Code: pe.Code, Message: pe.Message})
							continue
						}
						return res, err
					}
				}
			}
		}
	}
	return res, nil
}
