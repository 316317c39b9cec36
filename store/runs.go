package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/clusterd/clusterd/internal/ids"
)

// Run statuses (the seed's ClusterExecutionResult.status values).
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// CanceledMessage is the error_message of a canceled run (the seed's status
// enum has no canceled value).
const CanceledMessage = "canceled"

// Run is a stored execution. Result is the full ExecutionResult JSON the API
// returns; the other fields mirror parts of it for filtering and the queue.
type Run struct {
	RunID           string
	TaskID          string
	ClusterID       string
	NamespaceID     string
	Status          string
	CreatedAt       time.Time
	StartedAt       *time.Time
	CompletedAt     *time.Time
	ErrorMessage    string
	Progress        *float64
	CancelRequested bool
	Result          json.RawMessage
	// ArtifactsToken is the lease token of the claim that finished the run
	// (0 for runs finished before tokens named artifacts).
	ArtifactsToken int64
}

// ArtifactsKey names the run's artifacts in package artifacts: the run id,
// then the finishing claim's lease token. Each claim writes its artifacts
// under its own key (see ClaimArtifactsKey) and FinishRun records the
// token in the transaction that checks the claim still holds the lease, so
// a worker that lost its lease may write files, but never the ones the
// run's result points to.
func (r Run) ArtifactsKey() string {
	if r.ArtifactsToken == 0 {
		return r.RunID
	}
	return ClaimArtifactsKey(r.RunID, r.ArtifactsToken)
}

// ClaimArtifactsKey is where the claim with lease token token of run runID
// writes its artifacts.
func ClaimArtifactsKey(runID string, token int64) string {
	return runID + "/t" + strconv.FormatInt(token, 10)
}

const runCols = `run_id, task_id, cluster_id, namespace_id, status, created_at, started_at, completed_at, error_message, progress, cancel_requested, result, COALESCE(artifacts_token, 0)`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var started, completed sql.NullInt64
	var created int64
	var errMsg sql.NullString
	var progress sql.NullFloat64
	var cancel int
	var result []byte // scanned straight into bytes: results are tens of KB
	if err := row.Scan(&r.RunID, &r.TaskID, &r.ClusterID, &r.NamespaceID, &r.Status, &created, &started, &completed, &errMsg, &progress, &cancel, &result, &r.ArtifactsToken); err != nil {
		return r, err
	}
	r.CreatedAt, r.StartedAt, r.CompletedAt = fromMicros(created), nullMicros(started), nullMicros(completed)
	r.ErrorMessage, r.CancelRequested, r.Result = errMsg.String, cancel != 0, json.RawMessage(result)
	if progress.Valid {
		p := progress.Float64
		r.Progress = &p
	}
	return r, nil
}

// NewRun describes a run to enqueue.
type NewRun struct {
	NamespaceID    string
	ClusterID      string
	IdempotencyKey string // optional: a retried execute with the same key returns the first run
	// Initial builds the pending ExecutionResult JSON for the new ids.
	Initial func(runID, taskID string, created time.Time) (json.RawMessage, error)
}

// Enqueue creates a pending run and its queue entry in one transaction, so
// an accepted execute is never lost. With an idempotency key already used
// for this cluster, it returns the earlier run and created = false.
func (s *Store) Enqueue(ctx context.Context, nr NewRun) (run Run, created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		run, created, err = s.enqueue(ctx, tx, nr)
		return err
	})
	return run, created, err
}

