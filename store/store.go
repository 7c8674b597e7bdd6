// Package store is the data access layer over gorm. Every method that
// touches tenant data takes the organization id and scopes its query by it,
// so one organization can never read or change another's rows.
package store

import (
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/aqio/connect/database"
)

// ErrNotFound is returned when a row does not exist for the organization.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique constraint is violated.
var ErrConflict = errors.New("conflict")

// Store wraps the database.
type Store struct {
	db        *database.DB
	now       func() time.Time
	knownOrgs sync.Map // organization ids known to exist
	ingests   groupCommit
	configs   ingestConfigs // each organization's routing configuration (ingest)
	// Set on the Store a Recorder sees (IngestRouted): raw takes its
	// object writes, ingestCfg answers ActiveIntegrations.
	raw       objectWriter
	ingestCfg *IngestConfig
}

// New returns a Store. now may be nil (wall clock, UTC).
func New(db *database.DB, now func() time.Time) *Store {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Store{db: db, now: now}
}

// DB exposes the gorm handle for packages that own their own tables.
func (s *Store) DB() *gorm.DB { return s.db.DB }

// reads is the pool for hot reads outside transactions (see
// database.DB.Reads); a Store bound to a transaction reads in it.
func (s *Store) reads() *gorm.DB {
	if s.db.Reads != nil {
		return s.db.Reads
	}
	return s.db.DB
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.db.Dialect }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrConflict
	}
	return err
}
