package apikeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/audit"
	"github.com/aqio/connect/ids"
	"github.com/aqio/connect/models"
	"github.com/aqio/connect/ratelimit"
	"github.com/aqio/connect/store"
)

// Caller is who asks the service to act (built by the API from its principal).
type Caller struct {
	OrganizationID string
	UserID         string
	Scopes         []string
	Method         string // service_token, user_jwt or api_key
	CredentialID   string // API key id when Method is api_key
	IP             string
	RequestID      string
}

func (c Caller) actorID() string {
	if c.Method == "api_key" {
		return c.CredentialID
	}
	return c.UserID
}

// Verification reasons; each is also the API error code for that refusal.
const (
	ReasonMalformed         = "malformed_api_key"
	ReasonUnknown           = "invalid_api_key"
	ReasonExpired           = "api_key_expired"
	ReasonRevoked           = "api_key_revoked"
	ReasonRotated           = "api_key_rotated"
	ReasonIPNotAllowed      = "ip_not_allowed"
	ReasonInsufficientScope = "insufficient_scope"
	ReasonRateLimited       = "rate_limited"
)

// Error is a refusal the API maps to a 4xx.
type Error struct {
	Kind    ErrorKind
	Code    string
	Field   string
	Message string
}

// ErrorKind selects the HTTP status.
type ErrorKind int

