package store

import (
	"context"
	"database/sql"
	"time"
)

// RunMetric is one run as the cluster analytics show it.
type RunMetric struct {
	RunID        string
	Status       string // pending, processing, completed, failed
	CreatedAt    time.Time
	StartedAt    *time.Time
	CompletedAt  *time.Time
	DurationMS   *float64 // processing time recorded when the run ended
	NumClusters  int
	NumPoints    int
	Algorithm    string // the run's clustering_method; "" until it starts
	ErrorMessage string
	FailureKind  string // "" when not recorded
	// Fallback reports that the run did not run on the GPU it would have
	// used (its result has a backend_fallback_reason).
	Fallback bool
}

// Canceled reports whether the run was canceled.
func (m RunMetric) Canceled() bool {
	return m.Status == StatusFailed && m.ErrorMessage == CanceledMessage
}

// RunMetrics returns a cluster's runs created at or after since, newest
// first (every one: the window bounds them).
func (s *Store) RunMetrics(ctx context.Context, ns, clusterID string, since time.Time) ([]RunMetric, error) {
	return s.runMetrics(ctx, `namespace_id = ? AND cluster_id = ? AND created_at >= ? ORDER BY created_at DESC, rowid DESC`, ns, clusterID, micros(since))
}

// FailedRunMetrics returns a cluster's failed runs that ended at or after
// since, newest first.
func (s *Store) FailedRunMetrics(ctx context.Context, ns, clusterID string, since time.Time) ([]RunMetric, error) {
	return s.runMetrics(ctx, `namespace_id = ? AND cluster_id = ? AND status = 'failed' AND completed_at >= ? ORDER BY completed_at DESC, rowid DESC`,
		ns, clusterID, micros(since))
}

// runMetrics reads the runs matching cond (a WHERE condition with its
// ORDER BY).
func (s *Store) runMetrics(ctx context.Context, cond string, args ...any) ([]RunMetric, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT run_id, status, created_at, started_at, completed_at, duration_ms, num_clusters, num_points,
		COALESCE(json_extract(result, '$.algorithm'), ''), COALESCE(error_message, ''), COALESCE(failure_kind, ''),
		json_extract(result, '$.backend_fallback_reason') IS NOT NULL
		FROM runs WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RunMetric{}
	for rows.Next() {
		var m RunMetric
		var created int64
		var started, completed sql.NullInt64
		var dur sql.NullFloat64
		if err := rows.Scan(&m.RunID, &m.Status, &created, &started, &completed, &dur, &m.NumClusters, &m.NumPoints,
			&m.Algorithm, &m.ErrorMessage, &m.FailureKind, &m.Fallback); err != nil {
			return nil, err
		}
		m.CreatedAt, m.StartedAt, m.CompletedAt = fromMicros(created), nullMicros(started), nullMicros(completed)
		if dur.Valid {
			d := dur.Float64
			m.DurationMS = &d
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
