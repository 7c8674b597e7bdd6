package integrations

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

// ActorOAuthCallback is the actor type of an OAuth connect: the entry is
// written when the user's browser comes back from the provider's consent
// screen, so its actor id is the user the connection is for (empty for an
// organization-wide one) and its address and request id are the callback's.
const ActorOAuthCallback = "oauth_callback"

// record appends an integration action to the audit log with the request's
// actor. A failure to audit is logged, not returned: the action happened.
// details never hold a secret (no token, credential value or setting value).
func (s *Service) record(ctx context.Context, integ models.Integration, action string, actor audit.Actor, details map[string]any) {
	e := audit.Entry{OrganizationID: integ.OrganizationID, Action: action, TargetType: "integration", TargetID: integ.ID,
		Details: details, OccurredAt: s.now()}.By(actor)
	if err := audit.Record(context.WithoutCancel(ctx), s.Store.DB(), e); err != nil && s.Logger != nil {
		s.Logger.Error("audit record failed", "action", action, "integration_id", integ.ID, "err", err)
	}
}

// connectAction is integration.connected for a new row, else reconnected.
func connectAction(created bool) string {
	if created {
		return audit.IntegrationConnected
	}
	return audit.IntegrationReconnected
}

// GrantedScopes splits the scopes the provider granted (the token
// response's scope, space- or comma-separated) into a sorted list.
func GrantedScopes(in models.Integration) []string {
	if in.GrantedScopes == nil {
		return []string{}
	}
	f := strings.FieldsFunc(*in.GrantedScopes, func(r rune) bool { return r == ' ' || r == ',' })
	slices.Sort(f)
	return slices.Compact(f)
}

// changedSettingKeys lists the top-level settings whose value differs
// (names only: values may be customer data).
func changedSettingKeys(before *string, after string) []string {
	var a, b map[string]any
	if before != nil {
		_ = json.Unmarshal([]byte(*before), &a)
	}
	_ = json.Unmarshal([]byte(after), &b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// revocation names what a disconnect did at the provider.
func revocation(revoked bool, note string) string {
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

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