// Error kinds.
const (
	Invalid   ErrorKind = iota // 422
	Forbidden                  // 403
	NotFound                   // 404
	Conflict                   // 409
)

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Service manages and verifies keys.
type Service struct {
	Store    *store.Store
	Limiter  *ratelimit.Limiter
	Policies map[string]ratelimit.Policy // by plan
	Usage    *UsageRecorder
	// FailedAudit samples failed verifications into the audit log.
	FailedAudit *audit.Sampler
	Now         func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// CreateInput is a new key.
type CreateInput struct {
	Owner       string // "organization" (default) or "user"
	Name        string
	Description *string
	Scopes      []string
	AllowedIPs  []string
	ExpiresAt   *time.Time
}

// Created is a key with its secret, returned once.
type Created struct {
	Key    models.APIKey
	Secret string
}

// canWrite is the owner rule (store.Owner) for keys: an organization key
// needs api_keys:write; a user key, its owner with api_keys:own, or a
// caller with the org-wide api_keys:write.
func canWrite(c Caller, k *models.APIKey) bool {
	o := OwnerFor("api_keys", c.UserID, c.Scopes)
	return o.AllUsers || (Covers(c.Scopes, "api_keys:own") && o.Owns(k.UserID))
}

// notStronger refuses when a key would hold a scope the caller lacks: a
// caller never changes or re-issues a credential stronger than itself.
func notStronger(c Caller, k models.APIKey, what string) error {
	if s, ok := Exceeding(c.Scopes, ScopesOf(k)); ok {
		return &Error{Kind: Forbidden, Code: "scope_exceeds_caller", Field: "scopes",
			Message: fmt.Sprintf("the key holds %q, which the caller lacks: only a caller holding all of a key's scopes can %s it", s, what)}
	}
	return nil
}

func canRead(c Caller, k *models.APIKey) bool {
	return Covers(c.Scopes, "api_keys:read") || canWrite(c, k)
}

var errNotFound = &Error{Kind: NotFound, Code: "not_found", Message: "api key not found"}

// Create mints a key. Its scopes must be held by the caller.
func (s *Service) Create(ctx context.Context, c Caller, in CreateInput) (Created, error) {
	now := s.now()
	k := models.APIKey{
		ID: ids.New("key"), OrganizationID: &c.OrganizationID, Name: strings.TrimSpace(in.Name),
		Description: in.Description, IsActive: true, ExpiresAt: in.ExpiresAt, CreatedAt: now, UpdatedAt: now,
	}
	switch in.Owner {
	case "", "organization":
	case "user":
		if c.UserID == "" {
			return Created{}, &Error{Kind: Invalid, Code: "invalid_field", Field: "owner",
				Message: "a user key needs a calling user (a user token, or X-Aqio-User-Id with the service token)"}
		}
		k.UserID = &c.UserID
	default:
		return Created{}, &Error{Kind: Invalid, Code: "invalid_field", Field: "owner", Message: "owner must be organization or user"}
	}
	if c.UserID != "" {
		k.CreatedByUserID = &c.UserID
	}
	if !canWrite(c, &k) {
		return Created{}, &Error{Kind: Forbidden, Code: "insufficient_scope",
			Message: "creating this key needs the api_keys:write scope (or api_keys:own for your own user keys)"}
	}
	if k.Name == "" {
		return Created{}, &Error{Kind: Invalid, Code: "invalid_field", Field: "name", Message: "name is required"}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return Created{}, &Error{Kind: Invalid, Code: "invalid_field", Field: "expires_at", Message: "expires_at must be in the future"}
	}
	if err := s.setScopesAndIPs(c, &k, &in.Scopes, &in.AllowedIPs); err != nil {
		return Created{}, err
	}
	secret, err := Generate()
	if err != nil {
		return Created{}, fmt.Errorf("generate api key: %w", err)
	}
	k.KeyHash, k.KeyPrefix = Hash(secret), DisplayPrefix(secret)
	err = s.Store.CreateAPIKey(ctx, &k, func(tx *gorm.DB) error {
		return s.audit(ctx, tx, c, audit.APIKeyCreated, k.ID, map[string]any{
			"name": k.Name, "key_prefix": k.KeyPrefix, "scopes": ScopesOf(k), "owner": OwnerOf(k)})
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Key: k, Secret: secret}, nil
}

func (s *Service) setScopesAndIPs(c Caller, k *models.APIKey, scopes, ips *[]string) error {
	if scopes != nil {
		norm, err := NormalizeScopes(*scopes, c.Scopes)
		if err != nil {
			var se *ScopeError
			errors.As(err, &se)
			if se.Exceeds {
				return &Error{Kind: Forbidden, Code: "scope_exceeds_caller", Field: "scopes", Message: se.Reason}
			}
			return &Error{Kind: Invalid, Code: "invalid_field", Field: "scopes", Message: se.Reason}
		}
		b, _ := json.Marshal(norm)
		k.Scopes = string(b)
	}
	if ips != nil {
		prefixes, err := ParseAllowedIPs(*ips)
		if err != nil {
			var ie *IPError
			errors.As(err, &ie)
			return &Error{Kind: Invalid, Code: "invalid_field", Field: fmt.Sprintf("allowed_ips[%d]", ie.Index), Message: ie.Error()}
		}
		k.AllowedIPs = nil
		if len(prefixes) > 0 {
			strs := make([]string, len(prefixes))
			for i, p := range prefixes {
				strs[i] = p.String()
			}
			b, _ := json.Marshal(strs)
			str := string(b)
			k.AllowedIPs = &str
		}
	}
	return nil
}

// List returns the keys the caller may see.
func (s *Service) List(ctx context.Context, c Caller, limit int, cursor string) ([]models.APIKey, string, error) {
	f := store.APIKeyFilter{Limit: limit, Cursor: cursor}
	switch {
	case Covers(c.Scopes, "api_keys:read"), Covers(c.Scopes, "api_keys:write"):
	case c.UserID != "" && Covers(c.Scopes, "api_keys:own"):
		f.UserID = c.UserID
	default:
		return nil, "", &Error{Kind: Forbidden, Code: "insufficient_scope", Message: "listing keys needs the api_keys:read or api_keys:own scope"}
	}
	return s.Store.ListAPIKeys(ctx, c.OrganizationID, f)
}

// Get returns one key the caller may see.
func (s *Service) Get(ctx context.Context, c Caller, id string) (models.APIKey, error) {
	k, err := s.Store.GetAPIKey(ctx, c.OrganizationID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !canRead(c, &k)) {
		return models.APIKey{}, errNotFound
	}
	return k, err
}

func (s *Service) loadForWrite(ctx context.Context, c Caller, id string) (models.APIKey, error) {
	k, err := s.Get(ctx, c, id)
	if err != nil {
		return k, err
	}
	if !canWrite(c, &k) {
		return k, &Error{Kind: Forbidden, Code: "insufficient_scope", Message: "changing this key needs the api_keys:write scope"}
	}
	return k, nil
}

// PatchInput changes a key; nil fields are left alone.
type PatchInput struct {
	Name        *string
	Description *string
	Scopes      *[]string
	AllowedIPs  *[]string
	ExpiresAt   *time.Time
}

// Patch changes name, description, scopes, allowed IPs or the expiry (not
// of a rotated key: its expiry is the end of its grace period).
func (s *Service) Patch(ctx context.Context, c Caller, id string, in PatchInput) (models.APIKey, error) {
	k, err := s.loadForWrite(ctx, c, id)
	if err != nil {
		return k, err
	}
	before := k
	cols := map[string]any{}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return k, &Error{Kind: Invalid, Code: "invalid_field", Field: "name", Message: "name must not be empty"}
		}
		cols["name"] = name
	}
	if in.Description != nil {
		cols["description"] = *in.Description
	}
	if in.ExpiresAt != nil {
		switch {
		case k.ReplacedByID != nil:
			return k, &Error{Kind: Invalid, Code: "invalid_field", Field: "expires_at",
				Message: "expires_at: this key was rotated; it stops at the end of its grace period, which cannot be changed"}
		case !in.ExpiresAt.After(s.now()):
			return k, &Error{Kind: Invalid, Code: "invalid_field", Field: "expires_at", Message: "expires_at must be in the future"}
		}
		cols["expires_at"] = in.ExpiresAt.UTC()
	}
	if err := s.setScopesAndIPs(c, &k, in.Scopes, in.AllowedIPs); err != nil {
		return k, err
	}
	if err := notStronger(c, k, "change"); err != nil {
		return before, err
	}
	if in.Scopes != nil {
		cols["scopes"] = k.Scopes
	}
	if in.AllowedIPs != nil {
		cols["allowed_ips"] = k.AllowedIPs
	}
	if len(cols) == 0 {
		return k, nil
	}
	return s.Store.UpdateAPIKey(ctx, c.OrganizationID, id, cols, func(tx *gorm.DB) error {
		details := map[string]any{"fields": keysOf(cols)}
		action := audit.APIKeyUpdated
		if in.Scopes != nil && before.Scopes != k.Scopes {
			action = audit.APIKeyScopesChanged
			details["scopes_before"], details["scopes_after"] = ScopesOf(before), ScopesOf(k)
		}
		return s.audit(ctx, tx, c, action, id, details)
	})
}

