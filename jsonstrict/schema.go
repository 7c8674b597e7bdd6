package jsonstrict

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AllOf is a schema whose value must match every one of schemas (JSON
// Schema allOf): a number must be an integer if any of them says so.
func AllOf(schemas ...Schema) Schema { return combined{all: true, of: schemas}.simplify() }

// AnyOf is a schema whose value must match one of schemas (anyOf, oneOf):
// a number must be an integer only if every alternative says so.
func AnyOf(schemas ...Schema) Schema { return combined{of: schemas}.simplify() }

type combined struct {
	all bool
	of  []Schema
}

func compact(schemas []Schema) []Schema {
	out := schemas[:0:0]
	for _, s := range schemas {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (c combined) Property(name string) Schema {
	subs := make([]Schema, len(c.of))
	for i, s := range c.of {
		if s != nil {
			subs[i] = s.Property(name)
		}
	}
	return combined{all: c.all, of: subs}.simplify()
}

func (c combined) Items() Schema {
	subs := make([]Schema, len(c.of))
	for i, s := range c.of {
		if s != nil {
			subs[i] = s.Items()
		}
	}
	return combined{all: c.all, of: subs}.simplify()
}

func (c combined) Integer() bool {
	if len(c.of) == 0 {
		return false
	}
	for _, s := range c.of {
		is := s != nil && s.Integer()
		if c.all && is {
			return true
		}
		if !c.all && !is {
			return false
		}
	}
	return !c.all
}

// simplify drops what cannot constrain: unknown members of an allOf, and
// an anyOf with an unknown alternative (that alternative allows anything).
func (c combined) simplify() Schema {
	if c.all {
		c.of = compact(c.of)
	} else {
		for _, s := range c.of {
			if s == nil {
				return nil
			}
		}
	}
	switch len(c.of) {
	case 0:
		return nil
	case 1:
		return c.of[0]
	}
	return c
}

// FromJSONSchema reads a JSON Schema document (the keywords type,
// properties, additionalProperties, items, allOf, anyOf, oneOf and local
// $ref are understood; others are ignored).
func FromJSONSchema(doc []byte) (Schema, error) {
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return jsonSchema{root: root, node: root}.resolve(), nil
}

type jsonSchema struct {
	root, node any
	depth      int // $ref hops, to stop reference cycles
}

func (j jsonSchema) obj() map[string]any {
	m, _ := j.node.(map[string]any)
	return m
}

func (j jsonSchema) at(node any) Schema {
	if node == nil {
		return nil
	}
	return jsonSchema{root: j.root, node: node, depth: j.depth}.resolve()
}

// resolve follows $ref and folds allOf/anyOf/oneOf into combinators.
func (j jsonSchema) resolve() Schema {
	m := j.obj()
	if m == nil {
		return nil // true/false schemas do not declare integers
	}
	if ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#") && j.depth < 32 {
		target := pointer(j.root, strings.TrimPrefix(ref, "#"))
		return AllOf(jsonSchema{root: j.root, node: withoutRef(m), depth: j.depth}.resolve(), jsonSchema{root: j.root, node: target, depth: j.depth + 1}.resolve())
	}
	parts := []Schema{jsonSchema{root: j.root, node: m, depth: j.depth}.self()}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := m[key].([]any)
		if len(list) == 0 {
			continue
		}
		subs := make([]Schema, len(list))
		for i, n := range list {
			subs[i] = j.at(n)
		}
		if key == "allOf" {
			parts = append(parts, AllOf(subs...))
		} else {
			parts = append(parts, AnyOf(subs...))
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return AllOf(parts...)
}

func withoutRef(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "$ref" {
			out[k] = v
		}
	}
	return out
}

// self is the node's own keywords, combinators aside.
func (j jsonSchema) self() Schema { return plainJSONSchema(j) }

type plainJSONSchema jsonSchema

func (p plainJSONSchema) Property(name string) Schema {
	j := jsonSchema(p)
	m := j.obj()
	if props, ok := m["properties"].(map[string]any); ok {
		if n, ok := props[name]; ok {
			return j.at(n)
		}
	}
	return j.at(m["additionalProperties"])
}

func (p plainJSONSchema) Items() Schema {
	j := jsonSchema(p)
	return j.at(j.obj()["items"])
}

func (p plainJSONSchema) Integer() bool {
	switch t := jsonSchema(p).obj()["type"].(type) {
	case string:
		return t == "integer"
	case []any:
		integer := false
		for _, v := range t {
			switch v {
			case "integer":
				integer = true
			case "number":
				return false
			}
		}
		return integer
	}
	return false
}

// pointer resolves a JSON Pointer (RFC 6901) inside doc, or nil.
func pointer(doc any, ptr string) any {
	if ptr == "" {
		return doc
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[tok]
	}
	return doc
}
