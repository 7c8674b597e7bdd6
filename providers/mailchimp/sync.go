package mailchimp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aqio/connect/providers"
	"github.com/aqio/connect/providers/crmmap"
)

// SyncObjectTypes: a sync exports registrations as audience members.
func (*Connector) SyncObjectTypes() []string { return []string{"registration"} }

// batchPendingDelay is how long a page waits before looking at a batch
// that is still running again.
const batchPendingDelay = 10 * time.Second

// ExportPage exports a page of registrations through Mailchimp's batch
// endpoint, by the same rules as the pushes (status_if_new by consent,
// mapped merge fields, the event tag): one batch upserts the members,
// a second tags them (and moves transactional contacts who have since
// opted in to the settings' status). Each batch is polled until finished
// and its results archive read, so a member Mailchimp refuses is one
// record error and the rest go through. A batch still running after the
// client's MaxWait fails the page as rate limited; the retried page finds
// the batch again through its link instead of submitting a second one.
// Cancelled registrations, and registrants without consent when the
// settings skip them, are skipped.
func (c *Connector) ExportPage(ctx context.Context, rt *providers.Runtime, objs []providers.Object) (providers.PageResult, error) {
	var res providers.PageResult
	s := providers.SettingsOf[Settings](rt)
	if s.AudienceID == "" {
		return res, noAudience()
	}
	type item struct {
		obj    providers.Object
		reg    providers.AqioRegistration
		person crmmap.Person
		known  bool
		member Member
	}
	var items []*item
	recordErr := func(o providers.Object, code, msg string) {
		res.Errors = append(res.Errors, providers.RecordError{ObjectType: o.Type, ObjectID: o.ID, Code: code, Message: msg})
	}
	for _, o := range objs {
		var reg providers.AqioRegistration
		if err := json.Unmarshal(o.Data, &reg); err != nil {
			recordErr(o, "bad_object", err.Error())
			continue
		}
		if o.Status == "cancelled" || reg.Status == "cancelled" {
			res.Skipped++
			continue
		}
		p, err := crmmap.FromRegistration(o.Data)
		if err != nil {
			recordErr(o, "no_email", err.Error())
			continue
		}
		if _, ok := memberInput(s, reg, p); !ok {
			res.Skipped++
			continue
		}
		_, err = rt.Links.Get(ctx, linkMember, o.ID)
		if err != nil && !errors.Is(err, providers.ErrNotFound) {
			return res, fmt.Errorf("load member link: %w", err)
		}
		items = append(items, &item{obj: o, reg: reg, person: p, known: err == nil})
	}
	if len(items) == 0 {
		return res, nil
	}
	cl, err := c.client(ctx, rt)
	if err != nil {
		return res, err
	}
	key := pageKey(s.AudienceID, objs)

	ops := make([]Operation, 0, len(items))
	for _, it := range items {
		in, _ := memberInput(s, it.reg, it.person)
		body, _ := json.Marshal(in)
		ops = append(ops, Operation{Method: http.MethodPut, Path: MemberPath(s.AudienceID, it.person.Email), Body: string(body), OperationID: "member:" + it.obj.ID})
	}
	results, err := c.runBatch(ctx, rt, cl, key+":members", ops)
	if err != nil {
		return res, err
	}
	titles := map[string]string{}
	var upserted []*item
	var second []Operation
	for _, it := range items {
		r, ok := results["member:"+it.obj.ID]
		switch {
		case !ok:
			recordErr(it.obj, "missing_result", "Mailchimp's batch results have no answer for this member")
			continue
		case r.StatusCode >= 300:
			p := r.Problem()
			recordErr(it.obj, p.Code(), p.Message())
			continue
		}
		_ = json.Unmarshal([]byte(r.Response), &it.member)
		upserted = append(upserted, it)
		if it.reg.Consented() && it.member.Status == StatusTransactional {
			body, _ := json.Marshal(MemberInput{Email: it.person.Email, StatusIfNew: s.StatusIfNew, Status: s.StatusIfNew})
			second = append(second, Operation{Method: http.MethodPut, Path: MemberPath(s.AudienceID, it.person.Email), Body: string(body), OperationID: "status:" + it.obj.ID})
		}
		title, seen := titles[it.reg.EventID]
		if !seen {
			title = eventTitle(ctx, rt, it.reg.EventID)
			titles[it.reg.EventID] = title
		}
		if tags := tagChanges(s, "registration.confirmed", it.reg.EventID, title); len(tags) > 0 {
			body, _ := json.Marshal(TagsBody{Tags: tags, IsSyncing: true})
			second = append(second, Operation{Method: http.MethodPost, Path: MemberPath(s.AudienceID, it.person.Email) + "/tags", Body: string(body), OperationID: "tags:" + it.obj.ID})
		}
	}
	if len(second) > 0 {
		results2, err := c.runBatch(ctx, rt, cl, key+":tags", second)
		if err != nil {
			return res, err
		}
		kept := upserted[:0]
		for _, it := range upserted {
			failed := false
			for _, op := range []string{"status:", "tags:"} {
				if r, ok := results2[op+it.obj.ID]; ok && r.StatusCode >= 300 {
					p := r.Problem()
					recordErr(it.obj, p.Code(), p.Message())
					failed = true
					break
				} else if ok && op == "status:" {
					_ = json.Unmarshal([]byte(r.Response), &it.member)
				}
			}
			if !failed {
				kept = append(kept, it)
			}
		}
		upserted = kept
	}
	for _, it := range upserted {
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkMember, ObjectID: it.obj.ID, ExternalID: SubscriberHash(it.person.Email), Status: "active",
			Data: map[string]string{"audience_id": s.AudienceID, "status": it.member.Status}}); err != nil {
			return res, fmt.Errorf("save member link: %w", err)
		}
		if it.known {
			res.Updated++
		} else {
			res.Created++
		}
	}
	return res, nil
}

