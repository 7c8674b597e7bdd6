// Package eventtypes is the catalog of Aqio domain event types and the
// matching rules webhook subscriptions use.
package eventtypes

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Type describes one event type: its name, what it means, and the JSON
// Schema and an example of its data.object.
type Type struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
	// Operational types are emitted by Aqio Connect itself, never posted:
	// webhooks receive them only when they name them (or their family).
	Operational bool `json:"operational"`
}

// entry is one catalog line; schemas and examples come from schemas/.
type entry struct {
	Name        string
	Description string
}

// Test is the event the webhook test endpoint sends. Every webhook receives
// it when tested, whatever it subscribes to.
const Test = "webhook.test"

var catalog = []entry{
	{"event.created", "An event was created."},
	{"event.updated", "An event's details changed."},
	{"event.published", "An event was published and is open for registration."},
	{"event.cancelled", "An event was cancelled."},
	{"registration.created", "Someone registered for an event."},
	{"registration.confirmed", "A registration was confirmed."},
	{"registration.cancelled", "A registration was cancelled."},
	{"invitation.sent", "An invitation was sent."},
	{"invitation.accepted", "An invitation was accepted."},
	{"invitation.declined", "An invitation was declined."},
	{"user.joined_organization", "A user joined the organization."},
	{"payment.completed", "A payment completed."},
	{"payment.failed", "A payment failed."},
}

// All returns the 13 domain event types of the product seed.
func All() []Type {
	out := make([]Type, len(catalog))
	for i, e := range catalog {
		out[i] = Type{Name: e.Name, Description: e.Description, Schema: schemaFor(e.Name), Example: exampleFor(e.Name)}
	}
	return out
}

// Known reports whether name is a domain event type.
func Known(name string) bool {
	for _, t := range catalog {
		if t.Name == name {
			return true
		}
	}
	return false
}

// ValidatePattern checks a subscription entry: an exact type, a family
// wildcard such as "registration.*", or "*".
func ValidatePattern(p string) error {
	if p == "*" || Known(p) || IsOperational(p) {
		return nil
	}
	if family, ok := strings.CutSuffix(p, ".*"); ok {
		for _, t := range append(catalog, operational...) {
			if strings.HasPrefix(t.Name, family+".") {
				return nil
			}
		}
		return fmt.Errorf("unknown event family %q", family)
	}
	return fmt.Errorf("unknown event type %q", p)
}

// Match reports whether any pattern subscribes to eventType. "*" covers
// the domain event types only: operational events are opted into by name
// or family ("webhook.disabled", "webhook.*").
func Match(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if (p == "*" && !IsOperational(eventType)) || p == eventType {
			return true
		}
		if family, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(eventType, family+".") {
			return true
		}
	}
	return false
}
