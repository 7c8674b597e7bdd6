package hubspot

import (
	"context"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

var (
	_ providers.Connector        = (*Connector)(nil)
	_ providers.SettingsChecker  = (*Connector)(nil)
	_ providers.Revoker          = (*Connector)(nil)
	_ providers.Syncer           = (*Connector)(nil)
	_ providers.TokenTransporter = (*Connector)(nil)
)

// SyncObjectTypes: a sync exports registrations as contacts.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// ExportPage upserts a page of registrations as contacts, 100 per batch
// call. HubSpot refuses a whole batch when one input is invalid, so a
// refused batch is retried one contact at a time and only the refused
// registrations are reported. Cancelled registrations and registrants
// without an email are skipped. With sync_contacts off nothing is sent.
func (*Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	s := providers.SettingsOf[Settings](rt)
	if !s.Contacts() {
		res.Skipped = len(objs)
		return res, nil
	}
	type item struct {
		obj    providers.Object
		person crmmap.Person
	}
	var items []item
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
		items = append(items, item{o, p})
	}
	c := client(rt)
	for start := 0; start < len(items); start += MaxBatch {
		batch := items[start:min(start+MaxBatch, len(items))]
		inputs := make([]ContactInput, len(batch))
		for i, it := range batch {
			inputs[i] = ContactInput{Email: it.person.Email, Properties: contactProperties(s, it.person)}
		}
		out, err := c.UpsertContacts(ctx, inputs)
		if err == nil {
			if err := linkBatch(ctx, rt, len(batch), out, &res, func(i int) (providers.Object, string) { return batch[i].obj, batch[i].person.Email }); err != nil {
				return res, err
			}
			continue
		}
		pe, ok := providers.AsError(err)
		if !ok || pe.Kind != providers.KindPermanent {
			return res, err // rate limits, credentials, outages: Temporal retries the page
		}
		for _, it := range batch {
			one, err := c.UpsertContacts(ctx, []ContactInput{{Email: it.person.Email, Properties: contactProperties(s, it.person)}})
			if err != nil {
				if pe, ok := providers.AsError(err); ok && pe.Kind == providers.KindPermanent {
					res.Errors = append(res.Errors, providers.RecordError{ObjectType: it.obj.Type, ObjectID: it.obj.ID, Code: pe.Code, Message: pe.Message})
					continue
				}
				return res, err
			}
			if err := linkBatch(ctx, rt, 1, one, &res, func(int) (providers.Object, string) { return it.obj, it.person.Email }); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// linkBatch records the contact links of upserted results (matched by
// email; the batch answer's order is not guaranteed) and counts them.
func linkBatch(ctx context.Context, rt *providers.Runtime, n int, out []UpsertedContact, res *providers.PageResult, at func(int) (providers.Object, string)) error {
	byEmail := map[string]UpsertedContact{}
	for _, u := range out {
		byEmail[u.Email] = u
	}
	for i := 0; i < n; i++ {
		obj, email := at(i)
		u, ok := byEmail[email]
		if !ok {
			res.Errors = append(res.Errors, providers.RecordError{ObjectType: obj.Type, ObjectID: obj.ID, Code: "missing_result", Message: "HubSpot answered no result for this contact"})
			continue
		}
		if u.New {
			res.Created++
		} else {
			res.Updated++
		}
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkContact, ObjectID: obj.ID, ExternalID: u.ID, Status: "active"}); err != nil {
			return err
		}
	}
	return nil
}
