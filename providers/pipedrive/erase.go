package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// FindPersonsByEmail returns every person with an exact email (the same
// search as FindPersonByEmail, all matches).
func (c *Client) FindPersonsByEmail(ctx context.Context, email string) ([]Person, error) {
	var out struct {
		Data struct {
			Items []struct {
				Item struct {
					ID     int      `json:"id"`
					Name   string   `json:"name"`
					Emails []string `json:"emails"`
				} `json:"item"`
			} `json:"items"`
		} `json:"data"`
	}
	q := "term=" + url.QueryEscape(email) + "&fields=email&exact_match=true&limit=100"
	if err := c.call(ctx, http.MethodGet, "/api/v2/persons/search?"+q, nil, &out); err != nil {
		return nil, err
	}
	var ps []Person
	for _, it := range out.Data.Items {
		for _, e := range it.Item.Emails {
			if strings.EqualFold(e, email) {
				ps = append(ps, Person{ID: it.Item.ID, Name: it.Item.Name})
				break
			}
		}
	}
	return ps, nil
}

// DeletePerson deletes a person (DELETE /api/v2/persons/{id}; Pipedrive
// purges it after 30 days); false when it was gone already (404).
func (c *Client) DeletePerson(ctx context.Context, id int) (bool, error) {
	return c.deleteGone(ctx, "/api/v2/persons/"+strconv.Itoa(id))
}

// DeleteDeal deletes a deal (DELETE /api/v2/deals/{id}); false when it
// was gone already (404).
func (c *Client) DeleteDeal(ctx context.Context, id int) (bool, error) {
	return c.deleteGone(ctx, "/api/v2/deals/"+strconv.Itoa(id))
}

func (c *Client) deleteGone(ctx context.Context, path string) (bool, error) {
	err := c.call(ctx, http.MethodDelete, path, nil, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// Erase deletes the subject's persons (found by exact email) and the
// deals this connector created for them: their titles quote the person
// ("<event> — <name or email>", see dealTitle), and Pipedrive keeps a
// deal when its person is deleted. Other deals of the person (made by
// the organization's staff) are left alone.
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Pipedrive persons are found by email and the erasure knows no address"}, nil
	}
	c := client(rt)
	persons, deals := 0, 0
	seen := map[int]bool{}
	for _, email := range s.Emails {
		ps, err := c.FindPersonsByEmail(ctx, email)
		if err != nil {
			return providers.EraseOutcome{}, err
		}
		for _, p := range ps {
			if seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			ds, err := c.DealsOfPerson(ctx, p.ID)
			if err != nil {
				return providers.EraseOutcome{}, err
			}
			for _, d := range ds {
				if !quotes(d.Title, p.Name, s.Emails) {
					continue
				}
				ok, err := c.DeleteDeal(ctx, d.ID)
				if err != nil {
					return providers.EraseOutcome{}, err
				}
				if ok {
					deals++
				}
			}
			ok, err := c.DeletePerson(ctx, p.ID)
			if err != nil {
				return providers.EraseOutcome{}, err
			}
			if ok {
				persons++
			}
		}
	}
	if persons+deals == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: "the company has no person with these addresses"}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: persons + deals,
		Detail: fmt.Sprintf("%d person(s) and %d deal(s) created for them deleted (Pipedrive purges deleted items after 30 days)", persons, deals)}, nil
}

// quotes reports whether a deal title ends with the connector's
// " — <name>" or " — <email>" suffix for this person.
func quotes(title, name string, emails []string) bool {
	i := strings.LastIndex(title, " — ")
	if i < 0 {
		return false
	}
	who := strings.TrimSpace(title[i+len(" — "):])
	if name != "" && strings.EqualFold(who, strings.TrimSpace(name)) {
		return true
	}
	for _, e := range emails {
		if strings.EqualFold(who, e) {
			return true
		}
	}
	return false
}
