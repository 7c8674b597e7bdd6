package activities

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

// The audit entries of connections and disconnects are written by the
// activities that save or delete the integration row, in the same
// transaction (store.SaveConnection, store.DeleteIntegration): a change
// never lands without its entry, nor an entry without its change. Who
// asked is read from the rows (the authorization state, the disconnect
// request), never from workflow input, so no address enters history.

// oauthConnectEntry is the entry of an OAuth connect: the actor is the
// user the connection is for, at the callback (its address and request
// id); the authorize call's actor, address and request id are in
// details.authorize.
func oauthConnectEntry(st models.IntegrationOAuthState, now time.Time) func(models.Integration, bool) (audit.Entry, error) {
	return func(integ models.Integration, created bool) (audit.Entry, error) {
		details := map[string]any{"integration_type": integ.IntegrationType, "via": "oauth",
			"granted_scopes": audit.Scopes(integ.GrantedScopes), "status": integ.Status}
		authz := map[string]any{}
		for k, v := range map[string]*string{"actor_type": st.ActorType, "actor_id": st.ActorID, "ip": st.SourceIP, "request_id": st.RequestID} {
			if v != nil && *v != "" {
				authz[k] = *v
			}
		}
		if len(authz) > 0 {
			details["authorize"] = authz
		}
		return connectEntry(integ, created, audit.Actor{Type: audit.ActorOAuthCallback, ID: str(st.UserID),
			IP: str(st.CallbackIP), RequestID: str(st.CallbackRequestID)}, details, now), nil
	}
}

// credentialConnectEntry is the entry of a connect by credential: the
// actor is the API caller (field names recorded, never their values).
func credentialConnectEntry(st models.IntegrationOAuthState, fields map[string]string, now time.Time) func(models.Integration, bool) (audit.Entry, error) {
	return func(integ models.Integration, created bool) (audit.Entry, error) {
		return connectEntry(integ, created, stateActor(st), map[string]any{"integration_type": integ.IntegrationType, "via": "credentials",
			"credential_fields": slices.Sorted(maps.Keys(fields)), "status": integ.Status}, now), nil
	}
}

func connectEntry(integ models.Integration, created bool, actor audit.Actor, details map[string]any, now time.Time) audit.Entry {
	action := audit.IntegrationReconnected
	if created {
		action = audit.IntegrationConnected
	}
	return audit.Entry{OrganizationID: integ.OrganizationID, Action: action, TargetType: "integration", TargetID: integ.ID,
		Details: details, OccurredAt: now}.By(actor)
}

func stateActor(st models.IntegrationOAuthState) audit.Actor {
	return audit.Actor{Type: str(st.ActorType), ID: str(st.ActorID), IP: str(st.SourceIP), RequestID: str(st.RequestID)}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// DisconnectRequest is who asked for a disconnect (kept on the
// integration row, integrations.disconnect_request, until the row is
// deleted) and what the revocation did.
type DisconnectRequest struct {
	Actor      audit.Actor `json:"actor"`
	Revocation string      `json:"revocation,omitempty"`
}

func readDisconnectRequest(integ models.Integration) DisconnectRequest {
	var r DisconnectRequest
	if integ.DisconnectRequest != nil {
		_ = json.Unmarshal([]byte(*integ.DisconnectRequest), &r)
	}
	return r
}

// RevocationOutcome names what a disconnect did at the provider.
func RevocationOutcome(revoked bool, note string) string {
	switch {
	case revoked:
		return "revoked"
	case note == "":
		return "not_offered" // the provider has no revocation, or nothing was stored
	case strings.HasPrefix(note, "provider refused"):
		return "refused"
	case note == "already deleted":
		return "already_deleted"
	}
	return "failed"
}

// disconnectEntry is the entry of a disconnect, from the row about to be
// deleted (a revocation that never reported is "failed").
func disconnectEntry(now time.Time) func(models.Integration) (*audit.Entry, error) {
	return func(integ models.Integration) (*audit.Entry, error) {
		req := readDisconnectRequest(integ)
		if req.Revocation == "" {
			req.Revocation = "failed"
		}
		e := audit.Entry{OrganizationID: integ.OrganizationID, Action: audit.IntegrationDisconnected, TargetType: "integration", TargetID: integ.ID,
			Details:    map[string]any{"integration_type": integ.IntegrationType, "revocation": req.Revocation, "granted_scopes": audit.Scopes(integ.GrantedScopes)},
			OccurredAt: now}.By(req.Actor)
		return &e, nil
	}
}
