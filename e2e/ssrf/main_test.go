// Package ssrf_test runs the service as production does, with private
// targets refused (AQIO_ALLOW_PRIVATE_TARGETS=false), and proves that no
// spelling of a private or loopback address is saved as a webhook URL or
// reached by a delivery.
package ssrf_test

import (
	"testing"

	"github.com/aqio/connect/config"
	"github.com/aqio/connect/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(c *config.Config) { c.AllowPrivateTargets = false })
}
