// Package payload turns a stored event envelope into the exact bytes a
// webhook receives: optional include-only or exclude field lists, then the
// webhook's encoding (JSON, or a form with one payload field). The result
// is what gets signed and sent, byte for byte.
package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Encodings (the webhook's content_type).
const (
	JSON = "application/json"
	Form = "application/x-www-form-urlencoded"
)

// Settings are a webhook's payload options.
type Settings struct {
	ContentType string   // JSON (default) or Form
	Include     []string // dot-paths under data to keep; nil: keep everything
	Exclude     []string // dot-paths under data to drop
}

// Envelope fields every payload keeps, whatever the field lists say:
// receivers need them to route, deduplicate and verify.
var envelopeFields = []string{"id", "type", "created", "organization_id"}

// Limits on field lists.
const (
	MaxPaths     = 100
	MaxPathDepth = 8
)

var segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// ValidatePaths checks a field list. It returns the index of the bad entry
// and why, or -1 and nil.
func ValidatePaths(paths []string) (int, error) {
	if len(paths) > MaxPaths {
		return MaxPaths, fmt.Errorf("at most %d paths", MaxPaths)
	}
	seen := map[string]bool{}
	for i, p := range paths {
		segs := strings.Split(p, ".")
		if len(segs) < 2 || segs[0] != "data" {
			return i, fmt.Errorf("%q must be a dot-path under data, e.g. data.object.user_email (id, type, created and organization_id are always sent)", p)
		}
		if len(segs) > MaxPathDepth {
			return i, fmt.Errorf("%q is deeper than %d levels", p, MaxPathDepth)
		}
		for _, s := range segs {
			if !segmentRE.MatchString(s) {
				return i, fmt.Errorf("%q is not a dot-path of field names (letters, digits, _ and -)", p)
			}
		}
		if seen[p] {
			return i, fmt.Errorf("%q is listed twice", p)
		}
		seen[p] = true
	}
	return -1, nil
}

// Build returns the body to send and its content type. envelope is the
// stored event JSON; its key order is kept. Paths that do not exist in the
// event are ignored; paths do not descend into lists.
func Build(s Settings, envelope []byte) ([]byte, string, error) {
	body := envelope
	if len(s.Include) > 0 || len(s.Exclude) > 0 {
		include := len(s.Include) > 0
		paths := s.Exclude
		if include {
			paths = s.Include
		}
		root := tree{}
		for _, p := range paths {
			root.add(strings.Split(p, "."))
		}
		if include {
			for _, f := range envelopeFields {
				root[f] = tree{}
			}
		}
		var buf bytes.Buffer
		if err := transform(&buf, envelope, root, include); err != nil {
			return nil, "", fmt.Errorf("transform payload: %w", err)
		}
		body = buf.Bytes()
	}
	if s.ContentType == Form {
		return []byte(url.Values{"payload": {string(body)}}.Encode()), Form, nil
	}
	return body, JSON, nil
}

// tree is a set of paths; an empty subtree marks a path's end.
type tree map[string]tree

func (t tree) add(segs []string) {
	node := t
	for i, s := range segs {
		next, ok := node[s]
		if ok && len(next) == 0 {
			return // a shorter path already covers this one
		}
		if !ok || i == len(segs)-1 {
			next = tree{}
			node[s] = next
		}
		if i == len(segs)-1 {
			clear(next) // this path covers any longer ones
		}
		node = next
	}
}

// transform writes obj (a JSON object) keeping (include) or dropping
// (exclude) the paths in t, in the original key order.
func transform(buf *bytes.Buffer, obj json.RawMessage, t tree, include bool) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not a JSON object")
	}
	buf.WriteByte('{')
	first := true
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		sub, listed := t[key]
		var out json.RawMessage
		switch {
		case listed && len(sub) == 0:
			if include {
				out = val
			}
		case listed && isObject(val):
			var inner bytes.Buffer
			if err := transform(&inner, val, sub, include); err != nil {
				return err
			}
			out = inner.Bytes()
		case listed: // a deeper path through a non-object: nothing to pick
			if !include {
				out = val
			}
		default:
			if !include {
				out = val
			}
		}
		if out == nil {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(key)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(out)
	}
	buf.WriteByte('}')
	return nil
}

func isObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{'
}
