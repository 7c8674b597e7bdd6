package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// ints declares the listed dotted paths integer; "*" matches any array index.
type ints map[string]bool

type pathSchema struct {
	ints ints
	path string
}

func (s pathSchema) child(seg string) Schema {
	p := seg
	if s.path != "" {
		p = s.path + "." + seg
	}
	return pathSchema{ints: s.ints, path: p}
}
func (s pathSchema) Property(name string) Schema { return s.child(name) }
func (s pathSchema) Items() Schema               { return s.child("*") }
func (s pathSchema) Integer() bool               { return s.ints[s.path] }

func TestCheck(t *testing.T) {
	schema := pathSchema{ints: ints{"n": true, "list.*": true, "data.object.guests": true}}
	for _, tc := range []struct {
		name      string
		in        string
		wantField string // "" means accepted
		wantIn    string // part of the reason
	}{
		{"object", `{"a": 1, "b": [true, false, null, "x"], "c": {"d": -1.5e-3}}`, "", ""},
		{"scalar", `"hello"`, "", ""},
		{"escapes", `{"a": "\" \\ \/ \b \f \n \r \t \u00e9 \u0001"}`, "", ""},
		{"surrogate pair", `{"a": "\ud83d\ude00 \uD83D\uDE00"}`, "", ""},
		{"literal emoji and U+FFFD", "{\"a\": \"😀 \uFFFD\"}", "", ""},
		{"escaped U+FFFD", `{"a": "\ufffd"}`, "", ""},
		{"same key in sibling objects", `[{"a": 1}, {"a": 2}]`, "", ""},
		{"same key at two depths", `{"a": {"a": 1}}`, "", ""},
		{"largest float", `{"a": 1.7976931348623157e308, "b": -1e308}`, "", ""},
		{"underflow is zero, not an error", `{"a": 1e-400}`, "", ""},
		{"long integer in an untyped field", `{"a": 123456789012345678901234567890}`, "", ""},
		{"integers", `{"n": 42, "list": [0, -0, -9223372036854775808, 9223372036854775807]}`, "", ""},
		{"fraction where no schema", `{"m": 1.5}`, "", ""},

		{"invalid byte in value", "{\"a\": \"x\xffy\"}", "a", "not valid UTF-8"},
		{"overlong encoding", "{\"a\": \"\xc0\xaf\"}", "a", "not valid UTF-8"},
		{"surrogate encoded as UTF-8", "{\"a\": \"\xed\xa0\x80\"}", "a", "not valid UTF-8"},
		{"truncated sequence", "{\"a\": \"\xe2\x82\"}", "a", "not valid UTF-8"},
		{"invalid byte in key", "{\"k\xff\": 1}", "k\uFFFD", "field name is not valid UTF-8"},
		{"invalid byte in root string", "\"\xff\"", "body", "not valid UTF-8"},
		{"invalid byte deep", "{\"data\": {\"object\": {\"name\": \"\xfe\"}}}", "data.object.name", "not valid UTF-8"},

		{"lone high surrogate", `{"a": "\ud800"}`, "a", `unpaired surrogate escape (\ud800)`},
		{"lone low surrogate", `{"a": "x\uDC00"}`, "a", `(\udc00)`},
		{"high then letter", `{"a": "\ud800\u0041"}`, "a", "unpaired surrogate"},
		{"high then high", `{"a": "\ud800\ud800\udc00"}`, "a", `(\ud800)`},
		{"reversed pair", `{"a": "\udc00\ud800"}`, "a", "unpaired surrogate"},
		{"high then escaped backslash", `{"a": "\ud800\\u0041"}`, "a", "unpaired surrogate"},
		{"lone surrogate in key", `{"\ud800": 1}`, "\uFFFD", "field name contains an unpaired surrogate"},
		{"lone surrogate in array", `{"events": ["ok", "\udfff"]}`, "events.1", "unpaired surrogate"},

		{"NUL in value", `{"name": "a\u0000b"}`, "name", "NUL"},
		{"NUL in key", `{"a\u0000": 1}`, "a\uFFFD", "field name contains a NUL"},
		{"NUL deep", `{"data": {"object": {"tags": ["x", "\u0000"]}}}`, "data.object.tags.1", "NUL"},

		{"duplicate key", `{"a": 1, "a": 2}`, "a", "more than once"},
		{"duplicate key spelled with an escape", `{"a": 1, "\u0061": 2}`, "a", "more than once"},
		{"duplicate key nested", `{"data": {"object": {"status": "x", "id": "1", "status": "y"}}}`, "data.object.status", "more than once"},
		{"duplicate key in array element", `[{"a": 1}, {"b": 1, "b": 1}]`, "1.b", "more than once"},
		{"duplicate empty key", `{"": 1, "": 2}`, "", "more than once"},

		{"float overflow", `{"a": 1e400}`, "a", "out of range"},
		{"negative float overflow", `{"a": [-1e400]}`, "a.0", "out of range"},
		{"overflow by digits", `{"a": 1` + strings.Repeat("0", 400) + `}`, "a", "out of range"},
		{"root overflow", `1e999`, "body", "out of range"},

		{"fraction in integer", `{"n": 1.5}`, "n", "without a fraction or exponent"},
		{"point zero in integer", `{"n": 1.0}`, "n", "without a fraction or exponent"},
		{"exponent in integer", `{"n": 1e2}`, "n", "without a fraction or exponent"},
		{"1e400 in integer", `{"data": {"object": {"guests": 1e400}}}`, "data.object.guests", "out of range"},
		{"integer above int64", `{"n": 9223372036854775808}`, "n", "64-bit range"},
		{"integer below int64", `{"list": [1, -9223372036854775809]}`, "list.1", "64-bit range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), schema)
			if tc.wantField == "" && tc.wantIn == "" {
				if err != nil {
					t.Fatalf("refused valid input: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if got := e.Field("body"); got != tc.wantField {
				t.Errorf("field %q, want %q", got, tc.wantField)
			}
			if !strings.Contains(e.Reason, tc.wantIn) {
				t.Errorf("reason %q lacks %q", e.Reason, tc.wantIn)
			}
			if !utf8.ValidString(e.Error()) {
				t.Errorf("message is not valid UTF-8: %q", e.Error())
			}
		})
	}
}

func TestCheckSyntax(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `{"a":1,}`, "\"a\x00\"", `{"a":1} {}`, `nul`, `01`} {
		if err := Check([]byte(in), nil); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: got %v, want ErrSyntax", in, err)
		}
	}
}

