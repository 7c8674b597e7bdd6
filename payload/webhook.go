package payload

import (
	"encoding/json"
	"fmt"

	"github.com/aqio/connect/models"
)

// ForWebhook reads a webhook's stored payload settings and custom headers.
func ForWebhook(w models.Webhook) (Settings, map[string]string, error) {
	s := Settings{ContentType: w.ContentType}
	if err := decodeColumn(w.PayloadInclude, &s.Include); err != nil {
		return Settings{}, nil, fmt.Errorf("payload_include of webhook %s: %w", w.ID, err)
	}
	if err := decodeColumn(w.PayloadExclude, &s.Exclude); err != nil {
		return Settings{}, nil, fmt.Errorf("payload_exclude of webhook %s: %w", w.ID, err)
	}
	var headers map[string]string
	if err := decodeColumn(w.CustomHeaders, &headers); err != nil {
		return Settings{}, nil, fmt.Errorf("custom_headers of webhook %s: %w", w.ID, err)
	}
	return s, headers, nil
}

func decodeColumn(col *string, v any) error {
	if col == nil || *col == "" {
		return nil
	}
	return json.Unmarshal([]byte(*col), v)
}
