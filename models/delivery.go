package models

import "time"

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySuccess   = "success"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled"
)

// WebhookDelivery is one attempt to deliver one message to one webhook.
// It is a projection written by the delivery activity; Temporal's history
// is the source of truth for what happens next.
type WebhookDelivery struct {
	ID                 string `gorm:"primaryKey"`
	WebhookID          string
	OrganizationID     string
	EventType          string
	EventID            *string
	MessageID          string
	WorkflowID         string
	RunID              string
	Payload            string
	RequestHeaders     *string // JSON object, without secrets
	ResponseStatusCode *int
	ResponseHeaders    *string // JSON object
	ResponseBody       *string
	AttemptedAt        time.Time
	CompletedAt        *time.Time
	DurationMS         *int64 `gorm:"column:duration_ms"`
	Status             string
	ErrorMessage       *string
	IsRetry            bool
	RetryNumber        int
	NextRetryAt        *time.Time
	IsFinal            bool
	RedeliveryOf       *string // workflow id of the run this one repeats
}

// OutboxEntry is one (webhook, event) pair waiting to be handed to a
// delivery batch workflow.
type OutboxEntry struct {
	WebhookID      string `gorm:"primaryKey"`
	EventID        string `gorm:"primaryKey"`
	OrganizationID string
	EventType      string
	CreatedAt      time.Time
	BatchID        *string
	ClaimedAt      *time.Time
}

// TableName is the outbox table.
func (OutboxEntry) TableName() string { return "webhook_outbox" }