func TestCheckAtPrefixesPath(t *testing.T) {
	err := CheckAt([]byte(`{"object": {"a": "\ud800"}}`), nil, []string{"data"})
	var e *Error
	if !errors.As(err, &e) || e.Field("body") != "data.object.a" {
		t.Fatalf("got %v", err)
	}
	// The caller's slice is not reused.
	prefix := make([]string, 1, 8)
	prefix[0] = "data"
	_ = CheckAt([]byte(`{"x": {"y": 1e400}}`), nil, prefix)
	if got := prefix[:2][1]; got != "" {
		t.Fatalf("CheckAt wrote into the caller's slice: %q", got)
	}
}

func TestFromJSONSchema(t *testing.T) {
	doc := `{
	  "type": "object",
	  "properties": {
	    "count": {"type": "integer"},
	    "maybe": {"type": ["integer", "null"]},
	    "num_or_int": {"type": ["number", "integer"]},
	    "price": {"type": "number"},
	    "list": {"type": "array", "items": {"type": "integer"}},
	    "ref": {"$ref": "#/$defs/counter"},
	    "both": {"allOf": [{"type": "number"}, {"type": "integer"}]},
	    "either_int": {"anyOf": [{"type": "integer"}, {"type": "integer", "minimum": 5}]},
	    "either_mixed": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
	    "nested": {"properties": {"deep": {"type": "integer"}}}
	  },
	  "additionalProperties": {"type": "integer"},
	  "$defs": {"counter": {"type": "object", "properties": {"n": {"type": "integer"}, "self": {"$ref": "#/$defs/counter"}}}}
	}`
	s, err := FromJSONSchema([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want bool
	}{
		{[]string{"count"}, true},
		{[]string{"maybe"}, true},
		{[]string{"num_or_int"}, false},
		{[]string{"price"}, false},
		{[]string{"list", "*"}, true},
		{[]string{"list"}, false},
		{[]string{"ref", "n"}, true},
		{[]string{"ref", "self", "self", "n"}, true},
		{[]string{"both"}, true},
		{[]string{"either_int"}, true},
		{[]string{"either_mixed"}, false},
		{[]string{"nested", "deep"}, true},
		{[]string{"unlisted"}, true}, // additionalProperties
	} {
		cur := s
		for _, seg := range tc.path {
			if cur == nil {
				break
			}
			if seg == "*" {
				cur = cur.Items()
			} else {
				cur = cur.Property(seg)
			}
		}
		if got := cur != nil && cur.Integer(); got != tc.want {
			t.Errorf("%v: integer %v, want %v", tc.path, got, tc.want)
		}
	}
	if err := Check([]byte(`{"ref": {"self": {"n": 2.5}}}`), s); err == nil || !strings.Contains(err.Error(), "ref.self.n") {
		t.Fatalf("through $ref: %v", err)
	}
	if _, err := FromJSONSchema([]byte(`{`)); err == nil {
		t.Fatal("broken schema accepted")
	}
}

// FuzzCheck compares Check with what encoding/json can tell: Check never
// panics, refuses exactly the syntax json.Valid refuses, and whatever it
// accepts is valid UTF-8 with no duplicate keys, NUL characters or
// overflowing numbers, and "n" (declared integer) fits an int64.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"a": 1, "b": [true, null, "x\u00e9"]}`, `{"a": 1, "a": 2}`, `{"a": "\ud800"}`, `{"a": "\ud83d\ude00"}`,
		`{"a": "\u0000"}`, "{\"a\": \"\xff\"}", `{"n": 1e400}`, `{"n": 1.5}`, `{"n": 9223372036854775808}`,
		`[{"a": 1}, {"a": 1}]`, `{"a": 1, "\u0061": 2}`, `"\udc00\ud800"`, `{"n": -0}`, `{`,
	} {
		f.Add([]byte(seed))
	}
	schema := pathSchema{ints: ints{"n": true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data, schema)
		if !json.Valid(data) {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("invalid JSON %q: got %v", data, err)
			}
			return
		}
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("%q: unexpected error type %T", data, err)
		}
		if err != nil {
			if !utf8.ValidString(e.Error()) {
				t.Fatalf("message not UTF-8: %q", e.Error())
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8: %q", data)
		}
		if problem := reference(data); problem != "" {
			t.Fatalf("accepted %q: %s", data, problem)
		}
	})
}

