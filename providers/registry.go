package providers

import (
	"fmt"
	"net/http"
	"sort"
)

// Registry holds the connectors by integration type. providers/registry
// builds the one the service uses; nothing else knows provider types.
type Registry struct {
	byType map[string]Connector
}

// NewRegistry registers connectors; a duplicate or empty type panics (a
// programming error caught by any test).
func NewRegistry(cs ...Connector) *Registry {
	r := &Registry{byType: map[string]Connector{}}
	for _, c := range cs {
		t := c.Info().Type
		if t == "" {
			panic("providers: connector without a type")
		}
		if _, dup := r.byType[t]; dup {
			panic(fmt.Sprintf("providers: connector %q registered twice", t))
		}
		r.byType[t] = c
	}
	return r
}

// Get returns the connector of an integration type.
func (r *Registry) Get(typ string) (Connector, bool) {
	c, ok := r.byType[typ]
	return c, ok
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.byType))
	for t := range r.byType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Planned is a catalog entry for a provider whose connector is not built
// yet: listed (available false), not connectable.
func Planned(info Info) Connector {
	info.Available = false
	return planned{info}
}

type planned struct{ info Info }

func (p planned) Info() Info                            { return p.info }
func (p planned) ParseSettings(raw []byte) (any, error) { return DecodeObject(raw) }
func (p planned) SettingsSchema() map[string]any        { return map[string]any{"type": "object"} }
func (p planned) Actions() map[string]Action            { return nil }
func (p planned) Classify(resp *http.Response, body []byte) *Error {
	return ClassifyHTTP(p.info.Type, p.info.RateLimit, resp, body)
}
