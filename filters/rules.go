package filters

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error names the filter key or expression that is wrong.
type Error struct {
	Key     string // "" for the whole document or expression
	Message string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Message
	}
	return e.Key + ": " + e.Message
}

// Limits on event_filters.
const (
	MaxRules       = 50
	MaxValues      = 100 // per any-of array
	MaxPathDepth   = 8
	MaxFiltersSize = 16 << 10
)

var segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

type ruleKind int

const (
	ruleEqual ruleKind = iota
	ruleMin
	ruleMax
)

type rule struct {
	key    string
	path   []string
	kind   ruleKind
	values []any   // ruleEqual: any-of; each a string, float64 or bool
	bound  float64 // ruleMin, ruleMax
}

// Rules are parsed event_filters. The zero value matches every event.
type Rules struct {
	rules []rule
}

// Empty reports whether there is nothing to check.
func (r Rules) Empty() bool { return len(r.rules) == 0 }

// ParseRules validates an event_filters document. nil, empty or "null"
// input is no filter. Errors are *Error naming the key.
func ParseRules(raw []byte) (Rules, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Rules{}, nil
	}
	if len(raw) > MaxFiltersSize {
		return Rules{}, &Error{Message: fmt.Sprintf("must be at most %d bytes", MaxFiltersSize)}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return Rules{}, &Error{Message: `must be a JSON object such as {"event_type": ["conference"], "min_attendees": 10}`}
	}
	if len(doc) > MaxRules {
		return Rules{}, &Error{Message: fmt.Sprintf("must have at most %d keys", MaxRules)}
	}
	var out Rules
	for key, val := range doc {
		r, err := parseRule(key, val)
		if err != nil {
			return Rules{}, err
		}
		out.rules = append(out.rules, r)
	}
	// Deterministic order, so the same document always fails on the same key.
	slices.SortFunc(out.rules, func(a, b rule) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

func parseRule(key string, val json.RawMessage) (rule, error) {
	r := rule{key: key, kind: ruleEqual}
	pathText := key
	if p, ok := strings.CutPrefix(key, "min_"); ok {
		r.kind, pathText = ruleMin, p
	} else if p, ok := strings.CutPrefix(key, "max_"); ok {
		r.kind, pathText = ruleMax, p
	}
	path, err := parsePath(pathText)
	if err != nil {
		return rule{}, &Error{Key: key, Message: err.Error()}
	}
	r.path = path
	var v any
	if err := json.Unmarshal(val, &v); err != nil {
		return rule{}, &Error{Key: key, Message: "must be valid JSON"}
	}
	if r.kind != ruleEqual {
		n, ok := v.(float64)
		if !ok {
			return rule{}, &Error{Key: key, Message: fmt.Sprintf("a %s_ bound must be a number", key[:3])}
		}
		r.bound = n
		return r, nil
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return rule{}, &Error{Key: key, Message: "an any-of list must have at least one value"}
		}
		if len(x) > MaxValues {
			return rule{}, &Error{Key: key, Message: fmt.Sprintf("an any-of list must have at most %d values", MaxValues)}
		}
		for i, e := range x {
			if !isScalar(e) {
				return rule{}, &Error{Key: fmt.Sprintf("%s.%d", key, i), Message: "must be a string, number or boolean"}
			}
		}
		r.values = x
	default:
		if !isScalar(x) {
			return rule{}, &Error{Key: key, Message: "must be a string, number, boolean or a list of them"}
		}
		r.values = []any{x}
	}
	return r, nil
}

func parsePath(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("names no field")
	}
	segs := strings.Split(p, ".")
	if len(segs) > MaxPathDepth {
		return nil, fmt.Errorf("path is deeper than %d levels", MaxPathDepth)
	}
	for _, s := range segs {
		if !segmentRE.MatchString(s) {
			return nil, fmt.Errorf("%q is not a dot-path of field names (letters, digits, _ and -)", p)
		}
	}
	return segs, nil
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

// Match reports whether data.object (as decoded by ParseEvent) satisfies
// every rule.
func (r Rules) Match(object any) bool {
	for _, rl := range r.rules {
		if !rl.match(object) {
			return false
		}
	}
	return true
}

func (rl rule) match(object any) bool {
	v, ok := lookup(object, rl.path)
	if !ok {
		return false
	}
	switch rl.kind {
	case ruleMin:
		n, ok := number(v)
		return ok && n >= rl.bound
	case ruleMax:
		n, ok := number(v)
		return ok && n <= rl.bound
	}
	// A list field matches when any of its elements equals any value.
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if anyEqual(rl.values, e) {
				return true
			}
		}
		return false
	}
	return anyEqual(rl.values, v)
}

func anyEqual(want []any, got any) bool {
	for _, w := range want {
		if scalarEqual(w, got) {
			return true
		}
	}
	return false
}

func scalarEqual(want, got any) bool {
	switch w := want.(type) {
	case float64:
		n, ok := number(got)
		return ok && n == w
	case string:
		s, ok := got.(string)
		return ok && s == w
	case bool:
		b, ok := got.(bool)
		return ok && b == w
	}
	return false
}

// number accepts the numeric types ParseEvent produces; strings are not
// numbers.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// lookup follows a dot-path through objects; a numeric segment indexes a
// list.
func lookup(v any, path []string) (any, bool) {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	if v == nil {
		return nil, false
	}
	return v, true
}
