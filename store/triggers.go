package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Triggers are stored with their whole state, so a firing survives a
// restart: next_scheduled_at is the slot the trigger fires at next, and
// firing claims it with a compare-and-set on version inside the transaction
// that also enqueues the run and records the history item. A slot
// therefore starts one run whatever happens — a kill before the commit
// leaves the slot due, a kill after it leaves the run queued — and two
// schedulers sharing the store cannot both fire it: the second one's
// compare-and-set finds the version moved.
//
// Every write of the definition (patch, pause, resume) moves version too,
// so a firing computed from a stale read is abandoned.

// triggerMigration creates the trigger tables. Deleting a cluster deletes
// its triggers and their history (foreign keys with ON DELETE CASCADE).
const triggerMigration = `CREATE TABLE triggers (
		id TEXT PRIMARY KEY,
		namespace_id TEXT NOT NULL,
		cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
		owns_cluster INTEGER NOT NULL DEFAULT 0,
		trigger_type TEXT NOT NULL,
		schedule_config TEXT NOT NULL,
		execution_config TEXT,
		description TEXT,
		status TEXT NOT NULL,
		paused_reason TEXT,
		created_by TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		anchor_at INTEGER NOT NULL,
		next_scheduled_at INTEGER,
		last_triggered_at INTEGER,
		execution_count INTEGER NOT NULL DEFAULT 0,
		consecutive_failures INTEGER NOT NULL DEFAULT 0,
		last_execution_status TEXT,
		last_execution_error TEXT,
		last_execution_job_id TEXT,
		last_run_id TEXT,
		last_run_final INTEGER NOT NULL DEFAULT 1,
		event_type TEXT,
		event_collection_id TEXT,
		event_threshold INTEGER,
		event_counter INTEGER NOT NULL DEFAULT 0,
		last_cooldown_at INTEGER,
		last_checked_at INTEGER,
		last_condition_value REAL,
		last_condition_error TEXT,
		version INTEGER NOT NULL DEFAULT 1
	);
	CREATE INDEX triggers_namespace ON triggers (namespace_id, created_at);
	CREATE INDEX triggers_due ON triggers (status, next_scheduled_at);
	CREATE INDEX triggers_cluster ON triggers (cluster_id);
	CREATE INDEX triggers_event ON triggers (event_collection_id) WHERE event_collection_id IS NOT NULL;
	CREATE INDEX triggers_unsettled ON triggers (last_run_final) WHERE last_run_final = 0;
	CREATE TABLE trigger_history (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
		run_id TEXT,
		job_id TEXT NOT NULL,
		triggered_at INTEGER NOT NULL,
		status TEXT NOT NULL,
		final INTEGER NOT NULL,
		num_clusters INTEGER,
		num_documents INTEGER,
		execution_time_ms INTEGER,
		error TEXT,
		scheduled_at INTEGER,
		slots INTEGER,
		catch_up INTEGER NOT NULL DEFAULT 0,
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX trigger_history_trigger ON trigger_history (trigger_id, id);`

// Trigger is a stored trigger with its scheduling state.
type Trigger struct {
	ID          string
	NamespaceID string
	// ClusterID is the cluster whose runs the trigger starts: the one it
	// references, or (OwnsCluster) the one made for its execution_config.
	ClusterID   string
	OwnsCluster bool
	Type        string
	Schedule    json.RawMessage // the completed schedule_config
	Execution   json.RawMessage // the execution_config as given; nil for a cluster reference
	Description *string
	Status      string
	// PausedReason says why the trigger is not active ("" when it is).
	PausedReason string
	CreatedBy    *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// AnchorAt is when interval slots are counted from.
	AnchorAt            time.Time
	NextScheduledAt     *time.Time
	LastTriggeredAt     *time.Time
	ExecutionCount      int
	ConsecutiveFailures int
	LastExecutionStatus *string
	LastExecutionError  *string
	LastExecutionJobID  *string
	// LastRunID is the last run started; LastRunFinal whether its outcome
	// has been recorded (history, failures).
	LastRunID    string
	LastRunFinal bool
	// Event triggers: what is counted, in which collection, how many fire.
	EventType         string
	EventCollectionID string
	EventThreshold    int64
	EventCounter      int64
	LastCooldownAt    *time.Time
	// Conditional triggers: the last check.
	LastCheckedAt      *time.Time
	LastConditionValue *float64
	LastConditionError *string
	Version            int64
}

