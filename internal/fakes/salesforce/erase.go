package salesforce

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// soqlLit is a SOQL string literal (backslash escapes).
const soqlLit = `'((?:[^'\\]|\\.)*)'`

var (
	personByEmail = regexp.MustCompile(`(?i)^SELECT\s+Id\s*,\s*Name\s+FROM\s+(Contact|Lead)\s+WHERE\s+Email\s*=\s*` + soqlLit + `\s*$`)
	oppsOfPerson  = regexp.MustCompile(`(?i)^SELECT\s+Id\s+FROM\s+Opportunity\s+WHERE\s+LeadSource\s*=\s*` + soqlLit + `\s+AND\s+\((.*)\)\s*$`)
	oppTerm       = regexp.MustCompile(`(?i)^\s*(ContactId\s*=|Name\s+LIKE)\s*` + soqlLit + `\s*(?:OR\s+|$)`)
)

// unescape reads a SOQL literal's escapes (\' \\ \" \n \t; \% and \_ stay
// escaped for LIKE).
func unescape(s string, like bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%', '_', '\\':
			if like {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// likeRegexp turns a LIKE pattern (% any run, _ one character, \% \_
// literal; case-insensitive) into a regexp.
func likeRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			i++
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString("(?:.)")
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (f *Fake) attrs(typ, id string) map[string]any {
	return map[string]any{"type": typ, "url": f.url(typ, id)}
}

// erasureQuery answers the erasure lookups; false when q is neither.
func (f *Fake) erasureQuery(w http.ResponseWriter, q string) bool {
	var recs []map[string]any
	f.mu.Lock()
	if m := personByEmail.FindStringSubmatch(q); m != nil {
		typ := "Contact"
		if strings.EqualFold(m[1], "Lead") {
			typ = "Lead"
		}
		email := unescape(m[2], false)
		for _, rec := range f.records[typ] {
			if e, _ := rec.Fields["Email"].(string); strings.EqualFold(e, email) {
				first, _ := rec.Fields["FirstName"].(string)
				last, _ := rec.Fields["LastName"].(string)
				recs = append(recs, map[string]any{"attributes": f.attrs(typ, rec.ID), "Id": rec.ID, "Name": strings.TrimSpace(first + " " + last)})
			}
		}
	} else if m := oppsOfPerson.FindStringSubmatch(q); m != nil {
		source := unescape(m[1], false)
		var contacts []string
		var likes []*regexp.Regexp
		for rest := m[2]; strings.TrimSpace(rest) != ""; {
			t := oppTerm.FindStringSubmatch(rest)
			if t == nil {
				f.mu.Unlock()
				writeError(w, http.StatusBadRequest, "MALFORMED_QUERY", "unexpected token in the Opportunity condition (the fake knows ContactId = and Name LIKE joined by OR)")
				return true
			}
			rest = rest[len(t[0]):]
			if strings.HasPrefix(strings.ToLower(t[1]), "contactid") {
				contacts = append(contacts, unescape(t[2], false))
			} else {
				likes = append(likes, likeRegexp(unescape(t[2], true)))
			}
		}
		for _, rec := range f.records["Opportunity"] {
			src, _ := rec.Fields["LeadSource"].(string)
			cid, _ := rec.Fields["ContactId"].(string)
			name, _ := rec.Fields["Name"].(string)
			match := false
			for _, c := range contacts {
				match = match || (cid != "" && cid == c)
			}
			for _, l := range likes {
				match = match || l.MatchString(name)
			}
			if strings.EqualFold(src, source) && match {
				recs = append(recs, map[string]any{"attributes": f.attrs("Opportunity", rec.ID), "Id": rec.ID})
			}
		}
	} else {
		f.mu.Unlock()
		return false
	}
	f.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i]["Id"].(string) < recs[j]["Id"].(string) })
	if recs == nil {
		recs = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs})
	return true
}

// deleteRecord is DELETE /sobjects/{SObject}/{id}: 204, or 404
// [{"errorCode":"ENTITY_IS_DELETED"}] for a record already gone. A
// Contact's or Lead's campaign memberships are deleted with it.
func (f *Fake) deleteRecord(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.records[typ][id]; !ok {
		writeError(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
		return
	}
	delete(f.records[typ], id)
	if typ == "Contact" || typ == "Lead" {
		for mid, m := range f.records["CampaignMember"] {
			if m.Fields[typ+"Id"] == id {
				delete(f.records["CampaignMember"], mid)
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
