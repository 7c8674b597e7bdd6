package activecampaign

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aqio/connect/providers"
)

// FindContacts returns the ids of the contacts with an email
// (GET /contacts?email=).
func (c *Client) FindContacts(ctx context.Context, email string) ([]string, error) {
	var out struct {
		Contacts []struct {
			ID string `json:"id"`
		} `json:"contacts"`
	}
	if err := c.call(ctx, http.MethodGet, "/contacts?email="+url.QueryEscape(email), nil, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Contacts))
	for _, ct := range out.Contacts {
		ids = append(ids, ct.ID)
	}
	return ids, nil
}

// DeleteContact deletes a contact with its list memberships and tags
// (DELETE /contacts/{id}); false when it was gone already (404).
func (c *Client) DeleteContact(ctx context.Context, id string) (bool, error) {
	err := c.call(ctx, http.MethodDelete, "/contacts/"+url.PathEscape(id), nil, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// Erase deletes the subject's contacts (found by each address).
func (c *Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "ActiveCampaign contacts are found by email and the erasure knows no address"}, nil
	}
	cl := c.client(rt)
	n := 0
	for _, e := range s.Emails {
		ids, err := cl.FindContacts(ctx, e)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		for _, id := range ids {
			ok, err := cl.DeleteContact(ctx, id)
			if err != nil {
				return providers.EraseOutcome{}, err
			}
			if ok {
				n++
			}
		}
	}
	if n == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: "the account has no contact with these addresses"}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: n,
		Detail: fmt.Sprintf("%d contact(s) deleted with their list memberships and tags", n)}, nil
}
