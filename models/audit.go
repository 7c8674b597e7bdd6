package models

import "time"

// AuditEntry is one row of the append-only audit log.
type AuditEntry struct {
	ID             string    `gorm:"primaryKey" json:"id"`
	OrganizationID *string   `gorm:"column:organization_id" json:"organization_id"`
	OccurredAt     time.Time `gorm:"column:occurred_at" json:"occurred_at"`
	Action         string    `gorm:"column:action" json:"action"`
	Outcome        string    `gorm:"column:outcome" json:"outcome"`
	ActorType      string    `gorm:"column:actor_type" json:"actor_type"`
	ActorID        *string   `gorm:"column:actor_id" json:"actor_id"`
	TargetType     *string   `gorm:"column:target_type" json:"target_type"`
	TargetID       *string   `gorm:"column:target_id" json:"target_id"`
	SourceIP       *string   `gorm:"column:source_ip" json:"source_ip"`
	RequestID      *string   `gorm:"column:request_id" json:"request_id"`
	Details        *string   `gorm:"column:details" json:"-"` // JSON object
}

// TableName is the audit table.
func (AuditEntry) TableName() string { return "audit_log" }
