// Package webhooks_test drives webhook delivery end to end: HTTP API →
// Temporal workflow → activity → real HTTP receiver → database rows, on
// the database named by AQIO_TEST_DATABASE_URL (Postgres) or SQLite.
package webhooks_test

import (
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