// enqueue is Enqueue inside the caller's transaction (a trigger's firing
// enqueues and records itself in one).
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, nr NewRun) (run Run, created bool, err error) {
	err = func() error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clusters WHERE id = ? AND namespace_id = ?`, nr.ClusterID, nr.NamespaceID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &NotFoundError{Resource: "cluster", ID: nr.ClusterID}
		}
		if nr.IdempotencyKey != "" {
			var prev string
			err := tx.QueryRowContext(ctx, `SELECT run_id FROM idempotency WHERE namespace_id = ? AND cluster_id = ? AND key = ?`,
				nr.NamespaceID, nr.ClusterID, nr.IdempotencyKey).Scan(&prev)
			if err == nil {
				run, err = scanRun(tx.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE run_id = ?`, prev))
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		now := s.now()
		run = Run{RunID: ids.New("run_"), TaskID: ids.New("task_"), ClusterID: nr.ClusterID, NamespaceID: nr.NamespaceID, Status: StatusPending, CreatedAt: now}
		res, err := nr.Initial(run.RunID, run.TaskID, now)
		if err != nil {
			return err
		}
		run.Result = res
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (run_id, task_id, cluster_id, namespace_id, status, created_at, result, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			run.RunID, run.TaskID, run.ClusterID, run.NamespaceID, run.Status, micros(now), string(res), run.RunID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (run_id, state, enqueued_at) VALUES (?, 'queued', ?)`, run.RunID, micros(now)); err != nil {
			return err
		}
		if err := s.notifyJobs(tx); err != nil {
			return err
		}
		if nr.IdempotencyKey != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency (namespace_id, cluster_id, key, run_id, created_at) VALUES (?, ?, ?, ?, ?)`,
				nr.NamespaceID, nr.ClusterID, nr.IdempotencyKey, run.RunID, micros(now)); err != nil {
				return err
			}
		}
		created = true
		return nil
	}()
	return run, created, err
}

// GetRun returns a run of a cluster.
func (s *Store) GetRun(ctx context.Context, ns, clusterID, runID string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND cluster_id = ? AND run_id = ?`, ns, clusterID, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, &NotFoundError{Resource: "run", ID: runID}
	}
	return r, err
}

// RunInNamespace returns a run by id within a namespace.
func (s *Store) RunInNamespace(ctx context.Context, ns, runID string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND run_id = ?`, ns, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, &NotFoundError{Resource: "run", ID: runID}
	}
	return r, err
}

// RunByID returns a run by id alone (for the worker).
func (s *Store) RunByID(ctx context.Context, runID string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE run_id = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, &NotFoundError{Resource: "run", ID: runID}
	}
	return r, err
}

// LatestRun returns the cluster's newest run, or nil when it never ran.
func (s *Store) LatestRun(ctx context.Context, ns, clusterID string) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND cluster_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, ns, clusterID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// latestCache remembers LatestResult answers. An entry is valid while no
// write has committed since it was read (the store's generation counter), so
// a dashboard polling an idle cluster costs no query at all. With SQLite one
// process owns the data directory, so its own commits are all the writes.
// With PostgreSQL every write transaction also notifies writesChannel, and
// each process counts the notifications of the others' commits into the
// same counter (jobNotifier): a cached answer lasts until another process's
// write is heard of, a moment (the notification's delivery) after its
// commit; while the listener is not connected, nothing is served from the
// cache.
type latestCache struct {
	mu      sync.Mutex
	entries map[string]latestEntry
}

type latestEntry struct {
	gen    uint64
	result json.RawMessage
}

// maxLatestEntries bounds the cache; it is emptied when full.
const maxLatestEntries = 10000

// LatestResult returns the result JSON of a cluster's newest run (nil when
// it never ran); the cluster is named by id or name. It serves the API's
// most frequent read (dashboards polling GET …/executions) from memory
// until the next write.
func (s *Store) LatestResult(ctx context.Context, ns, clusterIDOrName string) (json.RawMessage, error) {
	if s.d == dialectPostgres && !s.notify.live.Load() {
		// Other processes' writes are not heard of (see jobNotifier.live).
		return s.latestResult(ctx, ns, clusterIDOrName)
	}
	key := ns + "\x00" + clusterIDOrName
	gen := s.gen.Load()
	s.latest.mu.Lock()
	e, ok := s.latest.entries[key]
	s.latest.mu.Unlock()
	if ok && e.gen == gen {
		return e.result, nil
	}
	res, err := s.latestResult(ctx, ns, clusterIDOrName)
	if err != nil {
		return nil, err
	}
	s.latest.mu.Lock()
	if s.latest.entries == nil || len(s.latest.entries) >= maxLatestEntries {
		s.latest.entries = map[string]latestEntry{}
	}
	s.latest.entries[key] = latestEntry{gen: gen, result: res}
	s.latest.mu.Unlock()
	return res, nil
}

