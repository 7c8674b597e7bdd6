package eventtypes

// Operational event types are emitted by Aqio Connect itself (never posted
// by the Aqio app) to tell an organization about its own integrations.
var operational = []entry{
	{"webhook.disabled", "A webhook was disabled automatically (every delivery failed for too long, or the endpoint answered 410 Gone)."},
	{"integration.error", "An integration lost access to its provider (e.g. the refresh token was revoked) and must be reconnected."},
}

// IntegrationError is emitted when an integration goes to status error.
const IntegrationError = "integration.error"

// WebhookDisabled is emitted when a webhook is disabled automatically.
const WebhookDisabled = "webhook.disabled"

// Operational returns the operational event types.
func Operational() []Type {
	out := make([]Type, len(operational))
	for i, e := range operational {
		out[i] = Type{Name: e.Name, Description: e.Description}
	}
	return out
}

// IsOperational reports whether name is an operational event type.
func IsOperational(name string) bool {
	for _, e := range operational {
		if e.Name == name {
			return true
		}
	}
	return false
}
