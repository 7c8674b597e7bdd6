// Package jsonstrict refuses JSON that encoding/json would accept but that
// cannot be stored or forwarded faithfully: invalid UTF-8, unpaired
// surrogate escapes, NUL characters, duplicate object keys, numbers that
// overflow a 64-bit float, and non-integers where a schema declares an
// integer. encoding/json silently replaces invalid UTF-8 and lone
// surrogates with U+FFFD and keeps the last of duplicate keys, so the
// checks look at the raw bytes.
package jsonstrict

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrSyntax is returned for input that is not JSON at all.
var ErrSyntax = errors.New("not valid JSON")

// Error names the first offending value.
type Error struct {
	// Path is the value's location: object keys and array indexes
	// (as decimal strings) from the root; empty for the root value.
	Path []string
	// Reason says what is wrong, without the path.
	Reason string
}

// Field is the dotted path ("data.object.name", "events.0"), or root
// when the root value itself is at fault.
func (e *Error) Field(root string) string {
	if len(e.Path) == 0 {
		return root
	}
	return strings.Join(e.Path, ".")
}

func (e *Error) Error() string { return e.Field("body") + ": " + e.Reason }

// Schema tells the checker which values must be integers. A nil Schema
// knows nothing (only the schema-free checks apply).
type Schema interface {
	// Property is the schema of an object's member name, or nil.
	Property(name string) Schema
	// Items is the schema of an array's elements, or nil.
	Items() Schema
	// Integer reports whether a number here must be an integer.
	Integer() bool
}

// Check reports the first problem in data in document order, as an
// *Error, or ErrSyntax when data is not JSON.
func Check(data []byte, s Schema) error {
	return CheckAt(data, s, nil)
}

// CheckAt is Check for a value found at path inside a larger document:
// reported paths start with path.
func CheckAt(data []byte, s Schema, path []string) error {
	if !json.Valid(data) {
		return ErrSyntax
	}
	c := &checker{data: data, path: append([]string(nil), path...)}
	return c.value(s)
}

type checker struct {
	data []byte
	pos  int
	path []string
}

func (c *checker) fail(reason string) error {
	return &Error{Path: append([]string(nil), c.path...), Reason: reason}
}

func (c *checker) skipSpace() {
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value checks one value; the input is known to be valid JSON.
func (c *checker) value(s Schema) error {
	c.skipSpace()
	switch c.data[c.pos] {
	case '{':
		return c.object(s)
	case '[':
		return c.array(s)
	case '"':
		_, reason := c.str(false)
		if reason != "" {
			return c.fail(reason)
		}
		return nil
	case 't', 'n':
		c.pos += 4
		return nil
	case 'f':
		c.pos += 5
		return nil
	default:
		return c.number(s)
	}
}

func (c *checker) object(s Schema) error {
	c.pos++ // {
	c.skipSpace()
	if c.data[c.pos] == '}' {
		c.pos++
		return nil
	}
	seen := map[string]bool{}
	for {
		c.skipSpace()
		key, reason := c.str(true)
		c.path = append(c.path, printable(key))
		if reason != "" {
			return c.fail("the field name " + reason)
		}
		if seen[key] {
			return c.fail("appears more than once in the same object")
		}
		seen[key] = true
		c.skipSpace()
		c.pos++ // :
		var sub Schema
		if s != nil {
			sub = s.Property(key)
		}
		if err := c.value(sub); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.skipSpace()
		if c.data[c.pos] == '}' {
			c.pos++
			return nil
		}
		c.pos++ // ,
	}
}

func (c *checker) array(s Schema) error {
	c.pos++ // [
	c.skipSpace()
	if c.data[c.pos] == ']' {
		c.pos++
		return nil
	}
	var items Schema
	if s != nil {
		items = s.Items()
	}
	for i := 0; ; i++ {
		c.path = append(c.path, strconv.Itoa(i))
		if err := c.value(items); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.skipSpace()
		if c.data[c.pos] == ']' {
			c.pos++
			return nil
		}
		c.pos++ // ,
	}
}

// str reads a string literal and returns the first problem in it (""
// when none) and, if keep, its value (invalid bytes kept as they are).
func (c *checker) str(keep bool) (string, string) {
	c.pos++ // opening quote
	var b []byte
	reason := ""
	note := func(r string) {
		if reason == "" {
			reason = r
		}
	}
	for {
		ch := c.data[c.pos]
		switch {
		case ch == '"':
			c.pos++
			if !keep {
				return "", reason
			}
			return string(b), reason
		case ch == '\\':
			esc := c.data[c.pos+1]
			if esc != 'u' {
				b = append(b, unescape[esc])
				c.pos += 2
				continue
			}
			r := hex4(c.data[c.pos+2 : c.pos+6])
			c.pos += 6
			switch {
			case r == 0:
				note(`contains a NUL character (\u0000), which is not accepted`)
			case r >= 0xD800 && r < 0xDC00:
				if c.pos+6 <= len(c.data) && c.data[c.pos] == '\\' && c.data[c.pos+1] == 'u' {
					if lo := hex4(c.data[c.pos+2 : c.pos+6]); lo >= 0xDC00 && lo <= 0xDFFF {
						c.pos += 6
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						break
					}
				}
				note(`contains an unpaired surrogate escape (\u` + strconv.FormatInt(int64(r), 16) + `)`)
				r = utf8.RuneError
			case r >= 0xDC00 && r <= 0xDFFF:
				note(`contains an unpaired surrogate escape (\u` + strconv.FormatInt(int64(r), 16) + `)`)
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		case ch < utf8.RuneSelf:
			if keep {
				b = append(b, ch)
			}
			c.pos++
		default:
			r, size := utf8.DecodeRune(c.data[c.pos:])
			if r == utf8.RuneError && size == 1 {
				note("is not valid UTF-8")
			}
			b = append(b, c.data[c.pos:c.pos+size]...)
			c.pos += size
		}
	}
}

var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hex4(h []byte) rune {
	var r rune
	for _, ch := range h {
		r <<= 4
		switch {
		case ch >= '0' && ch <= '9':
			r |= rune(ch - '0')
		case ch >= 'a' && ch <= 'f':
			r |= rune(ch - 'a' + 10)
		case ch >= 'A' && ch <= 'F':
			r |= rune(ch - 'A' + 10)
		}
	}
	return r
}

func (c *checker) number(s Schema) error {
	start := c.pos
	for c.pos < len(c.data) && strings.IndexByte("+-.eE0123456789", c.data[c.pos]) >= 0 {
		c.pos++
	}
	lit := string(c.data[start:c.pos])
	if f, err := strconv.ParseFloat(lit, 64); err != nil && math.IsInf(f, 0) {
		return c.fail("number " + short(lit) + " is out of range (larger than a 64-bit float)")
	}
	if s != nil && s.Integer() {
		if strings.ContainsAny(lit, ".eE") {
			return c.fail("must be an integer written without a fraction or exponent, not " + short(lit))
		}
		if _, err := strconv.ParseInt(lit, 10, 64); err != nil {
			return c.fail("integer " + short(lit) + " is out of the 64-bit range")
		}
	}
	return nil
}

func short(lit string) string {
	if len(lit) > 40 {
		return lit[:37] + "..."
	}
	return lit
}

// printable makes a key safe to show in a path: invalid UTF-8 and
// control characters become U+FFFD.
func printable(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