// MaxGrace bounds a rotation's grace period.
const MaxGrace = 7 * 24 * time.Hour

// Rotate issues a replacement with the same settings; the old key keeps
// working for grace, then stops.
func (s *Service) Rotate(ctx context.Context, c Caller, id string, grace time.Duration) (Created, error) {
	old, err := s.loadForWrite(ctx, c, id)
	if err != nil {
		return Created{}, err
	}
	if grace < 0 || grace > MaxGrace {
		return Created{}, &Error{Kind: Invalid, Code: "invalid_field", Field: "grace_seconds", Message: "grace_seconds must be between 0 and 604800"}
	}
	// The caller receives the new secret, so it must be a key the caller
	// could have created: no scope it lacks and, for another user's key
	// (which acts as that user), the org-wide scope of every owner-checked
	// area the key reaches.
	if err := notStronger(c, old, "rotate"); err != nil {
		return Created{}, err
	}
	if old.UserID != nil && !(store.Owner{UserID: c.UserID}).Owns(old.UserID) {
		for _, wide := range orgWideReached(ScopesOf(old)) {
			if !Covers(c.Scopes, wide) {
				return Created{}, &Error{Kind: Forbidden, Code: "insufficient_scope",
					Message: fmt.Sprintf("rotating another user's key hands out a credential acting as that user: it needs the %s scope", wide)}
			}
		}
	}
	now := s.now()
	secret, err := Generate()
	if err != nil {
		return Created{}, fmt.Errorf("generate api key: %w", err)
	}
	next := old
	next.ID = ids.New("key")
	scopes, _ := json.Marshal(ScopesOf(old))
	next.Scopes = string(scopes)
	next.KeyHash, next.KeyPrefix = Hash(secret), DisplayPrefix(secret)
	next.UsageCount, next.LastUsedAt = 0, nil
	next.RotatedAt, next.ReplacedByID, next.RevokedAt = nil, nil, nil
	next.CreatedAt, next.UpdatedAt = now, now
	if c.UserID != "" {
		next.CreatedByUserID = &c.UserID
	}
	err = s.Store.RotateAPIKey(ctx, c.OrganizationID, id, &next, now.Add(grace), func(tx *gorm.DB) error {
		return s.audit(ctx, tx, c, audit.APIKeyRotated, id, map[string]any{
			"replaced_by": next.ID, "grace_seconds": int(grace.Seconds()), "new_key_prefix": next.KeyPrefix})
	})
	if errors.Is(err, store.ErrKeyInactive) {
		return Created{}, &Error{Kind: Conflict, Code: "api_key_not_rotatable",
			Message: "only an active key that was not rotated before can be rotated"}
	}
	if err != nil {
		return Created{}, err
	}
	return Created{Key: next, Secret: secret}, nil
}

