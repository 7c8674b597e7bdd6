package zoom

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aqio/connect/providers"
)

// ScheduledMeetings lists userID's scheduled (not yet ended) meetings,
// following next_page_token.
func (c *Client) ScheduledMeetings(ctx context.Context, userID string) ([]ListedMeeting, error) {
	var all []ListedMeeting
	next := ""
	for range 100 {
		q := url.Values{"type": {"scheduled"}, "page_size": {"300"}}
		if next != "" {
			q.Set("next_page_token", next)
		}
		var page struct {
			NextPageToken string          `json:"next_page_token"`
			Meetings      []ListedMeeting `json:"meetings"`
		}
		if err := c.do(ctx, http.MethodGet, "/users/"+url.PathEscape(userID)+"/meetings", q, nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Meetings...)
		if page.NextPageToken == "" {
			break
		}
		next = page.NextPageToken
	}
	return all, nil
}

// DeleteRegistrant deletes a meeting registrant
// (DELETE /meetings/{meetingId}/registrants/{registrantId}, 204); false
// when the registrant or the meeting is gone already (404).
func (c *Client) DeleteRegistrant(ctx context.Context, meetingID, registrantID string) (bool, error) {
	err := c.do(ctx, http.MethodDelete, "/meetings/"+url.PathEscape(meetingID)+"/registrants/"+url.PathEscape(registrantID), nil, nil, http.StatusNoContent, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// registrantStatuses are the statuses "List meeting registrants" filters by.
var registrantStatuses = []string{"approved", "pending", "denied"}

// Erase deletes the subject's registrations from the connected user's
// scheduled meetings: every registrant with one of the subject's
// addresses, whatever its status list (approved, pending, denied).
// Ended meetings are not listed by Zoom and keep their registrants.
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Zoom registrants are found by email and the erasure knows no address"}, nil
	}
	zc := client(rt)
	meetings, err := zc.ScheduledMeetings(ctx, "me")
	if err != nil {
		return providers.EraseOutcome{}, err
	}
	n, touched := 0, 0
	for _, m := range meetings {
		id := fmt.Sprint(m.ID)
		hit := false
		for _, status := range registrantStatuses {
			regs, err := zc.registrants(ctx, id, status)
			if err != nil {
				if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
					break // deleted meanwhile, or registration is off (Zoom answers 404 3001 / 200 empty)
				}
				return providers.EraseOutcome{}, err
			}
			for _, r := range regs {
				if !hasEmail(s.Emails, r.Email) {
					continue
				}
				ok, err := zc.DeleteRegistrant(ctx, id, r.ID)
				if err != nil {
					return providers.EraseOutcome{}, err
				}
				if ok {
					n++
					hit = true
				}
			}
		}
		if hit {
			touched++
		}
	}
	if n == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: fmt.Sprintf("none of the %d scheduled meeting(s) has a registrant with these addresses", len(meetings))}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: n,
		Detail: fmt.Sprintf("%d registrant(s) deleted from %d scheduled meeting(s); ended meetings keep their registrants", n, touched)}, nil
}

// registrants lists a meeting's registrants of one status (all pages).
func (c *Client) registrants(ctx context.Context, meetingID, status string) ([]Registrant, error) {
	var all []Registrant
	next := ""
	for range 100 {
		q := url.Values{"page_size": {"300"}, "status": {status}}
		if next != "" {
			q.Set("next_page_token", next)
		}
		var page struct {
			NextPageToken string       `json:"next_page_token"`
			Registrants   []Registrant `json:"registrants"`
		}
		if err := c.do(ctx, http.MethodGet, "/meetings/"+url.PathEscape(meetingID)+"/registrants", q, nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Registrants...)
		if page.NextPageToken == "" {
			break
		}
		next = page.NextPageToken
	}
	return all, nil
}

func hasEmail(emails []string, e string) bool {
	for _, x := range emails {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(e)) {
			return true
		}
	}
	return false
}
