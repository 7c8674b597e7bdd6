// Package testdb gives a test its own database: a fresh Postgres
// database (dropped when the test ends) when AQIO_TEST_DATABASE_URL is
// set, else a SQLite file in the test's temporary directory. It has no
// dependency on the service's packages, so any package's tests can use it.
package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that creates the database
)

// URL is the URL of a new, empty database for t: on Postgres a database
// named prefix_<random> created from AQIO_TEST_DATABASE_URL, else
// "sqlite://<t.TempDir()>/<sqliteFile>" ("" when sqliteFile is empty: the
// caller's own default then applies).
func URL(t testing.TB, prefix, sqliteFile string) string {
	t.Helper()
	base := os.Getenv("AQIO_TEST_DATABASE_URL")
	if base == "" {
		if sqliteFile == "" {
			return ""
		}
		return "sqlite://" + filepath.Join(t.TempDir(), sqliteFile)
	}
	return Postgres(t, base, prefix)
}

// Postgres creates a database named prefix_<random> on base's server and
// returns its URL; it is dropped (connections forced out) when t ends.
func Postgres(t testing.TB, base, prefix string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	name := prefix + "_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
