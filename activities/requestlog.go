package activities

import (
	"context"

	"github.com/aqio/connect/requestlog"
)

// PurgeRequestLogs deletes API request log entries older than the cutoff
// (AQIO_REQUEST_LOG_RETENTION), run by the retention schedule.
func (d *Deliveries) PurgeRequestLogs(ctx context.Context, in PurgeInput) (PurgeResult, error) {
	n, err := requestlog.Purge(ctx, d.Store.DB(), in.Before)
	return PurgeResult{Deleted: n}, err
}
