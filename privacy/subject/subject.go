// Package subject is the domain of data-subject requests: who a subject
// is (an email and/or an Aqio user id), how they are recognised in stored
// text and JSON, and how that text is irreversibly redacted. The store
// finds candidate rows; this package decides what in them is the
// subject's and rewrites it. See docs/PRIVACY.md.
package subject

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces every erased value.
const Redacted = "[erased]"

// Subject is a data subject. Email and UserID are what the request
// named; Emails and Names are what the erasure found out about them
// (e.g. the address of a user id, the names registrations carried).
type Subject struct {
	Email  string   `json:"email,omitempty"`
	UserID string   `json:"user_id,omitempty"`
	Emails []string `json:"emails,omitempty"`
	Names  []string `json:"names,omitempty"`
}

// NormalizeEmail lower-cases and trims an address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// EmailHash is the SHA-256 (hex) of the normalized address: what the
// suppression list and the privacy.erasure_requested event carry.
func EmailHash(email string) string {
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// UserIDHash is the SHA-256 (hex) of a user id ("" for none).
func UserIDHash(id string) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("user:" + id))
	return hex.EncodeToString(sum[:])
}

// AllEmails are the subject's addresses, normalized, de-duplicated.
func (s Subject) AllEmails() []string {
	var out []string
	for _, e := range append([]string{s.Email}, s.Emails...) {
		if e = NormalizeEmail(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// Merge adds discovered addresses and names; it reports whether any is new.
func (s *Subject) Merge(emails, names []string) bool {
	changed := false
	for _, e := range emails {
		if e = NormalizeEmail(e); e != "" && e != NormalizeEmail(s.Email) && !slices.Contains(s.Emails, e) {
			s.Emails = append(s.Emails, e)
			changed = true
		}
	}
	for _, n := range names {
		if n = strings.TrimSpace(n); len(n) >= 2 && n != Redacted && !containsFold(s.Names, n) {
			s.Names = append(s.Names, n)
			changed = true
		}
	}
	sort.Strings(s.Emails)
	sort.Strings(s.Names)
	return changed
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// nameKeys hold a person's name in Aqio objects and provider answers.
// A bare "name" is not one: in a subject's payment or ticket it names the
// product, and a discovered name is redacted wherever the subject is.
var nameKeys = map[string]bool{
	"user_name": true, "full_name": true, "display_name": true, "first_name": true, "last_name": true,
	"firstname": true, "lastname": true, "fname": true, "lname": true, "attendee_name": true,
}

// keepKeys stay readable in a subject's own object: ids and states that
// say nothing about the person, so the event log still adds up.
var keepKeys = map[string]bool{
	"id": true, "object": true, "event_id": true, "registration_id": true, "payment_id": true, "invitation_id": true,
	"status": true, "type": true, "currency": true, "created_at": true, "updated_at": true, "paid_at": true,
	"cancelled_at": true, "confirmed_at": true, "checked_in_at": true, "ticket_type_id": true,
}

// Matcher recognises and redacts one subject.
type Matcher struct {
	s      Subject
	emails []string
	names  []string // full names
	words  *regexp.Regexp
}

// NewMatcher builds the matcher of a subject.
func NewMatcher(s Subject) *Matcher {
	m := &Matcher{s: s, emails: s.AllEmails()}
	var alts []string
	for _, n := range s.Names {
		m.names = append(m.names, n)
		alts = append(alts, regexp.QuoteMeta(n))
		for _, part := range strings.Fields(n) {
			if len([]rune(part)) >= 3 {
				alts = append(alts, regexp.QuoteMeta(part))
			}
		}
	}
	for _, e := range m.emails {
		alts = append(alts, regexp.QuoteMeta(e))
		// The address JSON-escaped, as it appears inside a quoted excerpt.
		if b, _ := json.Marshal(e); len(b) > 2 && string(b[1:len(b)-1]) != e {
			alts = append(alts, regexp.QuoteMeta(string(b[1:len(b)-1])))
		}
	}
	if len(alts) > 0 {
		// Longest first, so a full name wins over its parts.
		sort.Slice(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
		m.words = regexp.MustCompile(`(?i)(?:` + strings.Join(alts, "|") + `)`)
	}
	return m
}

// UserID is the subject's Aqio user id ("" when not known).
func (m *Matcher) UserID() string { return m.s.UserID }

// Emails are the subject's normalized addresses.
func (m *Matcher) Emails() []string { return append([]string(nil), m.emails...) }

// Subject returns the matcher's subject.
func (m *Matcher) Subject() Subject { return m.s }

// Needles are lower-cased substrings whose presence makes a row a
// candidate (the store's LIKE filters): addresses, full names, user id.
func (m *Matcher) Needles() []string {
	out := append([]string(nil), m.emails...)
	for _, n := range m.names {
		out = append(out, strings.ToLower(n))
	}
	if m.s.UserID != "" {
		out = append(out, strings.ToLower(m.s.UserID))
	}
	return out
}

// isSubjectObject: a JSON object is the subject's when one of its own
// string values is one of their addresses, or its user_id is theirs.
func (m *Matcher) isSubjectObject(obj map[string]any) bool {
	for k, v := range obj {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if (k == "user_id" || k == "userId") && m.s.UserID != "" && s == m.s.UserID {
			return true
		}
		if slices.Contains(m.emails, NormalizeEmail(s)) && strings.Contains(s, "@") {
			return true
		}
	}
	return false
}

// Discover walks a JSON document and returns the addresses and names of
// the subject's objects in it (the subject named by user id only learns
// their address this way).
func (m *Matcher) Discover(doc []byte) (emails, names []string) {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return nil, nil
	}
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if m.isSubjectObject(t) {
				for k, x := range t {
					s, ok := x.(string)
					if !ok || s == "" || s == Redacted {
						continue
					}
					if strings.Contains(strings.ToLower(k), "email") && strings.Contains(s, "@") {
						emails = append(emails, s)
					}
					if nameKeys[strings.ToLower(k)] {
						names = append(names, s)
					}
				}
			}
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return emails, names
}

// Mentions reports whether text holds one of the subject's addresses or names.
func (m *Matcher) Mentions(text string) bool {
	if m.words != nil && m.replaceWords(text) != text {
		return true
	}
	lower := strings.ToLower(text)
	for _, e := range m.emails {
		if strings.Contains(lower, e) {
			return true
		}
	}
	return false
}

// Redact rewrites text so that nothing of the subject is left: in a JSON
// document, every personal value of the subject's own objects (all but
// ids and states) and every mention of their addresses and names
// anywhere; in other text, every mention. It reports whether it changed
// anything. Redacting redacted text changes nothing.
func (m *Matcher) Redact(text string) (string, bool) {
	trimmed := strings.TrimSpace(text)
	if strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[") {
		var v any
		if json.Unmarshal([]byte(trimmed), &v) == nil {
			changed := false
			v = m.redactValue(v, false, &changed)
			if !changed {
				return text, false
			}
			b, err := json.Marshal(v)
			if err == nil {
				return string(b), true
			}
		}
	}
	out := m.redactString(text)
	return out, out != text
}

func (m *Matcher) redactValue(v any, own bool, changed *bool) any {
	switch t := v.(type) {
	case map[string]any:
		mine := own || m.isSubjectObject(t)
		for k, x := range t {
			if mine && keepKeys[k] {
				continue
			}
			t[k] = m.redactValue(x, mine, changed)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = m.redactValue(x, own, changed)
		}
		return t
	case string:
		if own && t != "" && t != Redacted {
			*changed = true
			return Redacted
		}
		out := m.redactString(t)
		if out != t {
			*changed = true
		}
		return out
	}
	return v
}

func (m *Matcher) redactString(s string) string {
	s = m.replaceWords(s)
	// Addresses inside longer tokens (mailto:, URL-encoded neighbours).
	lower := strings.ToLower(s)
	for _, e := range m.emails {
		for {
			i := strings.Index(lower, e)
			if i < 0 {
				break
			}
			s = s[:i] + Redacted + s[i+len(e):]
			lower = lower[:i] + Redacted + lower[i+len(e):]
		}
	}
	return s
}

// replaceWords replaces whole-word matches of the names and addresses
// (a letter or digit on either side means another word: "Ada" is not
// "Adam"), Unicode-aware.
func (m *Matcher) replaceWords(s string) string {
	if m.words == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range m.words.FindAllStringIndex(s, -1) {
		if r, _ := utf8.DecodeLastRuneInString(s[:loc[0]]); loc[0] > 0 && isWord(r) {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(s[loc[1]:]); loc[1] < len(s) && isWord(r) {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(Redacted)
		last = loc[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// ObjectEmailHashes returns the EmailHash of every address in a JSON
// document's email fields (keys containing "email"), for the suppression
// list.
func ObjectEmailHashes(doc []byte) []string {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && strings.Contains(strings.ToLower(k), "email") && strings.Contains(s, "@") {
					if h := EmailHash(s); !slices.Contains(out, h) {
						out = append(out, h)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}