// reference walks data with encoding/json's tokenizer, independently of
// Check, and names a problem Check must have refused.
func reference(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		keys    map[string]bool
		wantKey bool
		key     string
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return "tokenizer: " + err.Error()
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.wantKey
		if s, ok := tok.(string); ok && isKey {
			if top.keys[s] {
				return "duplicate key " + strconv.Quote(s)
			}
			top.keys[s] = true
			top.key, top.wantKey = s, false
			if strings.ContainsRune(s, 0) {
				return "NUL in key"
			}
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, wantKey: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if strings.ContainsRune(v, 0) {
				return "NUL in string"
			}
		case json.Number:
			if f, err := strconv.ParseFloat(string(v), 64); err != nil && math.IsInf(f, 0) {
				return "overflow " + string(v)
			}
			if len(stack) == 1 && top.object && top.key == "n" {
				if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
					return "n is not an int64: " + string(v)
				}
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// BenchmarkCheckEvent measures the check on a typical posted event
// (go test ./jsonstrict -bench . -run XXX).
func BenchmarkCheckEvent(b *testing.B) {
	body := []byte(`{"id": "evt_1", "type": "registration.confirmed", "created": 1767225600, "data": {"object": {` +
		`"id": "reg_1", "event_id": "evt_9", "user_id": "usr_1", "user_email": "ada@example.com", "user_name": "Ada Lovelace",` +
		`"status": "confirmed", "ticket_type": "standard", "guests": 1, "dietary_restrictions": null,` +
		`"answers": {"company": "Analytical Engines Ltd", "t_shirt": "M"}, "registered_at": "2026-01-01T10:00:00Z"}}}`)
	schema := pathSchema{ints: ints{"created": true, "data.object.guests": true}}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Check(body, schema); err != nil {
			b.Fatal(err)
		}
	}
}
