package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/models"
	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/store"
)

// runtime builds what a connector receives for one integration: parsed
// settings, decrypted credentials, the authenticated HTTP session
// (refresh-once-on-401 persists the new tokens before retrying) and the
// object, link and milestone stores.
func (a *Integrations) runtime(ctx context.Context, integ models.Integration, p providers.Provider) (*providers.Runtime, *providers.Session, error) {
	set, err := p.Connector.ParseSettings(settingsBytes(integ))
	if err != nil {
		return nil, nil, permanentSettings(err)
	}
	creds, err := a.open(integ)
	if err != nil {
		return nil, nil, err
	}
	pc := creds.public()
	sess := providers.NewSession(p.Connector, p.Info, pc)
	sess.Limit = a.limits.For(integ.ID, p.Concurrency)
	if p.Auth == providers.AuthOAuth2 && creds.Refresh != "" {
		sess.Refresh = func(ctx context.Context) (providers.Credentials, error) {
			res, err := a.refreshTokens(ctx, integ.OrganizationID, integ.ID, "expired")
			if err != nil {
				return providers.Credentials{}, err
			}
			return res.creds.public(), nil
		}
	}
	base := p.APIBaseURL
	if b, ok := p.Connector.(providers.APIBaser); ok && !p.APIBaseConfigured {
		if v := b.APIBase(pc); v != "" {
			base = v
		}
	}
	claimant := ""
	if activity.IsActivity(ctx) {
		claimant = activity.GetInfo(ctx).WorkflowExecution.ID
	}
	rt := &providers.Runtime{
		IntegrationID: integ.ID, OrganizationID: integ.OrganizationID, Provider: p, APIBaseURL: base,
		Settings: set, Credentials: pc, HTTP: sess.Client(a.HTTP),
		Objects:    objectStore{a.Store, integ.OrganizationID},
		Links:      linkStore{a.Store, integ.ID},
		Milestones: milestoneStore{a.Store, integ.ID, claimant},
		Now:        a.now,
	}
	return rt, sess, nil
}

func (c credentials) public() providers.Credentials {
	return providers.Credentials{AccessToken: c.Access, RefreshToken: c.Refresh, Fields: c.Fields, Extra: c.Extra}
}

type objectStore struct {
	s   *store.Store
	org string
}

func toObject(o models.IntegrationObject) providers.Object {
	obj := providers.Object{Type: o.ObjectType, ID: o.ObjectID, Data: json.RawMessage(o.Data), UpdatedAt: o.UpdatedAt}
	if o.ParentID != nil {
		obj.ParentID = *o.ParentID
	}
	if o.Status != nil {
		obj.Status = *o.Status
	}
	return obj
}

func (o objectStore) Get(ctx context.Context, typ, id string) (providers.Object, error) {
	row, err := o.s.GetObject(ctx, o.org, typ, id)
	if errors.Is(err, store.ErrNotFound) {
		return providers.Object{}, providers.ErrNotFound
	}
	if err != nil {
		return providers.Object{}, err
	}
	return toObject(row), nil
}

func (o objectStore) Children(ctx context.Context, typ, parent string) ([]providers.Object, error) {
	rows, err := o.s.ListChildObjects(ctx, o.org, typ, parent)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Object, len(rows))
	for i, r := range rows {
		out[i] = toObject(r)
	}
	return out, nil
}

func (o objectStore) CountActive(ctx context.Context, typ, parent string) (int, error) {
	return o.s.CountActiveChildren(ctx, o.org, typ, parent)
}

type linkStore struct {
	s     *store.Store
	integ string
}

func (l linkStore) Get(ctx context.Context, typ, id string) (providers.Link, error) {
	row, err := l.s.GetLink(ctx, l.integ, typ, id)
	if errors.Is(err, store.ErrNotFound) {
		return providers.Link{}, providers.ErrNotFound
	}
	if err != nil {
		return providers.Link{}, err
	}
	return toLink(row), nil
}

func toLink(row models.IntegrationLink) providers.Link {
	out := providers.Link{ObjectType: row.ObjectType, ObjectID: row.ObjectID, ExternalID: row.ExternalID, Status: row.Status}
	if row.ConferenceURL != nil {
		out.URL = *row.ConferenceURL
	}
	if row.Data != nil {
		_ = json.Unmarshal([]byte(*row.Data), &out.Data)
	}
	return out
}

func (l linkStore) Put(ctx context.Context, in providers.Link) error {
	row := l.row(in)
	return l.s.PutLink(ctx, &row)
}

// Claim stores the claim in the database (store.ClaimLink); a claim is
// stale ClaimTimeout after it was written.
func (l linkStore) Claim(ctx context.Context, in providers.Link, replaces string) (bool, error) {
	row := l.row(in)
	return l.s.ClaimLink(ctx, &row, l.s.Now().Add(-providers.ClaimTimeout), replaces)
}

func (l linkStore) row(in providers.Link) models.IntegrationLink {
	row := models.IntegrationLink{IntegrationID: l.integ, ObjectType: in.ObjectType, ObjectID: in.ObjectID, ExternalID: in.ExternalID, Status: in.Status}
	if row.Status == "" {
		row.Status = "active"
	}
	if in.URL != "" {
		row.ConferenceURL = &in.URL
	}
	if len(in.Data) > 0 {
		b, _ := json.Marshal(in.Data)
		s := string(b)
		row.Data = &s
	}
	return row
}

type milestoneStore struct {
	s               *store.Store
	integ, claimant string
}

func (m milestoneStore) Claim(ctx context.Context, eventID string, n int) (bool, error) {
	return m.s.ClaimMilestone(ctx, m.integ, eventID, n, m.claimant)
}

func (m milestoneStore) Posted(ctx context.Context, eventID string, n int, ts string) error {
	return m.s.MarkMilestonePosted(ctx, m.integ, eventID, n, ts)
}

// pushErrorColumns describe a failed push attempt for the activity list.
func pushErrorColumns(err error, last providers.Exchange) map[string]any {
	cols := map[string]any{"error_code": "error", "error_message": err.Error()}
	var appErr *temporal.ApplicationError
	if pe, ok := providers.AsError(err); ok {
		cols["error_code"], cols["error_message"] = pe.Code, pe.Error()
	} else if errors.As(err, &appErr) {
		cols["error_message"] = appErr.Message()
		var code string
		if appErr.HasDetails() && appErr.Details(&code) == nil && code != "" {
			cols["error_code"] = code
		} else if appErr.Type() != "" {
			cols["error_code"] = appErr.Type()
		}
	}
	addExchange(cols, last)
	return cols
}

func addExchange(cols map[string]any, last providers.Exchange) {
	if last.Status != 0 {
		cols["request"] = fmt.Sprintf("%s %s", last.Method, last.URL)
		cols["response_status"] = last.Status
		cols["response_excerpt"] = last.Excerpt
	}
}

// saveRetry retries a database write a few times within the activity
// (the write after a rotating refresh must not be given up lightly).
func saveRetry(ctx context.Context, f func() error) error {
	var err error
	delay := 50 * time.Millisecond
	for i := 0; i < 5; i++ {
		if err = f(); err == nil || errors.Is(err, store.ErrNotFound) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
	return err
}
