package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/app"
	"github.com/aqio/connect/config"
	"github.com/aqio/connect/database"
	"github.com/aqio/connect/keyring"
	"github.com/aqio/connect/store"
	"github.com/aqio/connect/workflows"
)

// runRekey re-encrypts every key-ring ciphertext under the newest key of
// AQIO_ENCRYPTION_KEYS. With TEMPORAL_ADDRESS it starts the Rekey
// workflow (keyring-rekey:<key id>, run by the workers, visible in the
// Temporal UI) and waits for it; without, it runs the same batch activity
// inline in this process (for a deployment whose workers are down, or a
// dev data directory). Either way it then prints the key usage report.
func runRekey(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if cfg.EncryptionKeys == "" {
		return fmt.Errorf("AQIO_ENCRYPTION_KEYS is required for migrate --rekey (the new key first, then the old ones)")
	}
	ring, err := keyring.Parse(cfg.EncryptionKeys)
	if err != nil {
		return fmt.Errorf("AQIO_ENCRYPTION_KEYS: %w", err)
	}
	var st *store.Store
	if cfg.TemporalAddress != "" {
		a, err := app.New(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer a.Close()
		run, err := workflows.StartRekey(ctx, a.Temporal, ring.PrimaryID())
		if err != nil {
			return err
		}
		logger.Info("rekey started: the workers re-encrypt every ciphertext", "workflow_id", run.GetID(), "run_id", run.GetRunID(),
			"temporal_url", a.Webhooks.WorkflowURL(run.GetID(), run.GetRunID()))
		var res workflows.RekeyResult
		if err := run.Get(ctx, &res); err != nil {
			return fmt.Errorf("rekey run %s: %w", run.GetID(), err)
		}
		for _, t := range res.Tables {
			logger.Info("rekey table done", "table", t.Table, "rows", t.Rows, "resealed", t.Resealed, "changed_meanwhile", t.Changed, "unreadable", t.Unreadable)
		}
		st = a.Store
		return reportKeys(ctx, st, ring, logger)
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	st = store.New(db, nil)
	act := &activities.Rekey{Store: st, Ring: ring}
	logger.Info("TEMPORAL_ADDRESS not set: re-encrypting inline", "key_id", ring.PrimaryID())
	for _, t := range store.CipherTables {
		var total activities.RekeyBatchResult
		cursor := ""
		for {
			b, err := act.RekeyBatch(ctx, activities.RekeyBatchInput{KeyID: ring.PrimaryID(), Table: t.Table, Cursor: cursor})
			if err != nil {
				return fmt.Errorf("rekey %s: %w", t.Table, err)
			}
			total.Rows += b.Rows
			total.Resealed += b.Resealed
			total.Changed += b.Changed
			total.Unreadable += b.Unreadable
			if b.Next == "" {
				break
			}
			cursor = b.Next
		}
		logger.Info("rekey table done", "table", t.Table, "rows", total.Rows, "resealed", total.Resealed, "changed_meanwhile", total.Changed, "unreadable", total.Unreadable)
	}
	return reportKeys(ctx, st, ring, logger)
}

// reportKeys logs how many ciphertexts each key id still seals.
func reportKeys(ctx context.Context, st *store.Store, ring *keyring.Ring, logger *slog.Logger) error {
	usage, err := st.KeyUsageReport(ctx)
	if err != nil {
		return err
	}
	totals := map[string]int{}
	for _, id := range ring.KeyIDs() {
		totals[id] = 0
	}
	for _, u := range usage {
		for id, n := range u.Counts {
			totals[id] += n
		}
	}
	for _, id := range ring.KeyIDs() {
		note := "in use"
		switch {
		case id == ring.PrimaryID():
			note = "newest key"
		case totals[id] == 0:
			note = "no ciphertext uses it: it can be removed from AQIO_ENCRYPTION_KEYS"
		}
		logger.Info("key usage", "key_id", id, "ciphertexts", totals[id], "note", note)
	}
	for id, n := range totals {
		if !ring.Has(id) {
			logger.Warn("ciphertexts under a key the ring lacks", "key_id", id, "ciphertexts", n)
		}
	}
	return nil
}
