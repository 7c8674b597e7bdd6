package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aqio/connect/filters"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/payload"
)

// compiler returns the service's CEL compiler, made on first use when the
// caller did not give one. It caches compiled filter expressions.
func (s *Service) compiler() (*filters.Compiler, error) {
	s.filtersOnce.Do(func() {
		if s.Filters == nil {
			s.Filters, s.filtersErr = filters.NewCompiler()
		}
	})
	return s.Filters, s.filtersErr
}

// validateEventFilters checks an event_filters document and returns it
// compacted.
func validateEventFilters(raw []byte) (string, error) {
	if _, err := filters.ParseRules(raw); err != nil {
		var fe *filters.Error
		if errors.As(err, &fe) && fe.Key != "" {
			return "", invalid("event_filters."+fe.Key, "%s", fe.Message)
		}
		return "", invalid("event_filters", "%s", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", invalid("event_filters", "must be a JSON object")
	}
	b, _ := json.Marshal(obj)
	return string(b), nil
}

// validateCustomization checks the filter expression, payload field lists
// and custom headers, and adds their columns (nil clears one).
func (s *Service) validateCustomization(f Fields, cols map[string]any) error {
	if f.FilterExpression != nil {
		var expr *string
		if err := json.Unmarshal(f.FilterExpression, &expr); err != nil {
			return invalid("filter_expression", "must be a string or null")
		}
		if expr == nil {
			cols["filter_expression"] = nil
		} else {
			c, err := s.compiler()
			if err != nil {
				return err
			}
			if _, err := c.Compile(*expr); err != nil {
				var fe *filters.Error
				if errors.As(err, &fe) {
					return invalid("filter_expression", "%s", fe.Message)
				}
				return err
			}
			cols["filter_expression"] = *expr
		}
	}
	for _, list := range []struct {
		field string
		raw   json.RawMessage
	}{{"payload_include", f.PayloadInclude}, {"payload_exclude", f.PayloadExclude}} {
		if list.raw == nil {
			continue
		}
		var paths []string
		if err := json.Unmarshal(list.raw, &paths); err != nil {
			return invalid(list.field, "must be a list of dot-paths such as [\"data.object.user_email\"], or null")
		}
		if len(paths) == 0 {
			cols[list.field] = nil
			continue
		}
		if i, err := payload.ValidatePaths(paths); err != nil {
			return invalid(fmt.Sprintf("%s.%d", list.field, i), "%s", err)
		}
		b, _ := json.Marshal(paths)
		cols[list.field] = string(b)
	}
	// One list at a time: setting one clears the other.
	inc, _ := cols["payload_include"].(string)
	exc, _ := cols["payload_exclude"].(string)
	switch {
	case inc != "" && exc != "":
		return invalid("payload_exclude", "give payload_include or payload_exclude, not both")
	case inc != "":
		cols["payload_exclude"] = nil
	case exc != "":
		cols["payload_include"] = nil
	}
	if f.CustomHeaders != nil {
		var h map[string]string
		if err := json.Unmarshal(f.CustomHeaders, &h); err != nil {
			return invalid("custom_headers", "must be an object of header names to string values, or null")
		}
		if len(h) == 0 {
			cols["custom_headers"] = nil
		} else {
			canon, err := payload.ValidateHeaders(h)
			if err != nil {
				var he *payload.HeaderError
				if errors.As(err, &he) && he.Name != "" {
					return invalid("custom_headers."+he.Name, "%s", he.Message)
				}
				return invalid("custom_headers", "%s", err)
			}
			b, _ := json.Marshal(canon)
			cols["custom_headers"] = string(b)
		}
	}
	return nil
}

// applyCustomization copies validated columns into a new webhook.
func applyCustomization(cols map[string]any, w *models.Webhook) {
	set := func(col string, dst **string) {
		if v, ok := cols[col].(string); ok {
			*dst = &v
		}
	}
	set("filter_expression", &w.FilterExpression)
	set("payload_include", &w.PayloadInclude)
	set("payload_exclude", &w.PayloadExclude)
	set("custom_headers", &w.CustomHeaders)
}

// matcher decides, per webhook, whether an event passes its event_filters
// and filter_expression. The event is decoded at most once.
type matcher struct {
	s       *Service
	payload []byte
	ev      *filters.Event
	evErr   error
}

func (m *matcher) event() (filters.Event, error) {
	if m.ev == nil && m.evErr == nil {
		ev, err := filters.ParseEvent(m.payload)
		m.ev, m.evErr = &ev, err
	}
	if m.evErr != nil {
		return filters.Event{}, m.evErr
	}
	return *m.ev, nil
}

// wants reports whether w's filters let the event through. A filter that
// cannot be read or evaluated lets nothing through.
func (m *matcher) wants(w models.Webhook) bool {
	hasRules := w.EventFilters != nil && strings.TrimSpace(*w.EventFilters) != "" && strings.TrimSpace(*w.EventFilters) != "null"
	hasExpr := w.FilterExpression != nil && *w.FilterExpression != ""
	if !hasRules && !hasExpr {
		return true
	}
	ev, err := m.event()
	if err != nil {
		return false
	}
	if hasRules {
		rules, err := filters.ParseRules([]byte(*w.EventFilters))
		if err != nil || !rules.Match(ev.Object()) {
			return false
		}
	}
	if hasExpr {
		c, err := m.s.compiler()
		if err != nil {
			return false
		}
		x, err := c.Compile(*w.FilterExpression)
		if err != nil || !x.Match(ev) {
			return false
		}
	}
	return true
}