// Revoke stops a key at once.
func (s *Service) Revoke(ctx context.Context, c Caller, id string) (models.APIKey, error) {
	k, err := s.loadForWrite(ctx, c, id)
	if err != nil {
		return k, err
	}
	if k.RevokedAt != nil {
		return k, nil
	}
	return s.Store.UpdateAPIKey(ctx, c.OrganizationID, id, map[string]any{"revoked_at": s.now(), "is_active": false},
		func(tx *gorm.DB) error {
			return s.audit(ctx, tx, c, audit.APIKeyRevoked, id, map[string]any{"key_prefix": k.KeyPrefix})
		})
}

// Delete removes a key (it stops working at once).
func (s *Service) Delete(ctx context.Context, c Caller, id string) error {
	k, err := s.loadForWrite(ctx, c, id)
	if err != nil {
		return err
	}
	return s.Store.DeleteAPIKey(ctx, c.OrganizationID, id, func(tx *gorm.DB) error {
		return s.audit(ctx, tx, c, audit.APIKeyDeleted, id, map[string]any{"key_prefix": k.KeyPrefix, "name": k.Name})
	})
}

func (s *Service) audit(ctx context.Context, tx *gorm.DB, c Caller, action, keyID string, details map[string]any) error {
	return audit.Record(ctx, tx, audit.Entry{
		OrganizationID: c.OrganizationID, Action: action, ActorType: c.Method, ActorID: c.actorID(),
		TargetType: "api_key", TargetID: keyID, SourceIP: c.IP, RequestID: c.RequestID, Details: details,
		OccurredAt: s.now(),
	})
}

// VerifyInput is a key to check.
type VerifyInput struct {
	Key            string
	RequiredScopes []string
	IP             netip.Addr // the client address; invalid means unknown
	RequestID      string
	// Source says who asked ("http" for a request to this API, "verify"
	// for POST /api/api-keys/verify), recorded with sampled failures.
	Source string
}

// Verification is the outcome of Verify.
type Verification struct {
	Valid     bool
	Reason    string // "" when valid
	Key       *store.KeyForVerification
	Scopes    []string
	RateLimit *ratelimit.Decision
}