const triggerCols = `id, namespace_id, cluster_id, owns_cluster, trigger_type, schedule_config, execution_config, description, status, paused_reason,
	created_by, created_at, updated_at, anchor_at, next_scheduled_at, last_triggered_at, execution_count, consecutive_failures,
	last_execution_status, last_execution_error, last_execution_job_id, last_run_id, last_run_final, event_type, event_collection_id,
	event_threshold, event_counter, last_cooldown_at, last_checked_at, last_condition_value, last_condition_error, version`

func scanTrigger(row interface{ Scan(...any) error }) (Trigger, error) {
	var t Trigger
	var execution, description, paused, createdBy, lastStatus, lastErr, lastJob, lastRun, evType, evCol, condErr sql.NullString
	var created, updated, anchor int64
	var next, triggered, cooldown, checked, threshold sql.NullInt64
	var condValue sql.NullFloat64
	var owns, final int
	var schedule string
	err := row.Scan(&t.ID, &t.NamespaceID, &t.ClusterID, &owns, &t.Type, &schedule, &execution, &description, &t.Status, &paused,
		&createdBy, &created, &updated, &anchor, &next, &triggered, &t.ExecutionCount, &t.ConsecutiveFailures,
		&lastStatus, &lastErr, &lastJob, &lastRun, &final, &evType, &evCol,
		&threshold, &t.EventCounter, &cooldown, &checked, &condValue, &condErr, &t.Version)
	if err != nil {
		return t, err
	}
	t.OwnsCluster, t.LastRunFinal = owns != 0, final != 0
	t.Schedule, t.Execution = json.RawMessage(schedule), rawJSON(execution)
	t.Description, t.CreatedBy = nullableString(description), nullableString(createdBy)
	t.PausedReason, t.LastRunID, t.EventType, t.EventCollectionID = paused.String, lastRun.String, evType.String, evCol.String
	t.CreatedAt, t.UpdatedAt, t.AnchorAt = fromMicros(created), fromMicros(updated), fromMicros(anchor)
	t.NextScheduledAt, t.LastTriggeredAt, t.LastCooldownAt, t.LastCheckedAt = nullMicros(next), nullMicros(triggered), nullMicros(cooldown), nullMicros(checked)
	t.LastExecutionStatus, t.LastExecutionError, t.LastExecutionJobID = nullableString(lastStatus), nullableString(lastErr), nullableString(lastJob)
	t.EventThreshold = threshold.Int64
	if condValue.Valid {
		v := condValue.Float64
		t.LastConditionValue = &v
	}
	t.LastConditionError = nullableString(condErr)
	return t, nil
}