func (s *Store) latestResult(ctx context.Context, ns, clusterIDOrName string) (json.RawMessage, error) {
	var clusterID string
	var result sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT c.id, (SELECT r.result FROM runs r WHERE r.cluster_id = c.id ORDER BY r.created_at DESC, r.rowid DESC LIMIT 1)
		FROM clusters c WHERE c.namespace_id = ? AND (c.id = ? OR c.name = ?) ORDER BY c.id = ? DESC LIMIT 1`,
		ns, clusterIDOrName, clusterIDOrName, clusterIDOrName).Scan(&clusterID, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{Resource: "cluster", ID: clusterIDOrName}
	}
	if err != nil || !result.Valid {
		return nil, err
	}
	return json.RawMessage(result.String), nil
}

// LatestCompletedRun returns the cluster's newest completed run, or nil.
func (s *Store) LatestCompletedRun(ctx context.Context, ns, clusterID string) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND cluster_id = ? AND status = 'completed' ORDER BY created_at DESC, rowid DESC LIMIT 1`, ns, clusterID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// GetTask returns the run behind a task id.
func (s *Store) GetTask(ctx context.Context, ns, taskID string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND task_id = ?`, ns, taskID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, &NotFoundError{Resource: "task", ID: taskID}
	}
	return r, err
}

// runFields are the fields of a ClusterExecutionResult that filter and
// sort: the columns the store keeps, and the metrics, algorithm and
// backend read from the stored result.
var runFields = fieldMap{
	fixed: map[string]field{
		"run_id":                          column(textField, "run_id"),
		"task_id":                         column(textField, "task_id"),
		"cluster_id":                      column(textField, "cluster_id"),
		"status":                          column(textField, "status"),
		"created_at":                      column(timeField, "created_at"),
		"completed_at":                    column(timeField, "completed_at"),
		"num_clusters":                    column(numberField, "num_clusters"),
		"num_points":                      column(numberField, "num_points"),
		"error_message":                   column(textField, "error_message"),
		"metrics.silhouette_score":        column(numberField, "CAST(json_extract(result, '$.metrics.silhouette_score') AS DOUBLE PRECISION)"),
		"metrics.davies_bouldin_index":    column(numberField, "CAST(json_extract(result, '$.metrics.davies_bouldin_index') AS DOUBLE PRECISION)"),
		"metrics.calinski_harabasz_score": column(numberField, "CAST(json_extract(result, '$.metrics.calinski_harabasz_score') AS DOUBLE PRECISION)"),
		"algorithm":                       column(textField, "json_extract(result, '$.algorithm')"),
		"backend":                         column(textField, "json_extract(result, '$.backend')"),
		"backend_fallback_reason":         column(textField, "json_extract(result, '$.backend_fallback_reason')"),
	},
}

// taskStatusSQL is a run's TaskStatusEnum value (as the API's taskStatus
// shows it) over the runs table's columns.
const taskStatusSQL = `CASE runs.status WHEN 'pending' THEN 'PENDING' WHEN 'processing' THEN 'PROCESSING' WHEN 'completed' THEN 'COMPLETED'
	ELSE CASE WHEN runs.error_message = '` + CanceledMessage + `' THEN 'CANCELED' ELSE 'FAILED' END END`

// TaskTypeClusterBuild is the task_type of every run's task (model's
// constant of the same name).
const TaskTypeClusterBuild = "engine_cluster_build"

// taskFields are a task's fields over the runs table (see TaskFilters).
var taskFields = fieldMap{
	fixed: map[string]field{
		"task_id":                    column(textField, "runs.task_id"),
		"status":                     column(textField, taskStatusSQL),
		"task_type":                  column(textField, "'"+TaskTypeClusterBuild+"'"),
		"created_at":                 column(timeField, "runs.created_at"),
		"updated_at":                 column(timeField, "COALESCE(runs.completed_at, runs.started_at, runs.created_at)"),
		"cluster_id":                 column(textField, "runs.cluster_id"),
		"run_id":                     column(textField, "runs.run_id"),
		"error_message":              column(textField, "runs.error_message"),
		"additional_data.cluster_id": column(textField, "runs.cluster_id"),
		"additional_data.run_id":     column(textField, "runs.run_id"),
	},
}

// RunStats summarise a list of executions.
type RunStats struct {
	TotalExecutions         int            `json:"total_executions"`
	ExecutionsByStatus      map[string]int `json:"executions_by_status"`
	AvgExecutionTimeMS      float64        `json:"avg_execution_time_ms"` // 0 when no run completed
	TotalDocumentsClustered int64          `json:"total_documents_clustered"`
	AvgNumClusters          float64        `json:"avg_num_clusters"` // 0 when no run completed
}

// ListRuns lists a cluster's runs, newest first by default, with stats over
// every match.
func (s *Store) ListRuns(ctx context.Context, ns, clusterID string, q Query) (Page[Run], RunStats, error) {
	var stats RunStats
	where, args, err := whereClause(q.Filters, runFields, s.d)
	if err != nil {
		return Page[Run]{}, stats, err
	}
	order, err := orderBy(q.Sort, runFields, Sort{Field: "created_at", Direction: "desc"}, "rowid", s.d)
	if err != nil {
		return Page[Run]{}, stats, err
	}
	search, sargs := searchClause(q.Search, []string{"run_id", "error_message", "search_text"})
	cond := fmt.Sprintf("namespace_id = ? AND cluster_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{ns, clusterID}, args...), sargs...)
	stats.ExecutionsByStatus = map[string]int{}
	// One pass for every statistic: counts by status, and the completed
	// runs' time, documents and clusters.
	rows0, err := s.cachedQuery(ctx, `SELECT status, COUNT(*), AVG(duration_ms), COALESCE(SUM(num_points), 0), AVG(num_clusters) FROM runs WHERE `+cond+` GROUP BY status`, all...)
	if err != nil {
		return Page[Run]{}, stats, err
	}
	for rows0.Next() {
		var st string
		var n int
		var avgMS, avgK sql.NullFloat64
		var points int64
		if err := rows0.Scan(&st, &n, &avgMS, &points, &avgK); err != nil {
			rows0.Close()
			return Page[Run]{}, stats, err
		}
		stats.ExecutionsByStatus[st] = n
		stats.TotalExecutions += n
		if st == StatusCompleted {
			stats.TotalDocumentsClustered = points
			if avgMS.Valid {
				stats.AvgExecutionTimeMS = avgMS.Float64
			}
			if avgK.Valid {
				stats.AvgNumClusters = avgK.Float64
			}
		}
	}
	rows0.Close()
	if err := rows0.Err(); err != nil {
		return Page[Run]{}, stats, err
	}
	page := Page[Run]{Total: stats.TotalExecutions, Results: []Run{}}
	rows, err := s.cachedQuery(ctx, `SELECT `+runCols+` FROM runs WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, stats, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return page, stats, err
		}
		page.Results = append(page.Results, r)
	}
	return page, stats, rows.Err()
}

