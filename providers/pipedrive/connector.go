package pipedrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

var (
	_ providers.Connector       = (*Connector)(nil)
	_ providers.SettingsChecker = (*Connector)(nil)
	_ providers.Revoker         = (*Connector)(nil)
	_ providers.Syncer          = (*Connector)(nil)
	_ providers.APIBaser        = (*Connector)(nil)
	_ providers.Authorizer      = (*Connector)(nil)
)

// Connector is the Pipedrive connector.
type Connector struct{}

// New returns the Pipedrive connector.
func New() *Connector { return &Connector{} }

// Info is Pipedrive's catalog entry: OAuth with the client credentials
// as HTTP Basic at the token endpoint, hour-long access tokens refreshed
// from expires_in, the company's API base from the token answer's
// api_domain; burst limits per 2 s, so at most 4 requests in flight per
// connection.
func (*Connector) Info() providers.Info {
	return providers.Info{
		DataSent: []string{"registrant email address, first and last name (as a person)", "mapped registration fields (settings person_field_mapping)", "payments as deals linked to the person (amount, currency, event)"},
		Type:     "pipedrive", DisplayName: "Pipedrive", Auth: providers.AuthOAuth2, Available: true,
		APIBaseURL: "https://api.pipedrive.com",
		OAuth: &providers.OAuthInfo{
			AuthURL:    "https://oauth.pipedrive.com/oauth/authorize",
			TokenURL:   "https://oauth.pipedrive.com/oauth/token",
			RevokeURL:  "https://oauth.pipedrive.com/oauth/revoke",
			ClientAuth: providers.ClientAuthBasic, TokensExpire: true,
			TokenExtras: []string{"api_domain"},
		},
		RateLimit:   RateLimit,
		Concurrency: 4,
	}
}

// ParseSettings decodes, defaults and validates Pipedrive settings.
func (*Connector) ParseSettings(raw []byte) (any, error) { return ParseSettings(raw) }

// SettingsSchema is the JSON Schema of Pipedrive settings.
func (*Connector) SettingsSchema() map[string]any { return settingsSchema() }

// Classify reads a Pipedrive answer (see Classify).
func (*Connector) Classify(resp *http.Response, body []byte) *providers.Error {
	return Classify(resp, body)
}

// APIBase is the company's api_domain from the token answer.
func (*Connector) APIBase(c providers.Credentials) string {
	return strings.TrimRight(c.ExtraString("api_domain"), "/")
}

// Authorize sets the bearer token unless the request already carries
// credentials (the revoke call authenticates the client with HTTP Basic).
func (*Connector) Authorize(req *http.Request, c providers.Credentials) {
	if req.Header.Get("Authorization") == "" && c.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
}

// Actions are Pipedrive's pushes by Aqio event type.
func (*Connector) Actions() map[string]providers.Action {
	return map[string]providers.Action{
		"registration.created":   registration,
		"registration.confirmed": registration,
		"payment.completed":      paymentCompleted,
	}
}

func client(rt *providers.Runtime) *Client {
	return &Client{BaseURL: rt.APIBaseURL, HTTP: rt.HTTP, Now: rt.Now}
}

func permanent(code, msg string) *providers.Error {
	return &providers.Error{Provider: "pipedrive", Kind: providers.KindPermanent, Code: code, Message: msg}
}

// Link object types.
const (
	linkPerson       = "person"       // lower-cased email → person id (the no-duplicate link)
	linkRegistration = "registration" // registration id → person id
	linkDeal         = "payment"      // payment id → deal id ("pending" while being created)
	linkField        = "field"        // mapping target as written → field key
)

// CheckSettings checks the mapped person fields against the company's
// (GET /api/v1/personFields): each must exist and be editable; the
// resolution (name → key) is kept as links.
func (*Connector) CheckSettings(ctx context.Context, rt *providers.Runtime) error {
	s := providers.SettingsOf[Settings](rt)
	if len(s.PersonFieldMapping) == 0 {
		return nil
	}
	fields, err := client(rt).PersonFields(ctx)
	if err != nil {
		return err
	}
	resolved, err := checkMapping(s.PersonFieldMapping, fields)
	if err != nil {
		return err
	}
	return saveFieldLinks(ctx, rt, resolved)
}

