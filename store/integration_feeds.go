package store

import (
	"context"

	"github.com/aqio/connect/models"
)

// GetIntegrationByID loads an integration without an organization: only
// for a public feed URL, which carries the integration id beside a secret
// token the caller must check.
func (s *Store) GetIntegrationByID(ctx context.Context, id string) (models.Integration, error) {
	var in models.Integration
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&in).Error
	return in, notFound(err)
}
