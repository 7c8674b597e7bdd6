package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// SettingsError names the offending settings field.
type SettingsError struct {
	Field   string
	Message string
}

func (e *SettingsError) Error() string { return e.Field + ": " + e.Message }

// DecodeSettings decodes a settings object strictly into v: unknown
// fields are refused with their name.
func DecodeSettings(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return &SettingsError{Field: "settings." + typ.Field, Message: "must be " + typ.Type.String()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &SettingsError{Field: "settings." + f, Message: "unknown setting " + f}
		case errors.Is(err, io.EOF):
			return nil
		}
		return &SettingsError{Field: "settings", Message: "must be a JSON object"}
	}
	return nil
}

// DecodeObject accepts any JSON object as settings (connectors without settings).
func DecodeObject(raw []byte) (any, error) {
	var m map[string]any
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return map[string]any{}, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, &SettingsError{Field: "settings", Message: "must be a JSON object"}
	}
	return m, nil
}
