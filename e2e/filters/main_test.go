// Package filters_test drives webhook filtering and payload customization
// end to end: API → event ingest → delivery workflow → real HTTP receiver.
package filters_test

import (
	"testing"

	"github.com/aqio/connect/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
