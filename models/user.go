package models

import "time"

// User is an Aqio user known to this service (owner of user API keys and
// user-specific integrations).
type User struct {
	ID          string    `gorm:"primaryKey" json:"id"`
	Email       *string   `json:"email,omitempty"`
	DisplayName *string   `json:"display_name,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}
