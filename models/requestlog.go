package models

import "time"

// RequestLog is one API call recorded for debugging (api_request_logs).
type RequestLog struct {
	ID                    string    `gorm:"primaryKey"`
	OrganizationID        string    `gorm:"column:organization_id"`
	OccurredAt            time.Time `gorm:"column:occurred_at"`
	Method                string
	Route                 string
	Path                  string
	Status                int
	DurationUS            int64   `gorm:"column:duration_us"`
	Auth                  string  `gorm:"column:auth"`
	APIKeyID              *string `gorm:"column:api_key_id"`
	UserID                *string `gorm:"column:user_id"`
	ClientIP              *string `gorm:"column:client_ip"`
	RequestID             *string `gorm:"column:request_id"`
	ErrorCode             *string `gorm:"column:error_code"`
	RequestBody           *string `gorm:"column:request_body"`
	RequestBodyTruncated  bool    `gorm:"column:request_body_truncated"`
	ResponseBody          *string `gorm:"column:response_body"`
	ResponseBodyTruncated bool    `gorm:"column:response_body_truncated"`
	BodyOmitted           *string `gorm:"column:body_omitted"`
	Links                 *string `gorm:"column:links"` // JSON object
}

// TableName is the request log table.
func (RequestLog) TableName() string { return "api_request_logs" }

// ConsoleSession is a developer-console session (console_sessions); the
// credential columns hold key-ring ciphertext.
type ConsoleSession struct {
	IDHash         string `gorm:"column:id_hash;primaryKey"`
	Auth           string
	OrganizationID string `gorm:"column:organization_id"`
	UserID         string `gorm:"column:user_id"`
	CSRFToken      string `gorm:"column:csrf_token"`
	Credential     string
	RefreshToken   *string    `gorm:"column:refresh_token"`
	TokenExpiresAt *time.Time `gorm:"column:token_expires_at"`
	ExpiresAt      time.Time  `gorm:"column:expires_at"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
}

// TableName is the console session table.
func (ConsoleSession) TableName() string { return "console_sessions" }
