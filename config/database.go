package config

import (
	"fmt"
	"time"
)

// DBPoolConfig sizes the Postgres connection pool of one process (SQLite
// keeps its fixed single-writer pool). Each api and worker process opens
// up to MaxOpenConns connections: keep the sum over all processes below
// the server's max_connections minus its reserved slots (docs/OPERATIONS.md).
type DBPoolConfig struct {
	// MaxOpenConns (AQIO_DB_MAX_OPEN_CONNS, default 25) bounds open connections.
	MaxOpenConns int
	// MaxIdleConns (AQIO_DB_MAX_IDLE_CONNS, default: MaxOpenConns) bounds
	// the connections kept open while unused; never above MaxOpenConns.
	MaxIdleConns int
	// ConnMaxLifetime (AQIO_DB_CONN_MAX_LIFETIME, default 30m; 0 = forever)
	// recycles connections, so a failover or a PgBouncer restart heals.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime (AQIO_DB_CONN_MAX_IDLE_TIME, default 5m; 0 = forever)
	// closes idle connections after a burst.
	ConnMaxIdleTime time.Duration
}

func loadDBPool(env Env) (DBPoolConfig, error) {
	var p DBPoolConfig
	var err error
	if p.MaxOpenConns, err = getInt(env, "AQIO_DB_MAX_OPEN_CONNS", 25); err != nil {
		return p, err
	}
	if p.MaxOpenConns < 1 {
		return p, fmt.Errorf("AQIO_DB_MAX_OPEN_CONNS: %d must be at least 1", p.MaxOpenConns)
	}
	if p.MaxIdleConns, err = getInt(env, "AQIO_DB_MAX_IDLE_CONNS", p.MaxOpenConns); err != nil {
		return p, err
	}
	if p.MaxIdleConns < 0 {
		return p, fmt.Errorf("AQIO_DB_MAX_IDLE_CONNS: %d must not be negative", p.MaxIdleConns)
	}
	if p.MaxIdleConns > p.MaxOpenConns {
		return p, fmt.Errorf("AQIO_DB_MAX_IDLE_CONNS: %d is more than AQIO_DB_MAX_OPEN_CONNS (%d)", p.MaxIdleConns, p.MaxOpenConns)
	}
	if p.ConnMaxLifetime, err = getDuration(env, "AQIO_DB_CONN_MAX_LIFETIME", 30*time.Minute); err != nil {
		return p, err
	}
	if p.ConnMaxIdleTime, err = getDuration(env, "AQIO_DB_CONN_MAX_IDLE_TIME", 5*time.Minute); err != nil {
		return p, err
	}
	if p.ConnMaxLifetime < 0 || p.ConnMaxIdleTime < 0 {
		return p, fmt.Errorf("AQIO_DB_CONN_MAX_LIFETIME and AQIO_DB_CONN_MAX_IDLE_TIME must not be negative")
	}
	return p, nil
}
