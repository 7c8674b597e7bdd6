package models

import "time"

// ParkedMessage is a message an endpoint's workflow owes a retry (see
// migrations/00013_webhook_endpoint.sql).
type ParkedMessage struct {
	WebhookID      string `gorm:"primaryKey"`
	EventID        string `gorm:"primaryKey"`
	OrganizationID string
	EventType      string
	// Attempts counts the requests made for the message so far.
	Attempts int
	// Since is the message's first attempt, or when it was parked
	// without one; its retry deadline counts from here.
	Since         time.Time
	NextAttemptAt time.Time
}

// TableName is the parked-messages table.
func (ParkedMessage) TableName() string { return "webhook_parked" }

// Circuit is an open circuit breaker: the endpoint is failing.
type Circuit struct {
	WebhookID      string `gorm:"primaryKey"`
	OrganizationID string
	OpenedAt       time.Time
	NextProbeAt    time.Time
}

// TableName is the open-circuits table.
func (Circuit) TableName() string { return "webhook_circuits" }
