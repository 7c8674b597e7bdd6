package filters

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		expr    string
		wantMsg string
	}{
		{"empty", "  ", "must not be empty"},
		{"syntax", `data.object.location_type == `, "invalid CEL"},
		{"unknown variable", `evt.type == "x"`, "undeclared reference"},
		{"not bool", `data.object.title`, "must evaluate to a bool"},
		{"int result", `created + 1`, "must evaluate to a bool"},
		{"type is a built-in", `type == "event.created"`, "invalid CEL"},
		{"type mismatch", `id == 1`, "invalid CEL"},
		{"too long", strings.Repeat("true && ", 600) + "true", "at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Compile(tc.expr)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%q) = %v, want *Error", tc.expr, err)
			}
			if !strings.Contains(fe.Message, tc.wantMsg) {
				t.Fatalf("message %q does not contain %q", fe.Message, tc.wantMsg)
			}
			if strings.Contains(fe.Message, "\n") {
				t.Fatalf("message spans lines: %q", fe.Message)
			}
		})
	}
}

func TestExpressionMatch(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvent([]byte(conference))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		expr    string
		want    bool
		wantErr bool
	}{
		{"issue example", `data.object.location_type == "virtual" && data.object.max_attendees >= 50`, true, false},
		{"issue example false", `data.object.location_type == "virtual" && data.object.max_attendees >= 500`, false, false},
		{"envelope type", `event.type.startsWith("event.")`, true, false},
		{"envelope id and org", `id == "evt_1" && organization_id == "org_1"`, true, false},
		{"whole envelope", `event.data.object.id == "ev_1" && event.created == created`, true, false},
		{"created is int", `created > 1700000000`, true, false},
		{"int compared with double", `data.object.price > 40`, true, false},
		{"double field equals", `data.object.price == 49.5`, true, false},
		{"list membership", `"go" in data.object.tags`, true, false},
		{"exists macro", `data.object.speakers.exists(s, s.name == "Ana")`, true, false},
		{"has on present key", `has(data.object.venue.city)`, true, false},
		{"has on missing key", `has(data.object.discount)`, false, false},
		{"string extension", `data.object.title.lowerAscii().contains("go")`, true, false},
		{"missing key is an error", `data.object.discount > 0`, false, true},
		{"dyn type mismatch is an error", `data.object.title > 3`, false, true},
		{"cost limit", `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))`, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := c.Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := x.Eval(ev)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Eval err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("Eval = %v, want %v", got, tc.want)
			}
			if x.Match(ev) != (tc.want && !tc.wantErr) {
				t.Fatalf("Match disagrees with Eval")
			}
		})
	}
}

func TestCompileCachesByText(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Compile(`event.type == "event.created"`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Compile(`event.type == "event.created"`)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("the same text compiled twice")
	}
	other, _ := c.Compile(`event.type == "event.updated"`)
	if other == a {
		t.Fatal("different texts share a program")
	}
}
