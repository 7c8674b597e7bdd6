package models

import "time"

// Erasure and export statuses.
const (
	PrivacyPending    = "pending"
	PrivacyRunning    = "running"
	PrivacyCompleted  = "completed"
	PrivacyFailed     = "failed"
	PrivacyReady      = "ready"
	PrivacyDownloaded = "downloaded"
)

// PrivacyErasure is one erasure request. Subject is key-ring ciphertext
// (bound to the row id) of the privacy.Subject; Report is JSON of what
// was erased where (counts and outcomes, never personal data).
type PrivacyErasure struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	RequestID      string
	EmailHash      *string
	UserIDHash     *string
	Subject        string
	Status         string
	WorkflowID     string
	Report         *string
	RequestedBy    *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	CompletedAt    *time.Time
}

// TableName names the table.
func (PrivacyErasure) TableName() string { return "privacy_erasures" }

// PrivacyExport is one access-export request; Document is the key-ring
// ciphertext of the JSON document until it is downloaded (then NULL).
type PrivacyExport struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	RequestID      string
	EmailHash      *string
	UserIDHash     *string
	Subject        string
	Status         string
	WorkflowID     string
	Document       *string
	SizeBytes      *int64
	RequestedBy    *string
	CreatedAt      time.Time
	CompletedAt    *time.Time
	DownloadedAt   *time.Time
}

// TableName names the table.
func (PrivacyExport) TableName() string { return "privacy_exports" }

// PrivacySuppression is an erased address (its hash) of an organization.
type PrivacySuppression struct {
	OrganizationID string `gorm:"primaryKey"`
	EmailHash      string `gorm:"primaryKey"`
	ErasureID      string
	CreatedAt      time.Time
}

// TableName names the table.
func (PrivacySuppression) TableName() string { return "privacy_suppressions" }
