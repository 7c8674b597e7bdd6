package models

import "time"

// Webhook is an organization's endpoint. Secret holds the key-ring
// ciphertext of the signing key, never the plaintext: a whsec_ secret
// (SignatureScheme hmac-sha256) or a whsk_ Ed25519 private key (ed25519).
type Webhook struct {
	ID                string `gorm:"primaryKey"`
	OrganizationID    string
	Name              string
	URL               string `gorm:"column:url"`
	Secret            string
	Events            string  // JSON array of event types or wildcards
	EventFilters      *string // JSON object
	FilterExpression  *string // CEL
	PayloadInclude    *string // JSON array of dot-paths
	PayloadExclude    *string // JSON array of dot-paths
	CustomHeaders     *string // JSON object of header name to value
	ContentType       string
	TimeoutSeconds    int
	RetryCount        int
	RetryDelaySeconds int
	IsActive          bool
	LastTriggeredAt   *time.Time
	TotalDeliveries   int64
	FailedDeliveries  int64
	DisabledReason    *string
	// PreviousSecret (ciphertext) still signs until PreviousSecretExpiresAt.
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
	// SignatureScheme is hmac-sha256 or ed25519 (chosen on create).
	SignatureScheme string `gorm:"default:hmac-sha256"`
	// PublicKey is the whpk_ key of an ed25519 webhook (not secret);
	// PreviousPublicKey the one of PreviousSecret during a rotation.
	PublicKey         *string
	PreviousPublicKey *string
	// DestinationAuth is the ciphertext of the credential sent to the endpoint.
	DestinationAuth     *string
	DestinationAuthHint *string
	DisabledAt          *time.Time
	// Ordered: message n+1 is not sent before message n is delivered or
	// failed for good. MaxDeliveriesPerSecond throttles the endpoint (nil:
	// no throttle). Both are enforced by the webhook's Endpoint workflow.
	Ordered                bool
	MaxDeliveriesPerSecond *int
	CreatedAt              time.Time
	UpdatedAt              time.Time
}
