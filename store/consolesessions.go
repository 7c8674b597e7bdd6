package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/aqio/connect/models"
)

// GetConsoleSession loads a console session by the SHA-256 of its cookie
// value; ErrNotFound when there is none or it has expired.
func (s *Store) GetConsoleSession(ctx context.Context, idHash string, now time.Time) (models.ConsoleSession, error) {
	var row models.ConsoleSession
	err := s.db.WithContext(ctx).Where("id_hash = ? AND expires_at > ?", idHash, now.UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, ErrNotFound
	}
	if err != nil {
		return row, fmt.Errorf("console session: %w", err)
	}
	return row, nil
}

// PutConsoleSession creates or replaces a console session.
func (s *Store) PutConsoleSession(ctx context.Context, row models.ConsoleSession) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id_hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"auth", "organization_id", "user_id", "csrf_token", "credential", "refresh_token", "token_expires_at", "expires_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save console session: %w", err)
	}
	return nil
}

// DeleteConsoleSession ends a console session.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	if err := s.db.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&models.ConsoleSession{}).Error; err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}

// DeleteExpiredConsoleSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredConsoleSessions(ctx context.Context, now time.Time) error {
	if err := s.db.WithContext(ctx).Where("expires_at <= ?", now.UTC()).Delete(&models.ConsoleSession{}).Error; err != nil {
		return fmt.Errorf("delete expired console sessions: %w", err)
	}
	return nil
}
