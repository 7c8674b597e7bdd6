package integrations

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/models"
)

// ActorOAuthCallback is the actor type of an OAuth connect (audit.ActorOAuthCallback).
const ActorOAuthCallback = audit.ActorOAuthCallback

// entry is an integration action's audit entry with the request's actor.
func (s *Service) entry(integ models.Integration, action string, actor audit.Actor, details map[string]any) audit.Entry {
	return audit.Entry{OrganizationID: integ.OrganizationID, Action: action, TargetType: "integration", TargetID: integ.ID,
		Details: details, OccurredAt: s.now()}.By(actor)
}

// setRequester keeps on a pending connection who asked for it, so the
// activity that saves the integration writes the connect's audit entry
// in the same transaction.
func setRequester(st *models.IntegrationOAuthState, a audit.Actor) {
	for dst, v := range map[**string]string{&st.ActorType: a.Type, &st.ActorID: a.ID, &st.SourceIP: a.IP, &st.RequestID: a.RequestID} {
		if v != "" {
			v := v
			*dst = &v
		}
	}
}

// record appends an integration action to the audit log with the request's
// actor. A failure to audit is logged, not returned: the action happened.
// details never hold a secret (no token, credential value or setting value).
func (s *Service) record(ctx context.Context, integ models.Integration, action string, actor audit.Actor, details map[string]any) {
	if err := audit.Record(context.WithoutCancel(ctx), s.Store.DB(), s.entry(integ, action, actor, details)); err != nil && s.Logger != nil {
		s.Logger.Error("audit record failed", "action", action, "integration_id", integ.ID, "err", err)
	}
}

// GrantedScopes splits the scopes the provider granted (the token
// response's scope, space- or comma-separated) into a sorted list.
func GrantedScopes(in models.Integration) []string { return audit.Scopes(in.GrantedScopes) }

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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