// pageKey identifies a page's objects (and the audience) so a retried
// page finds the batch it submitted.
func pageKey(audience string, objs []providers.Object) string {
	h := sha256.New()
	h.Write([]byte(audience))
	for _, o := range objs {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%d", o.Type, o.ID, o.UpdatedAt.UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// runBatch submits ops as one batch (or resumes the batch a previous
// attempt of the page submitted), waits for it, and returns its results
// by operation id.
func (c *Connector) runBatch(ctx context.Context, rt *providers.Runtime, cl *Client, key string, ops []Operation) (map[string]OperationResult, error) {
	var b Batch
	l, err := rt.Links.Get(ctx, linkBatch, key)
	switch {
	case err == nil && l.Status == "pending":
		b, err = cl.GetBatch(ctx, l.ExternalID)
		if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
			b, err = Batch{}, nil
		}
		if err != nil {
			return nil, err
		}
	case err != nil && !errors.Is(err, providers.ErrNotFound):
		return nil, fmt.Errorf("load batch link: %w", err)
	}
	if b.ID == "" {
		if b, err = cl.CreateBatch(ctx, ops); err != nil {
			return nil, err
		}
		if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkBatch, ObjectID: key, ExternalID: b.ID, Status: "pending"}); err != nil {
			return nil, fmt.Errorf("save batch link: %w", err)
		}
	}
	if !b.Finished() {
		if b, err = cl.WaitBatch(ctx, b.ID); err != nil {
			return nil, err
		}
	}
	if !b.Finished() {
		return nil, &providers.Error{Provider: "mailchimp", Kind: providers.KindRateLimited, Code: "batch_pending", RetryAfter: batchPendingDelay,
			Message: fmt.Sprintf("batch %s is %s (%d of %d operations done); the page resumes it", b.ID, b.Status, b.FinishedOperations, b.TotalOperations)}
	}
	results, err := cl.BatchResults(ctx, b.ResponseBodyURL)
	if err != nil {
		return nil, err
	}
	if err := rt.Links.Put(ctx, providers.Link{ObjectType: linkBatch, ObjectID: key, ExternalID: b.ID, Status: "done"}); err != nil {
		return nil, fmt.Errorf("save batch link: %w", err)
	}
	out := make(map[string]OperationResult, len(results))
	for _, r := range results {
		out[r.OperationID] = r
	}
	return out, nil
}
