package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/aqio/connect/eventtypes"
)

// TriggerOptions configure Trigger.
type TriggerOptions struct {
	API API
	// Type is the event type whose catalog example is posted.
	Type string
	// Sets are path=value overrides of the posted body: a dotted path
	// (data.object.user_email, data.object.tags.0) and a value taken as
	// JSON when it parses as JSON, else as a string.
	Sets []string
}

// Triggered is the API's answer to the posted event.
type Triggered struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Duplicate  bool   `json:"duplicate"`
	Deliveries []struct {
		WebhookID string `json:"webhook_id"`
		Status    string `json:"status"`
	} `json:"deliveries"`
}

// UnknownTypeError names an event type the catalog does not have and the
// closest ones it has.
type UnknownTypeError struct {
	Type    string
	Matches []string
}

func (e *UnknownTypeError) Error() string {
	msg := fmt.Sprintf("unknown event type %q", e.Type)
	if len(e.Matches) > 0 {
		return msg + "; did you mean " + strings.Join(e.Matches, ", ") + "?"
	}
	names := make([]string, 0)
	for _, t := range eventtypes.All() {
		names = append(names, t.Name)
	}
	return msg + "; the catalog has " + strings.Join(names, ", ")
}

// TriggerBody builds the event Trigger posts: the catalog's example of
// the type as data.object, with the overrides applied.
func TriggerBody(typ string, sets []string) (map[string]any, error) {
	var ex json.RawMessage
	for _, t := range eventtypes.All() {
		if t.Name == typ {
			ex = t.Example
		}
	}
	if ex == nil {
		return nil, &UnknownTypeError{Type: typ, Matches: closeTypes(typ)}
	}
	var obj any
	if err := json.Unmarshal(ex, &obj); err != nil {
		return nil, fmt.Errorf("catalog example of %s: %w", typ, err)
	}
	body := map[string]any{"type": typ, "data": map[string]any{"object": obj}}
	for _, s := range sets {
		path, raw, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--set %q: give path=value, such as data.object.user_email=x@example.com", s)
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			v = raw
		}
		if err := setPath(body, strings.Split(path, "."), v); err != nil {
			return nil, fmt.Errorf("--set %s: %w", path, err)
		}
	}
	return body, nil
}

// setPath sets a dotted path inside nested objects and arrays, creating
// objects that are missing.
func setPath(node map[string]any, parts []string, v any) error {
	var cur any = node
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("empty path segment")
		}
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
				return nil
			}
			next, ok := c[p]
			if !ok || next == nil {
				next = map[string]any{}
				c[p] = next
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(c) {
				return fmt.Errorf("%s is a list of %d: %q is no index of it", strings.Join(parts[:i], "."), len(c), p)
			}
			if last {
				c[idx] = v
				return nil
			}
			cur = c[idx]
		default:
			return fmt.Errorf("%s is not an object", strings.Join(parts[:i], "."))
		}
	}
	return nil
}

// closeTypes lists catalog types near typ: same family, or a few edits away.
func closeTypes(typ string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	fam, _, _ := strings.Cut(typ, ".")
	for _, t := range eventtypes.All() {
		d := levenshtein(strings.ToLower(typ), t.Name)
		tfam, _, _ := strings.Cut(t.Name, ".")
		if d <= 3 || (fam != "" && strings.EqualFold(fam, tfam)) || strings.Contains(t.Name, strings.ToLower(typ)) {
			cs = append(cs, cand{t.Name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	out := []string{}
	for _, c := range cs {
		out = append(out, c.name)
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Trigger posts the example event and returns the API's answer.
func Trigger(ctx context.Context, o TriggerOptions) (Triggered, error) {
	body, err := TriggerBody(o.Type, o.Sets)
	if err != nil {
		return Triggered{}, err
	}
	var out Triggered
	if err := o.API.do(ctx, http.MethodPost, "/api/events", body, &out); err != nil {
		return Triggered{}, fmt.Errorf("post %s: %w", o.Type, err)
	}
	return out, nil
}
