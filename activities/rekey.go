package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/store"
)

// ErrTypeWrongPrimaryKey is a re-key batch run by a worker whose key ring
// has another newest key than the run was started for (a worker not yet
// given the new key): not retried, the run fails and says so.
const ErrTypeWrongPrimaryKey = "RekeyWrongPrimaryKey"

// Rekey holds the re-encryption activity's dependencies.
type Rekey struct {
	Store *store.Store
	Ring  *keyring.Ring
}

// RekeyBatchInput names one batch: up to Limit rows of Table after Cursor
// (row id) that hold a ciphertext not under KeyID.
type RekeyBatchInput struct {
	KeyID  string
	Table  string
	Cursor string
	Limit  int
}

// RekeyBatchResult is what a batch did. Next is the cursor of the next
// batch ("" when the table is done).
type RekeyBatchResult struct {
	Rows     int
	Resealed int
	// Changed are ciphertexts rewritten meanwhile (a refresh, a rotation):
	// the compare-and-swap lost and the newer value, under the newest key,
	// is kept.
	Changed int
	// Unreadable are ciphertexts no key of the ring opens; they stay as
	// they are and keep their key id in GET /api/admin/keyring.
	Unreadable int
	Next       string
}

// RekeyBatch re-encrypts the ciphertexts of one batch of rows under the
// newest key, each column only if it still holds the old ciphertext. Safe
// to run again: rows already under the newest key are not selected.
func (a *Rekey) RekeyBatch(ctx context.Context, in RekeyBatchInput) (RekeyBatchResult, error) {
	var res RekeyBatchResult
	if in.KeyID != a.Ring.PrimaryID() {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("this worker's newest key is %q, the run re-keys to %q: give every worker the new AQIO_ENCRYPTION_KEYS first", a.Ring.PrimaryID(), in.KeyID),
			ErrTypeWrongPrimaryKey, nil)
	}
	t, ok := store.CipherTableNamed(in.Table)
	if !ok {
		return res, temporal.NewNonRetryableApplicationError("unknown ciphertext table "+in.Table, "RekeyUnknownTable", nil)
	}
	limit := in.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := a.Store.RowsNotUnderKey(ctx, t, in.KeyID, in.Cursor, limit)
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		for _, col := range t.Columns {
			prev, ok := r.Values[col]
			if !ok || keyring.KeyID(prev) == "" || keyring.KeyID(prev) == in.KeyID {
				continue
			}
			next, changed, err := a.Ring.Reseal(prev, []byte(r.ID))
			if err != nil {
				res.Unreadable++
				continue
			}
			if !changed {
				continue
			}
			err = a.Store.SwapCiphertext(ctx, t.Table, col, r.ID, prev, next)
			switch {
			case errors.Is(err, store.ErrCiphertextChanged):
				res.Changed++
			case err != nil:
				return res, err
			default:
				res.Resealed++
			}
		}
		res.Rows++
		if activity.IsActivity(ctx) { // also run inline by `migrate --rekey` without Temporal
			activity.RecordHeartbeat(ctx, r.ID)
		}
	}
	if len(rows) == limit {
		res.Next = rows[len(rows)-1].ID
	}
	return res, nil
}
