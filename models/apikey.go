package models

import "time"

// APIKey is an organization or user API key; only the SHA-256 hash of the
// key is stored.
type APIKey struct {
	ID             string     `gorm:"primaryKey"`
	KeyHash        string     `gorm:"column:key_hash"`
	KeyPrefix      string     `gorm:"column:key_prefix"`
	UserID         *string    `gorm:"column:user_id"`
	OrganizationID *string    `gorm:"column:organization_id"`
	Name           string     `gorm:"column:name"`
	Description    *string    `gorm:"column:description"`
	Scopes         string     `gorm:"column:scopes"`      // JSON array
	AllowedIPs     *string    `gorm:"column:allowed_ips"` // JSON array of CIDRs
	LastUsedAt     *time.Time `gorm:"column:last_used_at"`
	UsageCount     int64      `gorm:"column:usage_count"`
	IsActive       bool       `gorm:"column:is_active"`
	ExpiresAt      *time.Time `gorm:"column:expires_at"`
	// CreatedByUserID is the user who created the key (nil for the service token).
	CreatedByUserID *string    `gorm:"column:created_by_user_id"`
	RevokedAt       *time.Time `gorm:"column:revoked_at"`
	// RotatedAt and ReplacedByID are set on the old key of a rotation; its
	// ExpiresAt is then the end of the grace period.
	RotatedAt    *time.Time `gorm:"column:rotated_at"`
	ReplacedByID *string    `gorm:"column:replaced_by_id"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName is the seed's table name.
func (APIKey) TableName() string { return "api_keys" }
