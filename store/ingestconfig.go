package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aqio/connect/models"
)

// IngestConfig is what ingest routes an organization's events by: its
// webhooks (all of them, oldest first) and its active integrations, as of
// Version (organizations.config_version). Triggers bump the version on
// every change of these rows that routing depends on — a webhook created,
// deleted, enabled or disabled, its event types or filters changed; an
// integration connected, disconnected or changing status — whichever
// process makes it (migration 00018). Only those columns are kept fresh:
// the cached rows are for routing, never for delivering.
type IngestConfig struct {
	orgID        string
	Version      int64
	Webhooks     []models.Webhook
	Integrations []models.Integration
}

// ingestConfigs caches each organization's IngestConfig across events.
// A cached entry is only a guess: every event is written by a statement
// that checks the version it was routed at is still the current one, and
// one routed at a stale version is routed again (IngestRouted). So the
// cache needs no expiry and no cross-process notification to be correct.
type ingestConfigs struct {
	mu   sync.Mutex
	orgs map[string]*IngestConfig
}

// maxCachedOrgs bounds the cache; past it, an arbitrary entry is dropped.
const maxCachedOrgs = 10000

func (c *ingestConfigs) get(orgID string) *IngestConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.orgs[orgID]
}

func (c *ingestConfigs) put(orgID string, cfg *IngestConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.orgs == nil {
		c.orgs = map[string]*IngestConfig{}
	}
	if cur, ok := c.orgs[orgID]; ok && cur.Version > cfg.Version {
		return // a concurrent load saw a newer version
	}
	if _, ok := c.orgs[orgID]; !ok && len(c.orgs) >= maxCachedOrgs {
		for k := range c.orgs {
			delete(c.orgs, k)
			break
		}
	}
	c.orgs[orgID] = cfg
}

func (c *ingestConfigs) drop(orgID string, version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.orgs[orgID]; ok && cur.Version == version {
		delete(c.orgs, orgID)
	}
}

// ingestConfig returns the organization's routing configuration, cached.
func (s *Store) ingestConfig(ctx context.Context, orgID string) (*IngestConfig, error) {
	if cfg := s.configs.get(orgID); cfg != nil {
		return cfg, nil
	}
	cfg, err := s.LoadIngestConfig(ctx, orgID)
	if err != nil {
		return nil, err
	}
	s.configs.put(orgID, &cfg)
	return &cfg, nil
}

// LoadIngestConfig reads the organization's routing configuration from the
// database. The version is read first: a change committed while the rows
// are read makes the version stale, never the rows older than it.
func (s *Store) LoadIngestConfig(ctx context.Context, orgID string) (IngestConfig, error) {
	cfg := IngestConfig{orgID: orgID}
	var versions []int64
	err := s.reads().WithContext(ctx).Raw(`SELECT config_version FROM organizations WHERE id = ?`, orgID).Scan(&versions).Error
	if err != nil {
		return cfg, fmt.Errorf("read organization config version: %w", err)
	}
	if len(versions) == 0 {
		return cfg, fmt.Errorf("organization %s: %w", orgID, ErrNotFound)
	}
	cfg.Version = versions[0]
	if cfg.Webhooks, err = s.Webhooks(ctx, orgID); err != nil {
		return cfg, fmt.Errorf("list webhooks: %w", err)
	}
	if cfg.Integrations, err = s.ActiveIntegrations(ctx, orgID); err != nil {
		return cfg, fmt.Errorf("list active integrations: %w", err)
	}
	return cfg, nil
}

// errStaleConfig: the organization's configuration changed after the event
// was routed; nothing was written.
var errStaleConfig = errors.New("organization configuration changed")