// ErrFinished reports an operation on a run that already ended.
var ErrFinished = errors.New("run already finished")

// CancelRun stops a run: a pending run ends failed ("canceled") at once,
// together with its queue entry; a processing run is flagged so its worker
// stops it. A finished run is ErrFinished (wrapped in a *ConflictError).
// finalResult builds the failed ExecutionResult JSON for a pending run.
func (s *Store) CancelRun(ctx context.Context, ns, clusterID, runID string, finalResult func(Run) (json.RawMessage, error)) (Run, error) {
	var out Run
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE namespace_id = ? AND cluster_id = ? AND run_id = ?`, ns, clusterID, runID))
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Resource: "run", ID: runID}
		}
		if err != nil {
			return err
		}
		switch r.Status {
		case StatusCompleted, StatusFailed:
			return &ConflictError{Resource: "run", Msg: fmt.Sprintf("run %s already %s", runID, r.Status)}
		case StatusProcessing:
			_, err := tx.ExecContext(ctx, `UPDATE runs SET cancel_requested = 1 WHERE run_id = ?`, runID)
			r.CancelRequested = true
			out = r
			return err
		}
		now := s.now()
		r.Status, r.ErrorMessage, r.CompletedAt = StatusFailed, CanceledMessage, &now
		res, err := finalResult(r)
		if err != nil {
			return err
		}
		r.Result = res
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'failed', error_message = ?, failure_kind = ?, completed_at = ?, result = ?, progress = NULL WHERE run_id = ?`,
			CanceledMessage, CanceledMessage, micros(now), string(res), runID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'done' WHERE run_id = ?`, runID)
		out = r
		return err
	})
	return out, err
}

// Job is a claimed queue entry.
type Job struct {
	ID       int64
	RunID    string
	Attempts int // including this one
	// Token fences the claim: each claim of the job writes a new one, and
	// every write on the job's behalf (Heartbeat, StartRun, SetProgress,
	// FinishRun, Requeue) checks it in the statement or transaction that
	// writes, so a worker whose lease was taken over writes nothing.
	Token int64
}

// ErrLeaseLost reports that a job's lease expired and another worker (or
// the cleanup) took it over; the holder must stop without writing results.
var ErrLeaseLost = errors.New("job lease lost")

// leaseBook holds the leases of this process's workers in memory. One
// process owns the data directory, so a lease another worker could take
// over is always one of these. A heartbeat renews the lease here first,
// then in the database; while that write has not got through (the writer
// is busy, its wait timed out), Claim skips the job even when its
// lease_until in the database has passed, so a slow writer cannot make a
// live worker lose its job. Once the write gets through, the database
// decides again. The database copy is what survives a restart (and what
// RecoverOrphans clears).
type leaseBook struct {
	mu sync.Mutex
	m  map[int64]leaseEntry
}

type leaseEntry struct {
	owner    string
	until    time.Time
	unsynced bool // renewed here, not (yet) in the database
}

// unsynced lists the jobs whose lease is live at now but newer than the
// database's.
func (b *leaseBook) unsynced(now time.Time) []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []int64{}
	for id, e := range b.m {
		if e.until.After(now) {
			if e.unsynced {
				out = append(out, id)
			}
		} else if e.until.Before(now.Add(-time.Hour)) {
			delete(b.m, id) // long expired: its worker is gone
		}
	}
	return out
}

func (b *leaseBook) set(id int64, owner string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[int64]leaseEntry{}
	}
	b.m[id] = leaseEntry{owner: owner, until: until}
}

// extend renews owner's lease on id, not yet in the database; false when
// another owner holds it.
func (b *leaseBook) extend(id int64, owner string, until time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[id]; ok && e.owner != owner {
		return false
	}
	if b.m == nil {
		b.m = map[int64]leaseEntry{}
	}
	b.m[id] = leaseEntry{owner: owner, until: until, unsynced: true}
	return true
}

// synced records that owner's renewal to until reached the database.
func (b *leaseBook) synced(id int64, owner string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[id]; ok && e.owner == owner && e.until.Equal(until) {
		e.unsynced = false
		b.m[id] = e
	}
}

// drop forgets owner's lease on id.
func (b *leaseBook) drop(id int64, owner string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[id]; ok && e.owner == owner {
		delete(b.m, id)
	}
}

// Claim takes the oldest queued job, or one whose lease expired (its worker
// died), for owner until now+lease. It returns nil when there is none. A
// job whose worker in this process renewed its lease in time is not taken,
// even if that renewal has not reached the database yet (see leaseBook).
func (s *Store) Claim(ctx context.Context, owner string, lease time.Duration) (*Job, error) {
	var j Job
	now := s.now()
	live, _ := json.Marshal(s.leases.unsynced(now))
	c, err := s.writer(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	q := `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, lease_token = lease_token + 1, attempts = attempts + 1
		WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' OR (state = 'running' AND lease_until < ?)) AND id NOT IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) ORDER BY id LIMIT 1)
		RETURNING id, run_id, attempts, lease_token`
	if s.d == dialectPostgres {
		// Processes claim side by side: the candidate row is locked as it
		// is picked, and rows other claimers locked are skipped (not
		// waited for), so two claimers never get the same job and never
		// queue behind each other. lease_instance names this store, for
		// RecoverOrphans.
		q = `WITH pick AS (SELECT id FROM jobs WHERE (state = 'queued' OR (state = 'running' AND lease_until < ?)) AND id NOT IN (SELECT CAST(value AS BIGINT) FROM json_each(?))
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, lease_token = lease_token + 1, attempts = attempts + 1, lease_instance = ?
		FROM pick WHERE jobs.id = pick.id
		RETURNING jobs.id, jobs.run_id, jobs.attempts, jobs.lease_token`
		err = c.QueryRowContext(ctx, q, micros(now), string(live), owner, micros(now.Add(lease)), s.instance).Scan(&j.ID, &j.RunID, &j.Attempts, &j.Token)
	} else {
		err = c.QueryRowContext(ctx, q, owner, micros(now.Add(lease)), micros(now), string(live)).Scan(&j.ID, &j.RunID, &j.Attempts, &j.Token)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.gen.Add(1)
	s.leases.set(j.ID, owner, now.Add(lease))
	return &j, nil
}

// Heartbeat extends a job's lease and reports whether its run was asked to
// stop. ErrLeaseLost when the job is no longer this owner's. The lease is
// renewed in memory first (see leaseBook), so a slow writer cannot make it
// expire: when the database write does not get through before ctx ends,
// the heartbeat still succeeds (the next one writes it).
func (s *Store) Heartbeat(ctx context.Context, j *Job, owner string, lease time.Duration) (cancel bool, err error) {
	until := s.now().Add(lease)
	if !s.leases.extend(j.ID, owner, until) {
		return false, ErrLeaseLost
	}
	res, err := s.exec(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND lease_token = ? AND state = 'running'`, micros(until), j.ID, owner, j.Token)
	switch {
	case err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded):
		return false, err
	case err == nil:
		if n, _ := res.RowsAffected(); n == 0 {
			s.leases.drop(j.ID, owner)
			return false, ErrLeaseLost
		}
		s.leases.synced(j.ID, owner, until)
	}
	// Reads do not wait for the writer: this one gets its own second even
	// when the write used up ctx.
	rctx, stopRead := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer stopRead()
	var c int
	err = s.r.QueryRowContext(rctx, `SELECT cancel_requested FROM runs WHERE run_id = ?`, j.RunID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil // the cluster was deleted
	}
	return c != 0, err
}

