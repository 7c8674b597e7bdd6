package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aqio/connect/providers"
)

// Delete deletes a record (DELETE /sobjects/{SObject}/{id}, 204; it goes
// to the org's Recycle Bin); false when it was gone already (404).
func (c *Client) Delete(ctx context.Context, object, id string) (bool, error) {
	_, err := c.do(ctx, http.MethodDelete, "/sobjects/"+url.PathEscape(object)+"/"+url.PathEscape(id), nil, nil)
	if pe, ok := providers.AsError(err); ok && pe.Status == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// soql quotes a SOQL string literal.
func soql(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + "'"
}

// soqlLike quotes a LIKE pattern matching names ending in " — <who>"
// (who's % and _ are literal).
func soqlLike(who string) string {
	lit := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `%`, `\%`, `_`, `\_`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(" — " + who)
	return "'%" + lit + "'"
}

func recordIDs(recs []map[string]any) (ids, names []string) {
	for _, r := range recs {
		if id, _ := r["Id"].(string); id != "" {
			ids = append(ids, id)
			n, _ := r["Name"].(string)
			names = append(names, n)
		}
	}
	return ids, names
}

// Erase deletes the subject's Contacts and Leads (found by Email, whatever
// the record type setting is now) and the Opportunities this connector
// created for them (LeadSource Aqio, linked by ContactId or quoting their
// name or address in the Name: "<event> — <name>"). Their campaign
// memberships go with them.
func (c *Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "Salesforce contacts and leads are found by email and the erasure knows no address"}, nil
	}
	cl := c.client(rt)
	people, opps := 0, 0
	seen := map[string]bool{}
	for _, email := range s.Emails {
		for _, object := range []string{RecordContact, RecordLead} {
			recs, err := cl.Query(ctx, "SELECT Id, Name FROM "+object+" WHERE Email = "+soql(email))
			if err != nil {
				return providers.EraseOutcome{}, err
			}
			ids, names := recordIDs(recs)
			for i, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				cond := []string{"Name LIKE " + soqlLike(email)}
				if object == RecordContact {
					cond = append(cond, "ContactId = "+soql(id))
				}
				if n := strings.TrimSpace(names[i]); n != "" {
					cond = append(cond, "Name LIKE "+soqlLike(n))
				}
				orecs, err := cl.Query(ctx, "SELECT Id FROM Opportunity WHERE LeadSource = 'Aqio' AND ("+strings.Join(cond, " OR ")+")")
				if err != nil {
					return providers.EraseOutcome{}, err
				}
				oids, _ := recordIDs(orecs)
				for _, oid := range oids {
					if seen[oid] {
						continue
					}
					seen[oid] = true
					ok, err := cl.Delete(ctx, "Opportunity", oid)
					if err != nil {
						return providers.EraseOutcome{}, err
					}
					if ok {
						opps++
					}
				}
				ok, err := cl.Delete(ctx, object, id)
				if err != nil {
					return providers.EraseOutcome{}, err
				}
				if ok {
					people++
				}
			}
		}
	}
	if people+opps == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotFound, Detail: "the org has no contact or lead with these addresses"}, nil
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: people + opps,
		Detail: fmt.Sprintf("%d contact(s)/lead(s) with their campaign memberships and %d opportunity(ies) created for them deleted (Salesforce keeps deleted records in the Recycle Bin for 15 days)", people, opps)}, nil
}