func nullableString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func nullStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// CreateTrigger stores a new trigger; with own, the cluster made for its
// execution_config is stored in the same transaction (both or neither).
// The trigger's cluster must exist.
func (s *Store) CreateTrigger(ctx context.Context, t Trigger, own *Cluster) (Trigger, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if own != nil {
			own.CreatedAt, own.UpdatedAt = s.now(), s.now()
			if err := insertCluster(ctx, tx, *own); err != nil {
				return err
			}
			t.ClusterID, t.OwnsCluster = own.ID, true
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clusters WHERE id = ? AND namespace_id = ?`, t.ClusterID, t.NamespaceID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &NotFoundError{Resource: "cluster", ID: t.ClusterID}
		}
		t.Version, t.LastRunFinal = 1, true
		_, err := tx.ExecContext(ctx, `INSERT INTO triggers (id, namespace_id, cluster_id, owns_cluster, trigger_type, schedule_config, execution_config,
			description, status, paused_reason, created_by, created_at, updated_at, anchor_at, next_scheduled_at, event_type, event_collection_id,
			event_threshold, version, last_run_final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)`,
			t.ID, t.NamespaceID, t.ClusterID, boolInt(t.OwnsCluster), t.Type, string(t.Schedule), nullJSON(t.Execution),
			nullStr(t.Description), t.Status, nullString(t.PausedReason), nullStr(t.CreatedBy), micros(t.CreatedAt), micros(t.UpdatedAt),
			micros(t.AnchorAt), nullTime(t.NextScheduledAt), nullString(t.EventType), nullString(t.EventCollectionID), nullInt(t.EventThreshold))
		return err
	})
	return t, err
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// GetTrigger returns a trigger of the namespace.
func (s *Store) GetTrigger(ctx context.Context, ns, id string) (Trigger, error) {
	t, err := scanTrigger(s.r.QueryRowContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE namespace_id = ? AND id = ?`, ns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, &NotFoundError{Resource: "trigger", ID: id}
	}
	return t, err
}

// TriggerFilter selects and orders triggers; empty fields do not filter.
type TriggerFilter struct {
	ClusterID, Status, Type string
	SortBy                  string // a model.TriggerSortFields value
	Desc                    bool
	Limit, Offset           int
}

var triggerSort = map[string]string{
	"created_at": "created_at", "updated_at": "updated_at", "next_scheduled_at": "next_scheduled_at",
	"last_triggered_at": "last_triggered_at", "execution_count": "execution_count", "trigger_type": "trigger_type", "status": "status",
}

// ListTriggers returns a page of the namespace's triggers and how many
// match in all.
func (s *Store) ListTriggers(ctx context.Context, ns string, f TriggerFilter) ([]Trigger, int, error) {
	cond, args := "namespace_id = ?", []any{ns}
	for _, c := range []struct{ col, v string }{{"cluster_id", f.ClusterID}, {"status", f.Status}, {"trigger_type", f.Type}} {
		if c.v != "" {
			cond += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	col, ok := triggerSort[f.SortBy]
	if !ok {
		col = "created_at"
	}
	dir := "ASC"
	if f.Desc {
		dir = "DESC"
	}
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return nil, 0, err
	}
	defer snap.Rollback()
	var total int
	if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM triggers WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := snap.QueryContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE `+cond+` ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Trigger{}
	for rows.Next() {
		t, err := scanTrigger(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// UpdateTrigger changes a trigger's definition in one transaction: fn
// edits the stored trigger (schedule, description, status, paused reason,
// anchor, next slot, consecutive failures, event settings, updated_at) and
// the result is written with a new version, so a firing computed before
// the change is abandoned. An error from fn is returned as is.
func (s *Store) UpdateTrigger(ctx context.Context, ns, id string, fn func(*Trigger) error) (Trigger, error) {
	var t Trigger
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanTrigger(tx.QueryRowContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE namespace_id = ? AND id = ?`, ns, id))
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Resource: "trigger", ID: id}
		}
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		t.Version++
		_, err = tx.ExecContext(ctx, `UPDATE triggers SET schedule_config = ?, description = ?, status = ?, paused_reason = ?, updated_at = ?,
			anchor_at = ?, next_scheduled_at = ?, consecutive_failures = ?, event_type = ?, event_collection_id = ?, event_threshold = ?,
			version = ? WHERE id = ?`,
			string(t.Schedule), nullStr(t.Description), t.Status, nullString(t.PausedReason), micros(t.UpdatedAt), micros(t.AnchorAt),
			nullTime(t.NextScheduledAt), t.ConsecutiveFailures, nullString(t.EventType), nullString(t.EventCollectionID),
			nullInt(t.EventThreshold), t.Version, t.ID)
		return err
	})
	return t, err
}

// DeleteTrigger deletes a trigger with its history. The cluster made for
// its execution_config stays, with its runs: they are the trigger's
// results.
func (s *Store) DeleteTrigger(ctx context.Context, ns, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM triggers WHERE namespace_id = ? AND id = ?`, ns, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Resource: "trigger", ID: id}
		}
		return nil
	})
}

// DueTriggers returns the active triggers to consider at now: those whose
// next slot (or next check) has come, and event triggers whose counter
// reached the threshold with their cooldown over.
func (s *Store) DueTriggers(ctx context.Context, now time.Time) ([]Trigger, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE status = 'active' AND (
		(trigger_type != 'event' AND next_scheduled_at IS NOT NULL AND next_scheduled_at <= ?)
		OR (trigger_type = 'event' AND event_counter >= event_threshold AND (next_scheduled_at IS NULL OR next_scheduled_at <= ?)))
		ORDER BY next_scheduled_at, id`, micros(now), micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Trigger
	for rows.Next() {
		t, err := scanTrigger(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// countDocumentWrites adds an upsert's writes to the counters of the event
// triggers watching the collection, inside the upsert's transaction: the
// counters move exactly when the documents are committed.
func countDocumentWrites(ctx context.Context, tx *sql.Tx, collectionID string, st UpsertStats) error {
	if st.Inserted+st.Updated == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE triggers SET event_counter = event_counter + (CASE event_type WHEN 'documents_added' THEN CAST(? AS INTEGER) ELSE CAST(? AS INTEGER) END)
		WHERE event_collection_id = ? AND trigger_type = 'event'`, st.Inserted, st.Inserted+st.Updated, collectionID)
	return err
}

