package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aqio/connect/providers"
)

// DeletePermanent permanently deletes a member of an audience
// (POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent;
// 204). The address cannot be re-imported afterwards, only re-subscribed
// by the person. It reports false when the audience has no such member (404).
func (c *Client) DeletePermanent(ctx context.Context, listID, email string) (bool, error) {
	err := c.call(ctx, http.MethodPost, MemberPath(listID, email)+"/actions/delete-permanent", nil, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// Erase permanently deletes the subject's members from the configured audience.
func (c *Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	set := providers.SettingsOf[Settings](rt)
	if set.AudienceID == "" {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "no audience is configured, so Aqio never added anyone"}, nil
	}
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Mailchimp members are found by email and the erasure knows no address"}, nil
	}
	cl, err := c.client(ctx, rt)
	if err != nil {
		return providers.EraseOutcome{}, err
	}
	n := 0
	for _, e := range s.Emails {
		ok, err := cl.DeletePermanent(ctx, set.AudienceID, e)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		if ok {
			n++
		}
	}
	if n == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: "audience " + url.PathEscape(set.AudienceID) + " has no member with these addresses"}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: n,
		Detail: fmt.Sprintf("%d member(s) permanently deleted from audience %s", n, set.AudienceID)}, nil
}