// checkMapping resolves every target to a field key (by key, else by
// name) or names the unknown and read-only ones (the shared message).
func checkMapping(m crmmap.Mapping, fields []Field) (map[string]string, error) {
	targets := make([]crmmap.Target, 0, len(fields))
	for _, f := range fields {
		targets = append(targets, crmmap.Target{Name: f.Key, Label: f.Name, ReadOnly: !f.EditFlag})
	}
	byKey := crmmap.Mapping{}
	resolved := map[string]string{}
	for src, dst := range m {
		byKey[src] = dst
		for _, f := range fields {
			if f.Key == dst {
				resolved[dst] = f.Key
				break
			}
		}
		if _, ok := resolved[dst]; !ok {
			for _, f := range fields {
				if strings.EqualFold(strings.TrimSpace(f.Name), dst) {
					byKey[src], resolved[dst] = f.Key, f.Key
					break
				}
			}
		}
	}
	if err := byKey.CheckTargets(mappingField, "Pipedrive", targets); err != nil {
		return nil, err
	}
	return resolved, nil
}

func saveFieldLinks(ctx context.Context, rt *providers.Runtime, resolved map[string]string) error {
	for target, key := range resolved {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkField, ObjectID: target, ExternalID: key, Status: "active"}); err != nil {
			return fmt.Errorf("save field link: %w", err)
		}
	}
	return nil
}

// fieldKeys resolves the mapping's targets to field keys: from the links
// saved with the settings, else from the company's field list once.
func fieldKeys(ctx context.Context, rt *providers.Runtime, m crmmap.Mapping) (map[string]string, error) {
	out := map[string]string{}
	missing := false
	for _, src := range m.Keys() {
		l, err := rt.Links.Get(ctx, linkField, m[src])
		switch {
		case err == nil && l.Status == "active":
			out[m[src]] = l.ExternalID
		case err == nil || errors.Is(err, providers.ErrNotFound):
			missing = true
		default:
			return nil, fmt.Errorf("load field link: %w", err)
		}
	}
	if !missing {
		return out, nil
	}
	fields, err := client(rt).PersonFields(ctx)
	if err != nil {
		return nil, err
	}
	resolved, err := checkMapping(m, fields)
	if err != nil {
		var se *providers.SettingsError
		if errors.As(err, &se) {
			return nil, &providers.Error{Provider: "pipedrive", Kind: providers.KindPermanent, Code: "unknown_field", Message: se.Message, Field: se.Field}
		}
		return nil, err
	}
	return resolved, saveFieldLinks(ctx, rt, resolved)
}

// upserted is a person found or created.
type upserted struct {
	ID      int
	Created bool
}

// upsertPerson finds the person by the email link, else by an exact
// email search, and patches it; only when neither finds one is a person
// created, and the email → person link is recorded at once, so a
// retried push never creates a second person. withFields writes the
// mapped fields and the name.
func upsertPerson(ctx context.Context, rt *providers.Runtime, s Settings, p crmmap.Person, regID string, withFields bool) (upserted, error) {
	in := PersonInput{Email: p.Email}
	if withFields {
		in.Name = strings.TrimSpace(p.FirstName + " " + p.LastName)
		keys, err := fieldKeys(ctx, rt, s.PersonFieldMapping)
		if err != nil {
			return upserted{}, err
		}
		for target, v := range s.PersonFieldMapping.Apply(p) {
			if k, ok := keys[target]; ok {
				if in.CustomFields == nil {
					in.CustomFields = map[string]string{}
				}
				in.CustomFields[k] = v
			}
		}
	}
	c := client(rt)
	res, gone, err := findAndPatch(ctx, rt, c, p.Email, in)
	if err != nil {
		return upserted{}, err
	}
	if res.ID == 0 {
		// Concurrent pushes for one email (separate workflows) all get
		// here: only the run whose claim is stored creates the person; the
		// others retry and then find it by the link.
		// (A claim is aged by the link's write time: one older than
		// providers.ClaimTimeout, of a run that died, is taken over.)
		claimed, err := rt.Links.Claim(ctx, providers.Link{ObjectType: linkPerson, ObjectID: p.Email, Status: "pending"}, gone)
		if err != nil {
			return upserted{}, fmt.Errorf("claim person link: %w", err)
		}
		if !claimed {
			return upserted{}, &providers.Error{Provider: "pipedrive", Kind: providers.KindRetryable, Code: "person_being_created",
				Message: "another push is creating the person for this email; retry finds it"}
		}
		create := in
		if create.Name == "" {
			create.Name = p.Email
		}
		person, err := c.CreatePerson(ctx, create)
		if err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Kind != providers.KindRetryable {
				// Refused (validation, rate limit, credential): nothing was
				// created, so the claim is released for the next push or
				// re-run. After a 5xx or a lost answer it stays until it is
				// stale, and the retry then searches first.
				if rerr := rt.Links.Put(ctx, providers.Link{ObjectType: linkPerson, ObjectID: p.Email, Status: "deleted"}); rerr != nil {
					return upserted{}, fmt.Errorf("release person claim: %w (after %w)", rerr, err)
				}
			}
			return upserted{}, err
		}
		res = upserted{ID: person.ID, Created: true}
	}
	id := strconv.Itoa(res.ID)
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkPerson, ObjectID: p.Email, ExternalID: id, Status: "active"}); err != nil {
		return res, fmt.Errorf("save person link: %w", err)
	}
	if regID != "" {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkRegistration, ObjectID: regID, ExternalID: id, Status: "active"}); err != nil {
			return res, fmt.Errorf("save registration link: %w", err)
		}
	}
	return res, nil
}

