package workflows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aqio/connect/activities"
	"github.com/aqio/connect/store"
)

const rekeyPrefix = "keyring-rekey:"

// RekeyWorkflowID names the re-encryption run to one key: starting it
// again while it runs attaches to the running one.
func RekeyWorkflowID(keyID string) string { return rekeyPrefix + keyID }

// ParseRekeyWorkflowID is the inverse of RekeyWorkflowID.
func ParseRekeyWorkflowID(id string) (keyID string, err error) {
	keyID, ok := strings.CutPrefix(id, rekeyPrefix)
	if !ok || keyID == "" {
		return "", fmt.Errorf("not a rekey workflow id: %q", id)
	}
	return keyID, nil
}

// RekeyBatchesPerRun bounds a run's history: after this many batches the
// run continues as new with its cursor.
const RekeyBatchesPerRun = 50

// RekeyInput is where a Rekey run starts: KeyID is the newest key every
// ciphertext moves to; Tables are the tables to walk, in order
// (store.CipherTableNames when started; empty in runs started before the
// field existed: the first three); Table and Cursor resume a run that
// continued as new ("" starts at the first table); Progress carries the
// counts so far.
type RekeyInput struct {
	KeyID     string
	BatchSize int // rows per batch (default 200)
	Tables    []string
	Table     string
	Cursor    string
	Progress  RekeyResult
}

// rekeyTablesV0 are the tables of runs started without Tables.
var rekeyTablesV0 = []string{"webhooks", "integrations", "integration_oauth_states"}

// RekeyTableResult counts what happened in one table.
type RekeyTableResult struct {
	Table      string
	Batches    int
	Rows       int
	Resealed   int
	Changed    int
	Unreadable int
}

// RekeyResult is a finished run's counts, one entry per table.
type RekeyResult struct {
	KeyID  string
	Tables []RekeyTableResult
}

// Rekey re-encrypts every key-ring ciphertext (store.CipherTables) under
// the newest key, table after table, in batches; each batch is one
// heartbeating activity that updates a column only if it still holds the
// ciphertext it read. Rows already under the newest key are never
// selected, so a run started again (or resumed) does nothing twice.
func Rekey(ctx workflow.Context, in RekeyInput) (RekeyResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 20,
			NonRetryableErrorTypes: []string{activities.ErrTypeWrongPrimaryKey},
		},
	})
	res := in.Progress
	res.KeyID = in.KeyID
	tables := in.Tables
	if len(tables) == 0 {
		tables = rekeyTablesV0
	}
	start := 0
	for i, t := range tables {
		if t == in.Table {
			start = i
		}
	}
	var a *activities.Rekey
	batches := 0
	for i := start; i < len(tables); i++ {
		table := tables[i]
		cursor := ""
		if table == in.Table {
			cursor = in.Cursor
		}
		tr := tableResult(&res, table)
		for {
			var b activities.RekeyBatchResult
			err := workflow.ExecuteActivity(ctx, a.RekeyBatch, activities.RekeyBatchInput{
				KeyID: in.KeyID, Table: table, Cursor: cursor, Limit: in.BatchSize,
			}).Get(ctx, &b)
			if err != nil {
				return res, fmt.Errorf("re-key %s after %q: %w", table, cursor, err)
			}
			tr.Batches++
			tr.Rows += b.Rows
			tr.Resealed += b.Resealed
			tr.Changed += b.Changed
			tr.Unreadable += b.Unreadable
			batches++
			if b.Next == "" {
				break
			}
			cursor = b.Next
			if batches >= RekeyBatchesPerRun {
				return res, workflow.NewContinueAsNewError(ctx, Rekey, RekeyInput{
					KeyID: in.KeyID, BatchSize: in.BatchSize, Tables: tables, Table: table, Cursor: cursor, Progress: res,
				})
			}
		}
	}
	return res, nil
}

func tableResult(res *RekeyResult, table string) *RekeyTableResult {
	for i := range res.Tables {
		if res.Tables[i].Table == table {
			return &res.Tables[i]
		}
	}
	res.Tables = append(res.Tables, RekeyTableResult{Table: table})
	return &res.Tables[len(res.Tables)-1]
}

// StartRekey starts the re-encryption run to keyID (or returns the one
// already running). Its activities run on the webhooks task queue.
func StartRekey(ctx context.Context, c client.Client, keyID string) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       RekeyWorkflowID(keyID),
		TaskQueue:                WebhooksQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, Rekey, RekeyInput{KeyID: keyID, Tables: store.CipherTableNames()})
	if err != nil {
		return nil, fmt.Errorf("start rekey: %w", err)
	}
	return run, nil
}
