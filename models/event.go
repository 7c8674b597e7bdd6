package models

import "time"

// Event is a domain event posted by the Aqio app, kept so deliveries can
// load their payload by id (no personal data in workflow history) and so
// a repeated post is recognised.
type Event struct {
	OrganizationID string `gorm:"primaryKey"`
	ID             string `gorm:"primaryKey"`
	Type           string
	IdempotencyKey *string
	Payload        string
	CreatedUnix    int64
	ReceivedAt     time.Time
	DispatchedAt   *time.Time
	Dispatch       *string // JSON list of started deliveries
}
