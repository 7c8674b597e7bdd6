// Package crmmap maps the people of Aqio (registrants, payers) onto the
// contact records of CRM and marketing tools (HubSpot today; Salesforce,
// Pipedrive, Mailchimp, Kit and ActiveCampaign reuse it): the person an
// Aqio registration describes, a settings mapping from Aqio registration
// fields to provider contact fields, its validation at save time (known
// Aqio fields; provider fields that exist and are writable, as the
// provider's own field list says), and applying it to a person.
//
// The package knows no provider: a connector passes the provider's field
// list (e.g. HubSpot's GET /crm/v3/properties/contacts) to CheckTargets and
// the provider's name for messages.
package crmmap

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aqio/connect/providers"
)

// Source is an Aqio registration field a mapping may read.
type Source struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Sources are the registration fields a mapping may read, besides
// "answers.<key>" (the answer to the event's registration question <key>).
var Sources = []Source{
	{"user_name", "the registrant's full name"},
	{"first_name", "the first word of user_name"},
	{"last_name", "the rest of user_name"},
	{"user_id", "the Aqio user id (empty for guests)"},
	{"event_id", "the Aqio event id"},
	{"status", "pending, confirmed, waitlisted or cancelled"},
	{"ticket_type", "the ticket type"},
	{"guests", "extra seats beyond the registrant"},
	{"dietary_restrictions", "dietary restrictions given at registration"},
	{"registration_source", "where the registration came from, when Aqio sends it"},
	{"registered_at", "when the registration was made (RFC 3339)"},
	{"confirmed_at", "when it was confirmed (RFC 3339)"},
	{"cancellation_reason", "why it was cancelled"},
}

// AnswersPrefix introduces a registration-question answer source.
const AnswersPrefix = "answers."

var answerKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// Person is the contact an Aqio object describes.
type Person struct {
	Email     string // lower-cased
	FirstName string
	LastName  string
	// Fields are the source values by Source name (and answers.<key>),
	// as strings; absent or null values are missing.
	Fields map[string]string
}

// NormalizeEmail trims and lower-cases an address and checks its form.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	return s, nil
}

// SplitName splits a full name into a first name (the first word) and a
// last name (the rest).
func SplitName(full string) (first, last string) {
	parts := strings.Fields(full)
	if len(parts) == 0 {
		return "", ""
	}
	return parts[0], strings.Join(parts[1:], " ")
}

// FromRegistration reads the person of a registration (or any object
// with user_email / user_name, such as a payment). It fails when the
// object has no valid user_email.
func FromRegistration(obj json.RawMessage) (Person, error) {
	var raw map[string]any
	if err := json.Unmarshal(obj, &raw); err != nil {
		return Person{}, fmt.Errorf("registration is not a JSON object: %w", err)
	}
	email, _ := raw["user_email"].(string)
	if email == "" {
		return Person{}, fmt.Errorf("registration has no user_email")
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return Person{}, err
	}
	p := Person{Email: email, Fields: map[string]string{}}
	for _, s := range Sources {
		if v, ok := scalar(raw[s.Name]); ok {
			p.Fields[s.Name] = v
		}
	}
	p.FirstName, p.LastName = SplitName(p.Fields["user_name"])
	if p.FirstName != "" {
		p.Fields["first_name"] = p.FirstName
	}
	if p.LastName != "" {
		p.Fields["last_name"] = p.LastName
	}
	if answers, ok := raw["answers"].(map[string]any); ok {
		for k, v := range answers {
			if s, ok := scalar(v); ok {
				p.Fields[AnswersPrefix+k] = s
			}
		}
	}
	return p, nil
}

// scalar renders a JSON value as a field value; objects and nulls are not
// values, arrays of scalars become a ";"-separated list (the multi-select
// form HubSpot, Salesforce and Pipedrive accept).
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case []any:
		var parts []string
		for _, e := range x {
			if s, ok := scalar(e); ok {
				if _, isList := e.([]any); !isList {
					parts = append(parts, s)
				}
			}
		}
		return strings.Join(parts, ";"), len(parts) > 0
	}
	return "", false
}

// Mapping maps Aqio sources to provider contact fields.
type Mapping map[string]string

// Target is one provider contact field.
type Target struct {
	Name     string
	Label    string
	ReadOnly bool
}

