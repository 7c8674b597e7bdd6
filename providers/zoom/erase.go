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

// Erase deletes the subject's registrations at Zoom: first the
// registrants the connector created for the subject's registrations (by
// the registrant and meeting ids their links kept, read before the local
// erasure: this finds registrants Aqio cancelled and those of meetings
// no longer listed as scheduled), then every registrant with one of the
// subject's addresses in the connected user's scheduled meetings,
// whatever its status list (approved, pending, denied).
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	zc := client(rt)
	n, touched := 0, map[string]bool{}
	linked := 0
	for _, h := range s.Held {
		if h.Type != "registration" || h.Link == nil || h.Link.ExternalID == "" || h.Link.Data["meeting_id"] == "" {
			continue
		}
		linked++
		mid := h.Link.Data["meeting_id"]
		ok, err := zc.DeleteRegistrant(ctx, mid, h.Link.ExternalID)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		if ok {
			n++
			touched[mid] = true
		}
	}
	if len(s.Emails) == 0 && linked == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Zoom registrants are found by email and the erasure knows no address"}, nil
	}
	var meetings []ListedMeeting
	if len(s.Emails) > 0 {
		var err error
		if meetings, err = zc.ScheduledMeetings(ctx, "me"); err != nil {
			return providers.EraseOutcome{}, err
		}
	}
	for _, m := range meetings {
		id := fmt.Sprint(m.ID)
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
					touched[id] = true
				}
			}
		}
	}
	if n == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: fmt.Sprintf("no registrant with these addresses in the %d scheduled meeting(s), and none of the %d registrant(s) Aqio created is left", len(meetings), linked)}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: n,
		Detail: fmt.Sprintf("%d registrant(s) deleted from %d meeting(s)", n, len(touched))}, nil
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
