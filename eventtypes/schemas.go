package eventtypes

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// The object schema of each family: "registration.confirmed" uses
// schemas/registration.json.
func familyOf(typeName string) string {
	family, _, _ := strings.Cut(typeName, ".")
	return family
}

type compiled struct {
	raw      map[string]json.RawMessage // family -> schema document
	schemas  map[string]*jsonschema.Schema
	examples map[string]json.RawMessage // type -> example object
}

var load = sync.OnceValues(func() (*compiled, error) {
	c := &compiled{raw: map[string]json.RawMessage{}, schemas: map[string]*jsonschema.Schema{}}
	ex, err := schemaFiles.ReadFile("schemas/examples.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(ex, &c.examples); err != nil {
		return nil, fmt.Errorf("examples.json: %w", err)
	}
	comp := jsonschema.NewCompiler()
	families := map[string]bool{}
	for _, e := range catalog {
		families[familyOf(e.Name)] = true
	}
	for family := range families {
		b, err := schemaFiles.ReadFile("schemas/" + family + ".json")
		if err != nil {
			continue // a type without a published schema accepts any object
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", family, err)
		}
		url := "https://schemas.aqio.app/connect/" + family + ".json"
		if err := comp.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", family, err)
		}
		sch, err := comp.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", family, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			return nil, err
		}
		c.raw[family] = compact.Bytes()
		c.schemas[family] = sch
	}
	return c, nil
})

// mustLoad panics if the embedded files are broken, which the package's
// tests rule out.
func mustLoad() *compiled {
	c, err := load()
	if err != nil {
		panic("eventtypes: " + err.Error())
	}
	return c
}

func schemaFor(typeName string) json.RawMessage { return mustLoad().raw[familyOf(typeName)] }

func exampleFor(typeName string) json.RawMessage {
	ex := mustLoad().examples[typeName]
	if ex == nil {
		return nil
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, ex)
	return compact.Bytes()
}

// FieldError names the data.object field that breaks the type's schema.
type FieldError struct {
	Field   string // e.g. data.object.event_id
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var printer = message.NewPrinter(language.English)

// ValidateObject checks data.object of an event of the given type against
// the type's schema: types and required fields; other properties are
// allowed. It returns a *FieldError for the first offending field (in
// path order), or nil.
func ValidateObject(typeName string, object []byte) error {
	sch := mustLoad().schemas[familyOf(typeName)]
	if sch == nil || !Known(typeName) {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(object))
	if err != nil {
		return &FieldError{Field: "data.object", Message: "must be valid JSON"}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return &FieldError{Field: "data.object", Message: err.Error()}
	}
	var found []*FieldError
	collect(verr, &found)
	if len(found) == 0 {
		return &FieldError{Field: "data.object", Message: "does not match the " + typeName + " schema; see GET /api/event-types"}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Field < found[j].Field })
	return found[0]
}

func collect(e *jsonschema.ValidationError, out *[]*FieldError) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, out)
		}
		return
	}
	field := strings.Join(append([]string{"data", "object"}, e.InstanceLocation...), ".")
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		missing := append([]string(nil), k.Missing...)
		sort.Strings(missing)
		for _, m := range missing {
			*out = append(*out, &FieldError{Field: field + "." + m, Message: "is required"})
		}
	case *kind.Type:
		*out = append(*out, &FieldError{Field: field, Message: fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)})
	default:
		*out = append(*out, &FieldError{Field: field, Message: e.ErrorKind.LocalizedString(printer)})
	}
}
