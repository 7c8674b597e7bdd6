package database

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

func openSQLiteFile(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	return db
}

// conn runs f with the writer's one driver connection.
func writerConn(t *testing.T, db *DB, f func(c *cachingConn)) {
	t.Helper()
	c, err := db.SQL().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Raw(func(dc any) error {
		cc, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not the caching one", dc)
		}
		f(cc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Statements run inside transactions are prepared once per connection,
// not once per transaction (gorm's own cache prepared them again in each).
func TestStatementsArePreparedOncePerConnection(t *testing.T) {
	db := openSQLiteFile(t)
	var before int
	writerConn(t, db, func(c *cachingConn) { before = c.prepares })
	for i := range 50 {
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO items (id, name) VALUES (?, ?)`, i+1, fmt.Sprint("n", i)).Error; err != nil {
				return err
			}
			var n int64
			if err := tx.Raw(`SELECT count(*) FROM items WHERE id <= ?`, i+1).Scan(&n).Error; err != nil {
				return err
			}
			if n != int64(i+1) {
				return fmt.Errorf("count %d, want %d", n, i+1)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	writerConn(t, db, func(c *cachingConn) {
		if got := c.prepares - before; got != 2 {
			t.Fatalf("50 transactions of the same 2 statements prepared %d statements, want 2", got)
		}
	})
	var n int64
	if err := db.Raw(`SELECT count(*) FROM items`).Scan(&n).Error; err != nil || n != 50 {
		t.Fatalf("count = %d, %v; want 50", n, err)
	}
}

// A statement whose rows are still open is not reused: the same query
// run meanwhile gets a statement of its own, and both read all rows.
func TestBusyStatementIsNotShared(t *testing.T) {
	db := openSQLiteFile(t)
	for i := 1; i <= 3; i++ {
		if err := db.Exec(`INSERT INTO items (id, name) VALUES (?, ?)`, i, fmt.Sprint("n", i)).Error; err != nil {
			t.Fatal(err)
		}
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT id FROM items WHERE id >= ? ORDER BY id`, 1).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer []int
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return err
			}
			outer = append(outer, id)
			var inner []int
			if err := tx.Raw(`SELECT id FROM items WHERE id >= ? ORDER BY id`, id).Scan(&inner).Error; err != nil {
				return err
			}
			if len(inner) != 4-id {
				return fmt.Errorf("inner query from %d read %v", id, inner)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if fmt.Sprint(outer) != "[1 2 3]" {
			return fmt.Errorf("outer query read %v", outer)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The cache is bounded, and a statement that does not prepare is an
// error that is not kept.
func TestStatementCacheIsBounded(t *testing.T) {
	db := openSQLiteFile(t)
	for i := range maxCachedStmts + 20 {
		var n int64
		if err := db.Raw(fmt.Sprintf(`SELECT count(*) + %d FROM items`, i)).Scan(&n).Error; err != nil || n != int64(i) {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if err := db.Exec(`SELEC nonsense`).Error; err == nil {
		t.Fatal("a statement with a syntax error ran")
	}
	writerConn(t, db, func(c *cachingConn) {
		if len(c.stmts) > maxCachedStmts {
			t.Fatalf("%d statements kept, want at most %d", len(c.stmts), maxCachedStmts)
		}
		if _, ok := c.stmts[`SELEC nonsense`]; ok {
			t.Fatal("the failed statement was kept")
		}
	})
}
