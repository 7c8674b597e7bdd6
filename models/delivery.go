package models

import "time"

// Delivery statuses. A pending row is an attempt being sent; a message
// waiting for its next attempt has a failed row that is not final.
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
	// Interrupted marks a send whose outcome was never recorded (the worker
	// stopped or the recording failed): the endpoint may have received it;
	// the message was sent again in a row of its own.
	Interrupted bool
}

// SkippedDelivery is an event that matched a webhook while the webhook was
// disabled: it was not queued, and is owed when the webhook is re-enabled
// (recover with status skipped_disabled).
type SkippedDelivery struct {
	WebhookID      string `gorm:"primaryKey"`
	EventID        string `gorm:"primaryKey"`
	OrganizationID string
	EventType      string
	SkippedAt      time.Time
}

// TableName is the skipped table.
func (SkippedDelivery) TableName() string { return "webhook_skipped" }

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
