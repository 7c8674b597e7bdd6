package models

import "time"

// IntegrationPush is one push (an Aqio domain event applied to one
// integration by a Push workflow run), written by its activity.
type IntegrationPush struct {
	ID              string `gorm:"primaryKey"`
	IntegrationID   string
	OrganizationID  string
	EventID         string
	EventType       string
	Status          string // running, succeeded, skipped, failed
	Action          *string
	ExternalID      *string
	Detail          *string
	ErrorCode       *string
	ErrorMessage    *string
	Request         *string // "POST https://…" of the last provider call (no query, no credentials)
	ResponseStatus  *int
	ResponseExcerpt *string
	Attempts        int
	WorkflowID      string
	RetryOf         *string
	StartedAt       time.Time
	CompletedAt     *time.Time
	UpdatedAt       time.Time
}

// Push statuses.
const (
	PushRunning   = "running"
	PushSucceeded = "succeeded"
	PushSkipped   = "skipped"
	PushFailed    = "failed"
)

// IntegrationTokenRefresh is one token refresh (by the refresh loop or
// the refresh-once-on-401 path of an action).
type IntegrationTokenRefresh struct {
	ID             string `gorm:"primaryKey"`
	IntegrationID  string
	OrganizationID string
	Status         string // succeeded or failed
	Trigger        string // schedule or expired
	Rotated        bool
	ErrorCode      *string
	ErrorMessage   *string
	WorkflowID     *string
	StartedAt      time.Time
	CompletedAt    *time.Time
}