// StartRun marks a run processing with its updated result JSON.
func (s *Store) StartRun(ctx context.Context, j *Job, owner string, result json.RawMessage) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.ownsJob(ctx, tx, j, owner); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'processing', started_at = ?, progress = 0, result = ? WHERE run_id = ?`,
			micros(s.now()), string(result), j.RunID)
		return err
	})
}

// ownsJob checks, inside the transaction that is about to write on the
// job's behalf, that owner still holds the job under its claim's token;
// ErrLeaseLost otherwise. With PostgreSQL it locks the job's row until the
// transaction ends, so no claim of another process can slip in between the
// check and the commit (a claimer skips the locked row); SQLite's write
// transactions are serial already.
func (s *Store) ownsJob(ctx context.Context, tx *sql.Tx, j *Job, owner string) error {
	q := `SELECT id FROM jobs WHERE id = ? AND lease_owner = ? AND lease_token = ? AND state = 'running'`
	if s.d == dialectPostgres {
		q += ` FOR UPDATE`
	}
	var id int64
	err := tx.QueryRowContext(ctx, q, j.ID, owner, j.Token).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLeaseLost
	}
	return err
}

// SetProgress records how far a processing run is (0..1) and its result
// JSON. ErrLeaseLost when the job is no longer owner's under j's token
// (nothing is written).
func (s *Store) SetProgress(ctx context.Context, j *Job, owner string, progress float64, result json.RawMessage) error {
	res, err := s.exec(ctx, `UPDATE runs SET progress = ?, result = ? WHERE run_id = ? AND status = 'processing'
		AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ? AND lease_token = ? AND state = 'running')`,
		progress, string(result), j.RunID, j.ID, owner, j.Token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Outcome is how a run ended.
type Outcome struct {
	Status       string // StatusCompleted or StatusFailed
	Result       json.RawMessage
	NumClusters  int
	NumPoints    int
	Silhouette   *float64
	DurationMS   float64
	ErrorMessage string
	// FailureKind classifies a failed run (runner.FailureKinds); stored in
	// runs.failure_kind for the failure analytics.
	FailureKind string
	SearchText  string // centroid labels and summaries, for execution search
}

// FinishRun records a run's outcome and retires its job in one transaction.
// ErrLeaseLost when the job is no longer this owner's (nothing is written).
func (s *Store) FinishRun(ctx context.Context, j *Job, owner string, o Outcome) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.ownsJob(ctx, tx, j, owner); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, completed_at = ?, num_clusters = ?, num_points = ?, silhouette = ?, duration_ms = ?,
			error_message = ?, failure_kind = ?, search_text = ?, progress = NULL, result = ?, artifacts_token = ? WHERE run_id = ?`,
			o.Status, micros(now), o.NumClusters, o.NumPoints, o.Silhouette, o.DurationMS, nullString(o.ErrorMessage), nullString(o.FailureKind),
			j.RunID+" "+o.SearchText, string(o.Result), j.Token, j.RunID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'done', last_error = ? WHERE id = ?`, nullString(o.ErrorMessage), j.ID)
		return err
	})
	if err == nil {
		s.leases.drop(j.ID, owner)
	}
	return err
}

// Requeue puts a job back in the queue (its worker is shutting down) and the
// run back to pending; the attempt does not count.
func (s *Store) Requeue(ctx context.Context, j *Job, owner string, result json.RawMessage) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.ownsJob(ctx, tx, j, owner); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = 0, attempts = attempts - 1 WHERE id = ?`, j.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'pending', started_at = NULL, progress = NULL, result = ? WHERE run_id = ?`, string(result), j.RunID); err != nil {
			return err
		}
		return s.notifyJobs(tx)
	})
	if err == nil {
		s.leases.drop(j.ID, owner)
	}
	return err
}

// RecoverOrphans makes every job left running by a dead process claimable
// at once. Call it when no worker of this store runs yet. With SQLite
// (this process holds the data directory) that is every running job; with
// PostgreSQL, the jobs this store's earlier claims left and those of store
// instances whose instance lock nobody holds (see shared.go): a live
// process's jobs are left alone. It returns how many.
func (s *Store) RecoverOrphans(ctx context.Context) (int, error) {
	q, args := `UPDATE jobs SET lease_until = 0 WHERE state = 'running'`, []any{}
	if s.d == dialectPostgres {
		owners, err := queryInts(ctx, s.r, `SELECT DISTINCT lease_instance FROM jobs WHERE state = 'running'`)
		if err != nil {
			return 0, err
		}
		dead := []int64{int64(s.instance)}
		for _, o := range owners {
			if o == int64(s.instance) {
				continue
			}
			alive, err := s.instanceAlive(ctx, int32(o))
			if err != nil {
				return 0, err
			}
			if !alive {
				dead = append(dead, o)
			}
		}
		b, _ := json.Marshal(dead)
		q, args = q+` AND lease_instance IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, []any{string(b)}
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	s.leases.mu.Lock()
	clear(s.leases.m)
	s.leases.mu.Unlock()
	n, _ := res.RowsAffected()
	return int(n), nil
}

// queryInts runs a query of one integer column.
func queryInts(ctx context.Context, db *sql.DB, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// QueueDepth counts queued and running jobs.
func (s *Store) QueueDepth(ctx context.Context) (queued, running int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) FROM jobs`).Scan(&queued, &running)
	return
}

// RunsByStatus counts runs per status (for the runs-by-status gauge).
func (s *Store) RunsByStatus(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
