package kit

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// FindSubscriber returns the subscriber with an email
// (GET /v4/subscribers?email_address=); ok is false when there is none.
func (c *Client) FindSubscriber(ctx context.Context, email string) (Subscriber, bool, error) {
	var out struct {
		Subscribers []Subscriber `json:"subscribers"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/subscribers", url.Values{"email_address": {email}}, nil, &out); err != nil {
		return Subscriber{}, false, err
	}
	for _, s := range out.Subscribers {
		if strings.EqualFold(s.Email, email) {
			return s, true, nil
		}
	}
	return Subscriber{}, false, nil
}

// Unsubscribe unsubscribes a subscriber (POST /v4/subscribers/{id}/unsubscribe);
// false when Kit no longer knows them (404).
func (c *Client) Unsubscribe(ctx context.Context, id int64) (bool, error) {
	_, err := c.do(ctx, http.MethodPost, "/subscribers/"+strconv.FormatInt(id, 10)+"/unsubscribe", nil, map[string]any{}, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// Erase unsubscribes the subject's subscribers: Kit's API cannot delete
// a subscriber, so the outcome is not_possible (the person must be
// deleted in Kit by hand) with what was done in the detail.
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Kit subscribers are found by email and the erasure knows no address"}, nil
	}
	cl := client(rt)
	n := 0
	for _, e := range s.Emails {
		sub, ok, err := cl.FindSubscriber(ctx, e)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		if !ok {
			continue
		}
		done, err := cl.Unsubscribe(ctx, sub.ID)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		if done {
			n++
		}
	}
	if n == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: "the account has no subscriber with these addresses"}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseNotPossible,
		Detail: fmt.Sprintf("%d subscriber(s) unsubscribed (Kit's API cannot delete a subscriber): delete them in Kit (Subscribers → Delete) to erase them", n)}, nil
}
