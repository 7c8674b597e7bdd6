package devtemporal

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"
)

// clearMembership deletes the cluster_membership rows of earlier
// processes from the server's SQLite store. The caller holds the store's
// lock, so no live server owns any of them. Through the "sqlite" driver
// the server itself registers (modernc.org/sqlite).
func clearMembership(file string) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open temporal store: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("clear stale temporal membership: %w", err)
	}
	return nil
}
