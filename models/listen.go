package models

import "time"

// ListenSession is a temporary endpoint held by `aqio-connect listen`:
// WebhookID is its webhook, whose URL is aqio-listen://<ID>. ExpiresAt
// moves forward while the CLI's stream is open (Connected).
type ListenSession struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	WebhookID      string
	ForwardTo      string
	TTLSeconds     int `gorm:"column:ttl_seconds"`
	Connected      bool
	LastSeenAt     *time.Time
	ExpiresAt      time.Time
	CreatedAt      time.Time
}

// Listen message states.
const (
	ListenPending  = "pending"  // waiting for the session's stream
	ListenSent     = "sent"     // written to the stream, waiting for the CLI's answer
	ListenAnswered = "answered" // the CLI reported the local receiver's response
)

// ListenMessage is one signed request handed from a delivery attempt to a
// listen session, and the CLI's answer.
type ListenMessage struct {
	ID              string `gorm:"primaryKey"`
	SessionID       string
	State           string
	RequestHeaders  string // JSON object of header name to values
	RequestBody     string
	ResponseStatus  *int
	ResponseHeaders *string // JSON object of header name to values
	ResponseBody    *string
	ResponseError   *string
	CreatedAt       time.Time
	AnsweredAt      *time.Time
}
