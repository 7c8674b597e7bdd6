package models

import "time"

// IntegrationOAuthState is one authorize call waiting for its callback.
// Only the SHA-256 of the state is stored; CodeVerifier and Code are
// key-ring ciphertexts bound to the row id.
type IntegrationOAuthState struct {
	ID              string `gorm:"primaryKey"`
	StateHash       string
	OrganizationID  string
	UserID          *string
	IntegrationType string
	Name            string
	Settings        *string
	ReturnURL       string
	CodeVerifier    string
	Code            *string
	ExpiresAt       time.Time
	UsedAt          *time.Time
	// ActorType, ActorID, SourceIP and RequestID are who started the
	// connection (the authorize or connect-by-credential call);
	// CallbackIP and CallbackRequestID are the OAuth callback's. The
	// connect's audit entry is written from them with the integration row.
	ActorType         *string
	ActorID           *string
	SourceIP          *string
	RequestID         *string
	CallbackIP        *string
	CallbackRequestID *string
	CreatedAt         time.Time
}

// TableName names the table.
func (IntegrationOAuthState) TableName() string { return "integration_oauth_states" }

// IntegrationObject is the latest state of an Aqio object (event,
// registration, invitation, …) as seen in ingested domain events.
type IntegrationObject struct {
	OrganizationID   string `gorm:"primaryKey"`
	ObjectType       string `gorm:"primaryKey"`
	ObjectID         string `gorm:"primaryKey"`
	ParentID         *string
	Status           *string
	Data             string // JSON object (data.object of the last event)
	LastEventID      string
	LastEventType    string
	LastEventCreated int64
	UpdatedAt        time.Time
}

// IntegrationLink maps an Aqio object to the provider object it became.
type IntegrationLink struct {
	IntegrationID string `gorm:"primaryKey"`
	ObjectType    string `gorm:"primaryKey"`
	ObjectID      string `gorm:"primaryKey"`
	ExternalID    string
	ConferenceURL *string
	Status        string // active or deleted
	// Data is a JSON object of small provider facts (providers.Link.Data).
	Data      *string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IntegrationMilestone is a registration milestone claimed (and posted)
// for one integration and Aqio event.
type IntegrationMilestone struct {
	IntegrationID string `gorm:"primaryKey"`
	EventID       string `gorm:"primaryKey"`
	Threshold     int    `gorm:"primaryKey"`
	ClaimedBy     string
	PostedAt      *time.Time
	MessageTS     *string `gorm:"column:message_ts"`
	CreatedAt     time.Time
}
