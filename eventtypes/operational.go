package eventtypes

import (
	"bytes"
	"encoding/json"
)

// Operational event types are emitted by Aqio Connect itself (never posted
// by the Aqio app) to tell an organization about its own webhooks and
// integrations. GET /api/event-types lists them with operational: true.
var operational = []entry{
	{"webhook.disabled", "A webhook was disabled automatically (every delivery failed for too long, or the endpoint answered 410 Gone). Sent to the organization's other webhooks that subscribe to it by name or family."},
	{"webhook.test", "The event GET|POST /api/webhooks/{id}/test sends to the tested webhook (whatever it subscribes to)."},
	{"privacy.erasure_requested", "A data subject's erasure was carried out in Aqio Connect (POST /api/privacy/erasures). Deliveries already made cannot be recalled: receivers erase the person on their side (matched by the SHA-256 of the lower-cased email, or the Aqio user id). Carries no email or name."},
	{"integration.error", "An integration lost access to its provider (e.g. the refresh token was revoked) and must be reconnected."},
}

// operationalDocs are the data.object schema and an example of each
// operational type (the object the emitting code builds).
var operationalDocs = map[string]struct{ schema, example string }{
	"webhook.disabled": {
		schema: `{"type":"object","required":["id","webhook_id","reason","disabled_at"],"properties":{
			"id":{"type":"string","description":"The disabled webhook's id."},
			"webhook_id":{"type":"string"},
			"reason":{"type":"string","description":"Why it was disabled (also its disabled_reason)."},
			"failing_since":{"type":"string","format":"date-time","description":"When the run of failures that led to the disable began."},
			"disabled_at":{"type":"string","format":"date-time"}}}`,
		example: `{"id":"wh_01930f7e","webhook_id":"wh_01930f7e","reason":"endpoint answered 410 Gone",
			"failing_since":"2024-09-15T10:00:00Z","disabled_at":"2024-09-15T10:00:00Z"}`,
	},
	"webhook.test": {
		schema: `{"type":"object","required":["webhook_id","message","sent_at"],"properties":{
			"webhook_id":{"type":"string"},"message":{"type":"string"},"sent_at":{"type":"string","format":"date-time"}}}`,
		example: `{"webhook_id":"wh_01930f7e","message":"This is a test event from Aqio Connect.","sent_at":"2024-09-15T10:00:00Z"}`,
	},
	"privacy.erasure_requested": {
		schema: `{"type":"object","required":["id","object","request_id","email_sha256","user_id","requested_at"],"properties":{
			"id":{"type":"string","description":"The erasure's id (GET /api/privacy/erasures/{id})."},
			"object":{"type":"string","enum":["privacy_erasure"]},
			"request_id":{"type":"string","description":"The request id the erasure was asked for with."},
			"email_sha256":{"type":"array","items":{"type":"string"},"description":"SHA-256 (hex) of each of the subject's lower-cased, trimmed email addresses."},
			"user_id":{"type":["string","null"],"description":"The subject's Aqio user id, when known."},
			"requested_at":{"type":"string","format":"date-time"}}}`,
		example: `{"id":"era_01930f7e","object":"privacy_erasure","request_id":"dsr-2024-0042",
			"email_sha256":["5d41402abc4b2a76b9719d911017c592ae7a8f9c0b8f2e3f9a5b0c1d2e3f4a5b"],"user_id":"usr_01930f7e","requested_at":"2024-09-15T10:00:00Z"}`,
	},
	"integration.error": {
		schema: `{"type":"object","required":["id","object","integration_type","status","error","occurred_at"],"properties":{
			"id":{"type":"string","description":"The integration's id."},
			"object":{"type":"string","enum":["integration"]},
			"integration_type":{"type":"string"},"name":{"type":"string"},
			"user_id":{"type":["string","null"]},"status":{"type":"string","enum":["error"]},
			"error":{"type":"object","properties":{"code":{"type":"string"},"message":{"type":"string"}}},
			"occurred_at":{"type":"string","format":"date-time"}}}`,
		example: `{"id":"int_01930f7e","object":"integration","integration_type":"google_calendar","name":"Team calendar",
			"user_id":null,"status":"error","error":{"code":"invalid_grant","message":"the refresh token was revoked"},
			"occurred_at":"2024-09-15T10:00:00Z"}`,
	},
}

// PrivacyErasureRequested is emitted when an erasure has run locally.
const PrivacyErasureRequested = "privacy.erasure_requested"

// IntegrationError is emitted when an integration goes to status error.
const IntegrationError = "integration.error"

// WebhookDisabled is emitted when a webhook is disabled automatically.
const WebhookDisabled = "webhook.disabled"

// Operational returns the operational event types, with the schema and an
// example of their data.object.
func Operational() []Type {
	out := make([]Type, len(operational))
	for i, e := range operational {
		d := operationalDocs[e.Name]
		out[i] = Type{Name: e.Name, Description: e.Description, Operational: true,
			Schema: compact(d.schema), Example: compact(d.example)}
	}
	return out
}

// Catalog is every event type a webhook can receive: the domain types
// (All) followed by the operational ones.
func Catalog() []Type {
	return append(All(), Operational()...)
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

func compact(s string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic("eventtypes: operational docs: " + err.Error())
	}
	return b.Bytes()
}