// Check is the outcome of a conditional trigger's check.
type Check struct {
	At    time.Time
	Value *float64
	Error string
}

// Slot describes the firing recorded in the history.
type Slot struct {
	ScheduledAt *time.Time // cron and interval: the first slot covered
	Slots       int        // cron and interval: slots covered (0 for the others)
	CatchUp     bool
	Detail      string
}

// FireRequest is one firing of a trigger, computed by the scheduler from
// the trigger as read at Version.
type FireRequest struct {
	TriggerID string
	Version   int64
	Now       time.Time
	// Next is the next slot (or check) after a firing; SkipNext after a
	// firing skipped because the cluster is busy.
	Next, SkipNext *time.Time
	Slot           Slot
	// ResetCounter zeroes an event trigger's counter; Cooldown records the
	// start of a cooldown (last_cooldown_at).
	ResetCounter, Cooldown bool
	Check                  *Check
	// MaxFailures pauses the trigger once this many of its runs in a row
	// failed (settling the previous run may do it).
	MaxFailures int
	// Initial builds the pending ExecutionResult JSON of the new run.
	Initial func(runID, taskID, clusterID string, created time.Time) (json.RawMessage, error)
}

// FireResult says what a firing did. Claimed is false when the trigger
// moved on since it was read (fired elsewhere, changed, paused, deleted):
// nothing was written. Otherwise exactly one of Run (started), BlockedBy
// (skipped: the cluster has this run queued or processing) and
// Settled.Paused (the previous run's failure paused the trigger) is set.
type FireResult struct {
	Claimed   bool
	Run       *Run
	BlockedBy *Run
	Settled   Settled
}

// Settled is the recording of a finished run's outcome on its trigger.
type Settled struct {
	TriggerType string
	Finished    bool // the run ended and was recorded now
	Failed      bool // it failed (not counting a cancel)
	Paused      bool // the trigger was paused for its consecutive failures
}