// Verify checks a key: format and checksum (no database), existence,
// revocation, expiry or end of rotation grace, allowed IPs, scopes and
// finally the rate limit, which it consumes. Usage is counted for every
// identified key (allowed or denied). One indexed read and one upsert per
// verification; nothing is cached, so revocation is immediate everywhere.
func (s *Service) Verify(ctx context.Context, in VerifyInput) (Verification, error) {
	now := s.now()
	if CheckFormat(in.Key) != nil {
		s.failed(ctx, in, nil, ReasonMalformed, now)
		return Verification{Reason: ReasonMalformed}, nil
	}
	k, err := s.Store.LookupAPIKey(ctx, Hash(in.Key))
	if errors.Is(err, store.ErrNotFound) {
		s.failed(ctx, in, nil, ReasonUnknown, now)
		return Verification{Reason: ReasonUnknown}, nil
	}
	if err != nil {
		return Verification{}, fmt.Errorf("verify api key: %w", err)
	}
	v := Verification{Key: &k, Scopes: ScopesOf(k.APIKey)}
	v.Reason = s.check(k, in, v.Scopes, now)
	if v.Reason == "" {
		policy, ok := s.Policies[k.Plan]
		if !ok {
			policy = s.Policies[models.PlanFree]
		}
		d, err := s.Limiter.Take(ctx, k.ID, policy, now)
		if err != nil {
			return Verification{}, err
		}
		v.RateLimit = &d
		if !d.Allowed {
			v.Reason = ReasonRateLimited
		}
	}
	v.Valid = v.Reason == ""
	if s.Usage != nil {
		s.Usage.Add(k.ID, deref(k.OrganizationID), now, v.Valid)
	}
	if !v.Valid {
		s.failed(ctx, in, &k, v.Reason, now)
	}
	return v, nil
}

func (s *Service) check(k store.KeyForVerification, in VerifyInput, scopes []string, now time.Time) string {
	if k.RevokedAt != nil || !k.IsActive {
		return ReasonRevoked
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		if k.ReplacedByID != nil {
			return ReasonRotated
		}
		return ReasonExpired
	}
	if k.AllowedIPs != nil && *k.AllowedIPs != "" {
		var strs []string
		_ = json.Unmarshal([]byte(*k.AllowedIPs), &strs)
		ranges, err := ParseAllowedIPs(strs)
		if err != nil || !in.IP.IsValid() || !IPAllowed(ranges, in.IP) {
			return ReasonIPNotAllowed
		}
	}
	for _, want := range in.RequiredScopes {
		if !Covers(scopes, want) {
			return ReasonInsufficientScope
		}
	}
	return ""
}

// failed records a sampled audit entry for a failed verification.
func (s *Service) failed(ctx context.Context, in VerifyInput, k *store.KeyForVerification, reason string, now time.Time) {
	if s.FailedAudit == nil || reason == ReasonRateLimited {
		// Over-limit refusals are counted in the usage buckets (denied), not audited.
		return
	}
	e := audit.Entry{Action: audit.APIKeyVerificationFailed, Outcome: "failure", ActorType: "api_key",
		RequestID: in.RequestID, OccurredAt: now, Details: map[string]any{"reason": reason, "source": in.Source}}
	sampleKey := "unknown"
	if in.IP.IsValid() {
		e.SourceIP = in.IP.String()
		sampleKey = "ip:" + e.SourceIP
	}
	if k != nil {
		e.OrganizationID, e.ActorID, e.TargetType, e.TargetID = deref(k.OrganizationID), k.ID, "api_key", k.ID
		sampleKey = "key:" + k.ID
	} else if len(in.Key) >= displayPrefLen && LooksLikeKey(in.Key) && reason == ReasonUnknown {
		e.Details["key_prefix"] = DisplayPrefix(in.Key)
	}
	ok, suppressed := s.FailedAudit.Allow(sampleKey, now)
	if !ok {
		return
	}
	if suppressed > 0 {
		e.Details["suppressed_since_last"] = suppressed
	}
	// Best effort: an audit write failure must not turn a 401 into a 500.
	_ = audit.Record(ctx, s.Store.DB(), e)
}

// ScopesOf decodes a key's scopes: what the key acts with. Service-level
// scopes are dropped (a key stored with one before they were refused does
// not carry it).
func ScopesOf(k models.APIKey) []string {
	var stored []string
	_ = json.Unmarshal([]byte(k.Scopes), &stored)
	out := stored[:0]
	for _, s := range stored {
		if !IsServiceScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// AllowedIPsOf decodes a key's allowed IP ranges.
func AllowedIPsOf(k models.APIKey) []string {
	out := []string{}
	if k.AllowedIPs != nil {
		_ = json.Unmarshal([]byte(*k.AllowedIPs), &out)
	}
	return out
}

// OwnerOf is "user" for a user key, else "organization".
func OwnerOf(k models.APIKey) string {
	if k.UserID != nil {
		return "user"
	}
	return "organization"
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "updated_at" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
