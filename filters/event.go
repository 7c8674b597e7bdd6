package filters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Event is a decoded event envelope, ready for matching. Decode it once per
// event and match it against every webhook.
type Event struct {
	vars   map[string]any // CEL variables
	object any            // data.object
}

// ParseEvent decodes a stored envelope
// ({"id","type","created","data":{"object":…},"organization_id"}). JSON
// integers become int64 and other numbers float64, so CEL sees
// data.object.max_attendees as an int.
func ParseEvent(envelope []byte) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(envelope))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return Event{}, fmt.Errorf("decode event envelope: %w", err)
	}
	env, _ := convertNumbers(raw).(map[string]any)
	if env == nil {
		env = map[string]any{}
	}
	vars := map[string]any{
		"id":              stringOr(env["id"]),
		"event":           env,
		"organization_id": stringOr(env["organization_id"]),
		"created":         int64(0),
		"data":            map[string]any{},
	}
	if c, ok := env["created"].(int64); ok {
		vars["created"] = c
	}
	var object any
	if d, ok := env["data"].(map[string]any); ok {
		vars["data"] = d
		object = d["object"]
	}
	return Event{vars: vars, object: object}, nil
}

func stringOr(v any) string {
	s, _ := v.(string)
	return s
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
		return x
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	}
	return v
}

// Object is data.object (nil when absent).
func (e Event) Object() any { return e.object }