// findAndPatch patches the linked or found person (ID 0: none; gone is
// the linked person's id when Pipedrive no longer has it, which a new
// claim may replace).
func findAndPatch(ctx context.Context, rt *providers.Runtime, c *Client, email string, in PersonInput) (res upserted, gone string, err error) {
	patch := func(id int) (bool, error) {
		if in.Name == "" && len(in.CustomFields) == 0 {
			return true, nil
		}
		_, err := c.UpdatePerson(ctx, id, in)
		if pe, ok := providers.AsError(err); ok && pe.Code == "not_found" {
			return false, nil // deleted in Pipedrive
		}
		return err == nil, err
	}
	l, err := rt.Links.Get(ctx, linkPerson, email)
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return upserted{}, "", fmt.Errorf("load person link: %w", err)
	}
	if id, _ := strconv.Atoi(l.ExternalID); err == nil && l.Status == "active" && id > 0 {
		ok, err := patch(id)
		if err != nil || ok {
			return upserted{ID: id}, "", err
		}
		gone = l.ExternalID
	}
	found, ok, err := c.FindPersonByEmail(ctx, email)
	if err != nil || !ok {
		return upserted{}, gone, err
	}
	done, err := patch(found.ID)
	if err != nil || !done {
		return upserted{}, gone, err
	}
	return upserted{ID: found.ID}, "", nil
}

// registration makes the registrant a person (sync_contacts).
func registration(ctx context.Context, rt *providers.Runtime, ev providers.Event) (providers.Result, error) {
	s := providers.SettingsOf[Settings](rt)
	if !s.Contacts() {
		return providers.Skipped("sync_contacts is off"), nil
	}
	var reg providers.AqioRegistration
	if err := ev.Decode(&reg); err != nil {
		return providers.Result{}, permanent("bad_object", err.Error())
	}
	person, err := crmmap.FromRegistration(ev.Object)
	if err != nil {
		return providers.Skipped("registration has no usable email: " + err.Error()), nil
	}
	res, err := upsertPerson(ctx, rt, s, person, reg.ID, true)
	if err != nil {
		return providers.Result{}, err
	}
	action := "updated"
	if res.Created {
		action = "created"
	}
	return providers.Result{Action: action, ExternalID: strconv.Itoa(res.ID), Detail: "person " + action}, nil
}

