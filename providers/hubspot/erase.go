package hubspot

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aqio/connect/providers"
)

// GDPRDelete permanently deletes a contact and its associated content by
// email (POST /crm/v3/objects/contacts/gdpr-delete with idProperty email;
// 204). HubSpot answers 204 for an unknown address too and blocklists it,
// so the address cannot be used again in the portal.
func (c *Client) GDPRDelete(ctx context.Context, email string) error {
	body := map[string]string{"objectId": email, "idProperty": "email"}
	return c.call(ctx, http.MethodPost, "/crm/v3/objects/contacts/gdpr-delete", body, nil)
}

// Erase GDPR-deletes the subject's contacts, one call per address.
func (*Connector) Erase(ctx context.Context, rt *providers.Runtime, s providers.ErasureSubject) (providers.EraseOutcome, error) {
	if len(s.Emails) == 0 {
		return providers.EraseOutcome{Status: providers.EraseNotPossible, Detail: "HubSpot contacts are found by email and the erasure knows no address"}, nil
	}
	cl := client(rt)
	for _, e := range s.Emails {
		if err := cl.GDPRDelete(ctx, e); err != nil {
			return providers.EraseOutcome{}, err
		}
	}
	return providers.EraseOutcome{Status: providers.EraseDeleted, Deleted: len(s.Emails),
		Detail: fmt.Sprintf("GDPR delete of %d address(es): contacts and their associated content deleted, addresses blocklisted in the portal", len(s.Emails))}, nil
}