// FireTrigger fires a trigger in one transaction: claim the slot
// (compare-and-set on version), settle the previous run, then either
// enqueue a run or record a skip, and record the history item.
func (s *Store) FireTrigger(ctx context.Context, req FireRequest) (FireResult, error) {
	var out FireResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = FireResult{}
		res, err := tx.ExecContext(ctx, `UPDATE triggers SET version = version + 1 WHERE id = ? AND version = ? AND status = 'active'`, req.TriggerID, req.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		out.Claimed = true
		t, err := scanTrigger(tx.QueryRowContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE id = ?`, req.TriggerID))
		if err != nil {
			return err
		}
		if out.Settled, err = s.settle(ctx, tx, &t, req.MaxFailures); err != nil || out.Settled.Paused {
			return err
		}
		blocking, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE cluster_id = ? AND status IN ('pending', 'processing')
			ORDER BY created_at, rowid LIMIT 1`, t.ClusterID))
		switch {
		case err == nil:
			out.BlockedBy = &blocking
			return s.recordSkip(ctx, tx, &t, req, blocking)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		run, _, err := s.enqueue(ctx, tx, NewRun{NamespaceID: t.NamespaceID, ClusterID: t.ClusterID,
			Initial: func(runID, taskID string, created time.Time) (json.RawMessage, error) {
				return req.Initial(runID, taskID, t.ClusterID, created)
			}})
		if err != nil {
			return err
		}
		out.Run = &run
		if err := insertHistory(ctx, tx, t.ID, &run.RunID, run.TaskID, req.Now, "pending", false, nil, req.Slot); err != nil {
			return err
		}
		var cooldown any = nullTime(t.LastCooldownAt)
		if req.Cooldown {
			cooldown = micros(req.Now)
		}
		counter := t.EventCounter
		if req.ResetCounter {
			counter = 0
		}
		if _, err := tx.ExecContext(ctx, `UPDATE triggers SET next_scheduled_at = ?, last_triggered_at = ?, execution_count = execution_count + 1,
			last_execution_status = 'pending', last_execution_error = NULL, last_execution_job_id = ?, last_run_id = ?, last_run_final = 0,
			event_counter = ?, last_cooldown_at = ? WHERE id = ?`,
			nullTime(req.Next), micros(req.Now), run.TaskID, run.RunID, counter, cooldown, t.ID); err != nil {
			return err
		}
		return recordCheck(ctx, tx, t.ID, req.Check)
	})
	return out, err
}

func (s *Store) recordSkip(ctx context.Context, tx *sql.Tx, t *Trigger, req FireRequest, blocking Run) error {
	why := fmt.Sprintf("skipped: run %s (task %s) of cluster %s is %s", blocking.RunID, blocking.TaskID, blocking.ClusterID, blocking.Status)
	if err := insertHistory(ctx, tx, t.ID, nil, blocking.TaskID, req.Now, "skipped", true, &why, req.Slot); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE triggers SET next_scheduled_at = ? WHERE id = ?`, nullTime(req.SkipNext), t.ID); err != nil {
		return err
	}
	return recordCheck(ctx, tx, t.ID, req.Check)
}

func recordCheck(ctx context.Context, tx *sql.Tx, id string, c *Check) error {
	if c == nil {
		return nil
	}
	var value any
	if c.Value != nil {
		value = *c.Value
	}
	_, err := tx.ExecContext(ctx, `UPDATE triggers SET last_checked_at = ?, last_condition_value = ?, last_condition_error = ? WHERE id = ?`,
		micros(c.At), value, nullString(c.Error), id)
	return err
}

func insertHistory(ctx context.Context, tx *sql.Tx, triggerID string, runID *string, jobID string, at time.Time, status string, final bool, errMsg *string, slot Slot) error {
	var slots any
	if slot.Slots > 0 {
		slots = slot.Slots
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO trigger_history (trigger_id, run_id, job_id, triggered_at, status, final, error, scheduled_at, slots, catch_up, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		triggerID, nullStr(runID), jobID, micros(at), status, boolInt(final), nullStr(errMsg), nullTime(slot.ScheduledAt), slots, boolInt(slot.CatchUp), slot.Detail)
	return err
}

// AdvanceTrigger moves a trigger to its next slot without firing (a
// conditional trigger whose condition does not hold), recording the check;
// false when the trigger moved on since it was read at version.
func (s *Store) AdvanceTrigger(ctx context.Context, id string, version int64, next *time.Time, check *Check) (bool, error) {
	var ok bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE triggers SET next_scheduled_at = ?, version = version + 1 WHERE id = ? AND version = ? AND status = 'active'`,
			nullTime(next), id, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		return recordCheck(ctx, tx, id, check)
	})
	return ok, err
}

