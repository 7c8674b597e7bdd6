// Package cli_test drives `aqio-connect listen` and `aqio-connect trigger`
// end to end: the commands' Go entry points run in-process against the
// whole service (API, Temporal, workers, the database named by
// AQIO_TEST_DATABASE_URL or SQLite), forwarding to real local receivers.
// Private targets are refused here, as in production: a listen session
// reaches a local receiver, an ordinary webhook cannot.
package cli_test

import (
	"testing"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(c *config.Config) { c.AllowPrivateTargets = false })
}
