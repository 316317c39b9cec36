package store

import (
	"context"
	"fmt"
)

// Tasks are runs seen through Mixpeek's task API: a run's task_id, its
// status as a TaskStatusEnum value, task_type engine_cluster_build.

// taskStatusCondition is the SQL condition of ListTasksRequest.status (a
// TaskStatusEnum value): PENDING, PROCESSING or IN_PROGRESS, COMPLETED,
// FAILED (failed and not canceled), CANCELED (failed as canceled). The
// other values (COMPLETED_WITH_ERRORS, UNKNOWN, SKIPPED, DRAFT, ACTIVE,
// ARCHIVED, SUSPENDED) are never a run's state and match nothing.
func taskStatusCondition(status string) (string, []any) {
	switch status {
	case "PENDING":
		return "status = ?", []any{StatusPending}
	case "PROCESSING", "IN_PROGRESS":
		return "status = ?", []any{StatusProcessing}
	case "COMPLETED":
		return "status = ?", []any{StatusCompleted}
	case "FAILED":
		return "status = ? AND COALESCE(error_message, '') != ?", []any{StatusFailed, CanceledMessage}
	case "CANCELED":
		return "status = ? AND error_message = ?", []any{StatusFailed, CanceledMessage}
	}
	return "FALSE", nil
}

// ListTasks lists a namespace's tasks (its runs, of every cluster), newest
// first by default. status (a TaskStatusEnum value) and taskType narrow the
// list when not nil; a task type other than engine_cluster_build matches
// nothing. Search matches task_id, run_id, cluster_id and error_message.
func (s *Store) ListTasks(ctx context.Context, ns string, q Query, status, taskType *string) (Page[Run], error) {
	where, args, err := whereClause(q.Filters, taskFields, s.d)
	if err != nil {
		return Page[Run]{}, err
	}
	order, err := orderBy(q.Sort, taskFields, Sort{Field: "created_at", Direction: "desc"}, "rowid", s.d)
	if err != nil {
		return Page[Run]{}, err
	}
	search, sargs := searchClause(q.Search, []string{"task_id", "run_id", "cluster_id", "error_message"})
	cond := fmt.Sprintf("namespace_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{ns}, args...), sargs...)
	if status != nil {
		c, a := taskStatusCondition(*status)
		cond += " AND (" + c + ")"
		all = append(all, a...)
	}
	if taskType != nil && *taskType != TaskTypeClusterBuild {
		cond += " AND FALSE"
	}
	page := Page[Run]{Total: -1, Results: []Run{}}
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return page, err
	}
	defer snap.Rollback()
	if q.IncludeTotal {
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE `+cond, all...).Scan(&page.Total); err != nil {
			return page, err
		}
	}
	rows, err := snap.QueryContext(ctx, `SELECT `+runCols+` FROM runs WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return page, err
		}
		page.Results = append(page.Results, r)
	}
	return page, rows.Err()
}