// UnsettledTriggers lists the triggers whose last run has news to record:
// it ended (or vanished), or its status is not the one the trigger shows.
// A run going on unchanged costs a read, not a write.
func (s *Store) UnsettledTriggers(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.id FROM triggers t LEFT JOIN runs r ON r.run_id = t.last_run_id
		WHERE t.last_run_final = 0 AND (r.status IS NULL OR r.status IN ('completed', 'failed') OR r.status IS DISTINCT FROM t.last_execution_status)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SettleTrigger records the progress or outcome of a trigger's last run:
// its status on the trigger and, once it ended, on its history item, with
// the consecutive failures counted and the trigger paused when they reach
// maxFailures.
func (s *Store) SettleTrigger(ctx context.Context, id string, maxFailures int) (Settled, error) {
	var out Settled
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := scanTrigger(tx.QueryRowContext(ctx, `SELECT `+triggerCols+` FROM triggers WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		out, err = s.settle(ctx, tx, &t, maxFailures)
		return err
	})
	return out, err
}

// settle is SettleTrigger inside a transaction, on the trigger as read.
func (s *Store) settle(ctx context.Context, tx *sql.Tx, t *Trigger, maxFailures int) (Settled, error) {
	out := Settled{TriggerType: t.Type}
	if t.LastRunFinal || t.LastRunID == "" {
		return out, nil
	}
	var status string
	var numClusters, numPoints int
	var duration sql.NullFloat64
	var errMsg sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT status, num_clusters, num_points, duration_ms, error_message FROM runs WHERE run_id = ?`, t.LastRunID).
		Scan(&status, &numClusters, &numPoints, &duration, &errMsg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		status, errMsg = StatusFailed, sql.NullString{String: "the run was deleted", Valid: true}
	case err != nil:
		return out, err
	}
	if status == StatusPending || status == StatusProcessing {
		if t.LastExecutionStatus == nil || *t.LastExecutionStatus != status {
			_, err := tx.ExecContext(ctx, `UPDATE triggers SET last_execution_status = ? WHERE id = ?`, status, t.ID)
			return out, err
		}
		return out, nil
	}
	out.Finished = true
	var clusters, docs, ms any
	if status == StatusCompleted {
		clusters, docs = numClusters, numPoints
	}
	if duration.Valid {
		ms = int64(duration.Float64 + 0.5)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE trigger_history SET status = ?, final = 1, num_clusters = ?, num_documents = ?, execution_time_ms = ?, error = ?
		WHERE trigger_id = ? AND run_id = ?`, status, clusters, docs, ms, nullString(errMsg.String), t.ID, t.LastRunID); err != nil {
		return out, err
	}
	failures := t.ConsecutiveFailures
	switch {
	case status == StatusCompleted:
		failures = 0
	case errMsg.String != CanceledMessage: // a cancel is a person's decision, not a failure
		failures++
		out.Failed = true
	}
	t.ConsecutiveFailures = failures
	if _, err := tx.ExecContext(ctx, `UPDATE triggers SET last_execution_status = ?, last_execution_error = ?, consecutive_failures = ?, last_run_final = 1
		WHERE id = ?`, status, nullString(errMsg.String), failures, t.ID); err != nil {
		return out, err
	}
	if out.Failed && maxFailures > 0 && failures >= maxFailures && t.Status == "active" {
		out.Paused = true
		reason := fmt.Sprintf("paused after %d consecutive failed runs; the last failed with: %s", failures, errMsg.String)
		_, err := tx.ExecContext(ctx, `UPDATE triggers SET status = 'paused', paused_reason = ?, next_scheduled_at = NULL, version = version + 1 WHERE id = ?`, reason, t.ID)
		return out, err
	}
	return out, nil
}

// HistoryItem is one firing of a trigger. For a run still going, Status
// and the numbers are read from the run itself.
type HistoryItem struct {
	RunID           *string
	JobID           string
	TriggeredAt     time.Time
	Status          string
	NumClusters     *int
	NumDocuments    *int
	ExecutionTimeMS *int64
	Error           *string
	ScheduledAt     *time.Time
	Slots           *int
	CatchUp         bool
	Detail          string
}

// TriggerHistory returns a page of a trigger's firings, newest first,
// optionally only those of one status, and how many match in all.
func (s *Store) TriggerHistory(ctx context.Context, ns, triggerID, status string, limit, offset int) ([]HistoryItem, int, error) {
	if _, err := s.GetTrigger(ctx, ns, triggerID); err != nil {
		return nil, 0, err
	}
	// An unsettled item's status is its run's, as it progresses.
	const live = `(CASE WHEN h.final = 0 AND r.status IS NOT NULL THEN r.status ELSE h.status END)`
	cond, args := `h.trigger_id = ?`, []any{triggerID}
	if status != "" {
		cond += ` AND ` + live + ` = ?`
		args = append(args, status)
	}
	from := `FROM trigger_history h LEFT JOIN runs r ON r.run_id = h.run_id AND h.final = 0 WHERE ` + cond
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return nil, 0, err
	}
	defer snap.Rollback()
	var total int
	if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) `+from, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	// A run that ended but is not settled yet gives its numbers itself.
	const (
		ended        = `h.final = 0 AND r.status IN ('completed', 'failed')`
		done         = `h.final = 0 AND r.status = 'completed'`
		liveColumns  = `CASE WHEN ` + done + ` THEN r.num_clusters ELSE h.num_clusters END, CASE WHEN ` + done + ` THEN r.num_points ELSE h.num_documents END, `
		liveColumns2 = `CASE WHEN ` + ended + ` THEN CAST(ROUND(r.duration_ms) AS INTEGER) ELSE h.execution_time_ms END, CASE WHEN ` + ended + ` THEN r.error_message ELSE h.error END`
	)
	rows, err := snap.QueryContext(ctx, `SELECT h.run_id, h.job_id, h.triggered_at, `+live+`, `+liveColumns+liveColumns2+`,
		h.scheduled_at, h.slots, h.catch_up, h.detail `+from+` ORDER BY h.id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []HistoryItem{}
	for rows.Next() {
		var h HistoryItem
		var runID, errMsg sql.NullString
		var triggered int64
		var clusters, docs, ms, scheduled, slots sql.NullInt64
		var catchUp int
		if err := rows.Scan(&runID, &h.JobID, &triggered, &h.Status, &clusters, &docs, &ms, &errMsg, &scheduled, &slots, &catchUp, &h.Detail); err != nil {
			return nil, 0, err
		}
		h.RunID, h.Error, h.TriggeredAt, h.ScheduledAt, h.CatchUp = nullableString(runID), nullableString(errMsg), fromMicros(triggered), nullMicros(scheduled), catchUp != 0
		h.NumClusters, h.NumDocuments, h.Slots = nullInt32(clusters), nullInt32(docs), nullInt32(slots)
		if ms.Valid {
			h.ExecutionTimeMS = &ms.Int64
		}
		out = append(out, h)
	}
	return out, total, rows.Err()
}

func nullInt32(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	i := int(v.Int64)
	return &i
}

// DocumentsWrittenSince counts a collection's documents written (added or
// updated) at or after since, by the store's clock (the clock run times are
// recorded with).
func (s *Store) DocumentsWrittenSince(ctx context.Context, collectionID string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents WHERE collection_id = ? AND updated_at >= ?`, collectionID, micros(since)).Scan(&n)
	return n, err
}