// Keys are the mapping's sources, sorted.
func (m Mapping) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Validate checks the mapping's form without asking the provider: known
// sources, non-empty target names of a sane shape, no target used twice,
// none of the reserved targets (the identity fields the connector writes
// itself, e.g. "email"). field is the settings path, e.g.
// "settings.contact_property_mapping".
func (m Mapping) Validate(field string, reserved ...string) error {
	if len(m) > 100 {
		return &providers.SettingsError{Field: field, Message: "must map at most 100 fields"}
	}
	used := map[string]string{}
	for _, src := range m.Keys() {
		dst := m[src]
		f := field + "." + src
		if !KnownSource(src) {
			return &providers.SettingsError{Field: f, Message: fmt.Sprintf("unknown Aqio field %q; use one of %s, or answers.<question key>", src, strings.Join(sourceNames(), ", "))}
		}
		if strings.TrimSpace(dst) == "" || len(dst) > 100 || strings.ContainsAny(dst, " \t\r\n") {
			return &providers.SettingsError{Field: f, Message: "must be a contact property name (no spaces, at most 100 characters)"}
		}
		for _, r := range reserved {
			if strings.EqualFold(dst, r) {
				return &providers.SettingsError{Field: f, Message: fmt.Sprintf("%q is written by Aqio itself and cannot be mapped", dst)}
			}
		}
		if prev, ok := used[dst]; ok {
			return &providers.SettingsError{Field: f, Message: fmt.Sprintf("%q is already mapped from %s", dst, prev)}
		}
		used[dst] = src
	}
	return nil
}

// CheckTargets checks every mapped target against the provider's contact
// fields: each must exist and be writable. The error names the first
// offending mapping entry and lists every unknown field. provider is the
// display name used in the message ("HubSpot").
func (m Mapping) CheckTargets(field, provider string, targets []Target) error {
	byName := make(map[string]Target, len(targets))
	for _, t := range targets {
		byName[t.Name] = t
	}
	var unknown, unknownSrc []string
	for _, src := range m.Keys() {
		t, ok := byName[m[src]]
		if !ok {
			unknown = append(unknown, strconv.Quote(m[src]))
			unknownSrc = append(unknownSrc, src)
			continue
		}
		if t.ReadOnly {
			return &providers.SettingsError{Field: field + "." + src, Message: fmt.Sprintf("%s contact property %q is read-only", provider, t.Name)}
		}
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return &providers.SettingsError{Field: field + "." + unknownSrc[0], Message: fmt.Sprintf("%s has no contact property %s; create it in %s or map to an existing one", provider, unknown[0], provider)}
	}
	return &providers.SettingsError{Field: field + "." + unknownSrc[0], Message: fmt.Sprintf("%s has no contact properties %s (mapped from %s); create them in %s or map to existing ones", provider, strings.Join(unknown, ", "), strings.Join(unknownSrc, ", "), provider)}
}

// Apply returns the provider fields the mapping sets for p; sources p
// has no value for are left out (never cleared).
func (m Mapping) Apply(p Person) map[string]string {
	out := map[string]string{}
	for src, dst := range m {
		if v, ok := p.Fields[src]; ok {
			out[dst] = v
		}
	}
	return out
}

// KnownSource reports whether a mapping may read src.
func KnownSource(src string) bool {
	if k, ok := strings.CutPrefix(src, AnswersPrefix); ok {
		return answerKey.MatchString(k)
	}
	for _, s := range Sources {
		if s.Name == src {
			return true
		}
	}
	return false
}

func sourceNames() []string {
	out := make([]string, len(Sources))
	for i, s := range Sources {
		out[i] = s.Name
	}
	return out
}

// SchemaProperty is the JSON Schema of a mapping setting, for settings
// forms: an object whose keys are Aqio sources and values field names.
func SchemaProperty(description string) map[string]any {
	names := sourceNames()
	return map[string]any{
		"type":        "object",
		"description": description,
		"propertyNames": map[string]any{
			"anyOf": []any{
				map[string]any{"enum": names},
				map[string]any{"pattern": `^answers\.[A-Za-z0-9_-]{1,100}$`},
			},
		},
		"additionalProperties": map[string]any{"type": "string", "minLength": 1, "maxLength": 100, "pattern": `^\S+$`},
		"maxProperties":        100,
	}
}
