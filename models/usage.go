package models

import "time"

// APIKeyUsage is one key's requests in one minute: admitted and refused.
type APIKeyUsage struct {
	APIKeyID       string    `gorm:"column:api_key_id;primaryKey"`
	OrganizationID string    `gorm:"column:organization_id"`
	BucketStart    time.Time `gorm:"column:bucket_start;primaryKey"`
	Allowed        int64     `gorm:"column:allowed"`
	Denied         int64     `gorm:"column:denied"`
}

// TableName is the usage bucket table.
func (APIKeyUsage) TableName() string { return "api_key_usage" }
