package models

import "time"

// Webhook is an organization's endpoint. Secret holds the key-ring
// ciphertext of the signing secret, never the plaintext.
type Webhook struct {
	ID                string `gorm:"primaryKey"`
	OrganizationID    string
	Name              string
	URL               string `gorm:"column:url"`
	Secret            string
	Events            string  // JSON array of event types or wildcards
	EventFilters      *string // JSON object
	ContentType       string
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
	IsActive          bool
	LastTriggeredAt   *time.Time
	TotalDeliveries   int64
	FailedDeliveries  int64
	DisabledReason    *string
	DisabledAt        *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}
