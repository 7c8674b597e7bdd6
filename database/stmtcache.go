package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// stmtCacheDriver is the SQLite driver name the application database
// opens: modernc's driver, whose connections keep every statement they
// prepared. The pure-Go SQLite spends a large share of its time parsing
// SQL (bench -cpuprofile: 9 % of a quiet-traffic run), and gorm's own
// prepared-statement cache does not help inside transactions: a statement
// it prepared in one is bound to that transaction, so database/sql
// prepares it again on every later one (Tx.StmtContext). Caching per
// driver connection serves both, and every statement outside gorm (raw
// transactions, goose) too.
const stmtCacheDriver = "sqlite-aqio"

// maxCachedStmts bounds the statements one connection keeps (queries with
// IN lists of varying length are distinct statements).
const maxCachedStmts = 512

var registerOnce sync.Once

// registerStmtCache registers stmtCacheDriver, wrapping the driver
// registered as "sqlite" (modernc's, which the Temporal server links too).
func registerStmtCache() {
	registerOnce.Do(func() {
		db, err := sql.Open("sqlite", "")
		if err != nil {
			panic("database: the sqlite driver is not registered: " + err.Error())
		}
		base := db.Driver()
		_ = db.Close()
		sql.Register(stmtCacheDriver, cachingDriver{base: base})
	})
}

type cachingDriver struct{ base driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: c, stmts: map[string]*cachedStmt{}}, nil
}

// cachedStmt is a statement a connection keeps; busy while rows it
// returned are open (a second use then prepares a statement of its own).
type cachedStmt struct {
	driver.Stmt
	busy bool
}

// cachingConn runs Exec and Query through statements it keeps, keyed by
// the SQL text. database/sql uses a connection from one goroutine at a
// time, so the map needs no lock.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
	// prepares counts statements prepared on the connection (tests).
	prepares int
}

var (
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

func (c *cachingConn) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	c.prepares++
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

// stmt returns the kept statement for query (preparing and keeping it
// the first time), or, while the kept one is busy, a statement of its own
// (owned: the caller closes it).
func (c *cachingConn) stmt(ctx context.Context, query string) (s *cachedStmt, owned bool, err error) {
	if s, ok := c.stmts[query]; ok {
		if !s.busy {
			return s, false, nil
		}
		ds, err := c.prepare(ctx, query)
		if err != nil {
			return nil, false, err
		}
		return &cachedStmt{Stmt: ds}, true, nil
	}
	ds, err := c.prepare(ctx, query)
	if err != nil {
		return nil, false, err
	}
	if len(c.stmts) >= maxCachedStmts {
		for q, old := range c.stmts {
			if !old.busy {
				_ = old.Close()
				delete(c.stmts, q)
			}
		}
	}
	s = &cachedStmt{Stmt: ds}
	c.stmts[query] = s
	return s, false, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, owned, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if owned {
		defer s.Close()
	}
	ex, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("database: the sqlite statement has no ExecContext")
	}
	return ex.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, owned, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		if owned {
			_ = s.Close()
		}
		return nil, errors.New("database: the sqlite statement has no QueryContext")
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		if owned {
			_ = s.Close()
		}
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s, owned: owned}, nil
}

// cachedRows frees its statement when closed.
type cachedRows struct {
	driver.Rows
	s      *cachedStmt
	owned  bool
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.s.busy = false
	if r.owned {
		if e := r.s.Close(); err == nil {
			err = e
		}
	}
	return err
}

// PrepareContext prepares a statement database/sql owns (and closes): not
// one of the kept ones.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prepare(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the fallback of a driver without BeginTx
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close closes the kept statements, then the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		_ = s.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}
