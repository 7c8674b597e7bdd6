package models

import "time"

// Integration is an OAuth (or API-key) connection to a third-party provider.
// Token columns hold key-ring ciphertexts.
type Integration struct {
	ID               string `gorm:"primaryKey"`
	OrganizationID   string
	UserID           *string
	IntegrationType  string
	Name             string
	AccessToken      *string
	RefreshToken     *string
	TokenExpiresAt   *time.Time
	APIKey           *string `gorm:"column:api_key"`
	ClientID         *string
	Settings         *string // JSON object
	SyncEnabled      bool
	Status           string
	LastSyncAt       *time.Time
	LastErrorMessage *string
	// TokenExtra is the ciphertext of provider extras from the token
	// response (e.g. Slack's incoming_webhook), JSON once decrypted.
	TokenExtra      *string
	GrantedScopes   *string
	TokenObtainedAt *time.Time
	ConnectedAt     *time.Time
	// DisconnectRequest is JSON of who asked for the disconnect and what
	// the revocation did, kept until the disconnect run deletes the row
	// with its audit entry (no secret).
	DisconnectRequest *string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Integration statuses.
const (
	IntegrationActive   = "active"
	IntegrationError    = "error"
	IntegrationDisabled = "disabled"
)

// IntegrationSyncLog records one sync run.
type IntegrationSyncLog struct {
	ID               string `gorm:"primaryKey"`
	IntegrationID    string
	SyncType         string
	Direction        string
	RecordsProcessed int
	RecordsCreated   int
	RecordsUpdated   int
	RecordsFailed    int
	StartedAt        time.Time
	CompletedAt      *time.Time
	DurationSeconds  *int
	Status           string
	ErrorDetails     *string // JSON array
	SyncCursor       *string
	ExternalSyncID   *string
	OrganizationID   *string
	WorkflowID       *string
	// RetryOf is the id of the failed sync this run re-runs.
	RetryOf *string
	// FromCursor is where an incremental run started (a retry starts there too).
	FromCursor *string
}

// Sync statuses.
const (
	SyncRunning   = "running"
	SyncCompleted = "completed"
	SyncFailed    = "failed"
	SyncCancelled = "cancelled"
)
