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
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName is the seed's table name.
func (APIKey) TableName() string { return "api_keys" }