// paymentCompleted creates one deal per completed payment of a paid
// event, linked to the payer's person. The payment → deal link (written
// "pending" before the create, so a retry after a lost answer looks for
// the deal on the person first) makes a repeated push a no-op.
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
	prev, err := rt.Links.Get(ctx, linkDeal, pay.ID)
	if err == nil && prev.Status == "active" {
		return providers.Result{Action: "skipped", ExternalID: prev.ExternalID, Detail: "deal already created for this payment"}, nil
	} else if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return providers.Result{}, fmt.Errorf("load deal link: %w", err)
	}
	var person crmmap.Person
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
	regID := pay.RegistrationID
	if !s.Contacts() {
		regID = ""
	}
	who, err := upsertPerson(ctx, rt, s, person, regID, s.Contacts())
	if err != nil {
		return providers.Result{}, err
	}
	var event providers.AqioEvent
	if pay.EventID != "" {
		if o, err := rt.Objects.Get(ctx, "event", pay.EventID); err == nil {
			_ = json.Unmarshal(o.Data, &event)
		}
	}
	in := DealInput{Title: dealTitle(event, pay, person), Value: pay.Amount, Currency: strings.ToUpper(pay.Currency), PersonID: who.ID,
		PipelineID: s.DealPipelineID, StageID: s.DealStageID, Status: s.DealStatus}
	c := client(rt)
	if prev.Status == "pending" {
		deals, err := c.DealsOfPerson(ctx, who.ID)
		if err != nil {
			return providers.Result{}, err
		}
		for _, d := range deals {
			if d.Title == in.Title && d.Value == in.Value {
				return dealDone(ctx, rt, pay.ID, d.ID, who.ID, "deal found after an interrupted create")
			}
		}
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkDeal, ObjectID: pay.ID, Status: "pending"}); err != nil {
		return providers.Result{}, fmt.Errorf("save deal link: %w", err)
	}
	d, err := c.CreateDeal(ctx, in)
	if err != nil {
		return providers.Result{}, err
	}
	return dealDone(ctx, rt, pay.ID, d.ID, who.ID, "")
}

func dealDone(ctx context.Context, rt *providers.Runtime, payID string, dealID, personID int, note string) (providers.Result, error) {
	id := strconv.Itoa(dealID)
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkDeal, ObjectID: payID, ExternalID: id, Status: "active",
		Data: map[string]string{"person_id": strconv.Itoa(personID)}}); err != nil {
		return providers.Result{}, fmt.Errorf("save deal link: %w", err)
	}
	detail := "deal linked to person " + strconv.Itoa(personID)
	if note != "" {
		detail = note + "; " + detail
	}
	return providers.Result{Action: "created", ExternalID: id, Detail: detail}, nil
}

func dealTitle(e providers.AqioEvent, pay providers.AqioPayment, p crmmap.Person) string {
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

// SyncObjectTypes: a sync exports registrations as persons.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// ExportPage makes each registration of the page a person, as a push
// does (Pipedrive has no batch upsert). Cancelled registrations are
// skipped; a registration Pipedrive refuses is a record error.
func (*Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	s := providers.SettingsOf[Settings](rt)
	if !s.Contacts() {
		res.Skipped = len(objs)
		return res, nil
	}
	for _, o := range objs {
		if o.Status == "cancelled" {
			res.Skipped++
			continue
		}
		p, err := crmmap.FromRegistration(o.Data)
		if err != nil {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: "no_email", Message: err.Error()})
			continue
		}
		up, err := upsertPerson(ctx, rt, s, p, o.ID, true)
		if err != nil {
			if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
				res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: pe.Code, Message: pe.Message})
				continue
			}
			return res, err
		}
		if up.Created {
			res.Created++
		} else {
			res.Updated++
		}
	}
	return res, nil
}

// Revoke revokes the refresh token (POST oauth.pipedrive.com/oauth/revoke,
// HTTP Basic client authentication, form token and token_type_hint),
// which ends the app's access for this user.
func (*Connector) Revoke(ctx context.Context, rt *providers.Runtime) error {
	tok := rt.Credentials.RefreshToken
	if tok == "" || rt.Provider.OAuth == nil || rt.Provider.OAuth.RevokeURL == "" {
		return nil
	}
	form := url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rt.Provider.OAuth.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return permanent("invalid_url", err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rt.Provider.ClientID, rt.Provider.ClientSecret)
	_, _, err = providers.Do(rt.HTTP, func(resp *http.Response, body []byte) *providers.Error {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		var b struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &b)
		if b.Error == "invalid_grant" || b.Error == "invalid_token" {
			return nil // already revoked
		}
		return Classify(resp, body)
	}, req)
	return err
}
