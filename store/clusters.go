package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Cluster is a stored cluster definition. Config is the normalised create
// request (collection_ids, vector_config, filters, llm_labeling, …) as JSON;
// the store does not interpret it.
type Cluster struct {
	ID          string
	NamespaceID string
	Name        string
	Description string
	Config      json.RawMessage
	Metadata    json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CreateCluster stores a new cluster; a non-empty name must be unique in the
// namespace.
func (s *Store) CreateCluster(ctx context.Context, c Cluster) (Cluster, error) {
	now := s.now()
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return insertCluster(ctx, tx, c)
	})
	return c, err
}

// insertCluster stores a new cluster inside a transaction; a non-empty
// name must be unique in the namespace.
func insertCluster(ctx context.Context, tx *sql.Tx, c Cluster) error {
	if err := nameFree(ctx, tx, c.NamespaceID, c.Name, ""); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO clusters (id, namespace_id, name, description, config, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.NamespaceID, nullString(c.Name), nullString(c.Description), string(c.Config), nullJSON(c.Metadata), micros(c.CreatedAt), micros(c.UpdatedAt))
	return err
}

func nameFree(ctx context.Context, tx *sql.Tx, ns, name, except string) error {
	if name == "" {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clusters WHERE namespace_id = ? AND name = ? AND id != ?`, ns, name, except).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return &ConflictError{Resource: "cluster", Msg: fmt.Sprintf("a cluster named %q already exists", name)}
	}
	return nil
}

const clusterCols = `id, namespace_id, name, description, config, metadata, created_at, updated_at`

func scanCluster(row interface{ Scan(...any) error }) (Cluster, error) {
	var c Cluster
	var name, desc, meta sql.NullString
	var config string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.NamespaceID, &name, &desc, &config, &meta, &created, &updated); err != nil {
		return c, err
	}
	c.Name, c.Description, c.Config, c.Metadata = name.String, desc.String, json.RawMessage(config), rawJSON(meta)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// GetCluster finds a cluster by id or name within the namespace.
func (s *Store) GetCluster(ctx context.Context, ns, idOrName string) (Cluster, error) {
	c, err := scanCluster(s.cachedQueryRow(ctx, `SELECT `+clusterCols+` FROM clusters WHERE namespace_id = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1`,
		ns, idOrName, idOrName, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return c, &NotFoundError{Resource: "cluster", ID: idOrName}
	}
	return c, err
}

// ClusterPatch holds the fields PATCH may change; nil fields are kept.
type ClusterPatch struct {
	Name        *string
	Description *string
	Metadata    json.RawMessage // nil: keep
}

// UpdateCluster applies a patch.
func (s *Store) UpdateCluster(ctx context.Context, ns, idOrName string, p ClusterPatch) (Cluster, error) {
	c, err := s.GetCluster(ctx, ns, idOrName)
	if err != nil {
		return c, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if p.Name != nil {
			if err := nameFree(ctx, tx, ns, *p.Name, c.ID); err != nil {
				return err
			}
			c.Name = *p.Name
		}
		if p.Description != nil {
			c.Description = *p.Description
		}
		if p.Metadata != nil {
			c.Metadata = p.Metadata
		}
		c.UpdatedAt = s.now()
		_, err := tx.ExecContext(ctx, `UPDATE clusters SET name = ?, description = ?, metadata = ?, updated_at = ? WHERE id = ?`,
			nullString(c.Name), nullString(c.Description), nullJSON(c.Metadata), micros(c.UpdatedAt), c.ID)
		return err
	})
	return c, err
}

// DeleteCluster removes a cluster with its runs, jobs, artifacts and output
// collections. The
// caller cancels a processing run first; a run still processing when its row
// disappears is finished by its worker into nothing.
func (s *Store) DeleteCluster(ctx context.Context, ns, id string) error {
	c, err := s.GetCluster(ctx, ns, id)
	if err != nil {
		return err
	}
	var runIDs, outputs []string
	// Output collections' files go with the rows: no write of them may run
	// meanwhile.
	unlockOutputs, err := s.lockOutputs(ctx, c.ID)
	if err != nil {
		return err
	}
	defer unlockOutputs()
	if outs, err := s.ClusterOutputs(ctx, c.ID); err == nil {
		for _, o := range outs {
			unlock, err := s.lockCol(ctx, o.CollectionID)
			if err != nil {
				return err
			}
			defer unlock()
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if runIDs, err = queryStrings(ctx, tx, `SELECT run_id FROM runs WHERE cluster_id = ?`, c.ID); err != nil {
			return err
		}
		if outputs, err = queryStrings(ctx, tx, `SELECT collection_id FROM cluster_outputs WHERE cluster_id = ?`, c.ID); err != nil {
			return err
		}
		for _, col := range outputs {
			if err := deleteCollectionRows(ctx, tx, col); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM jobs WHERE run_id IN (SELECT run_id FROM runs WHERE cluster_id = ?)`,
			`DELETE FROM runs WHERE cluster_id = ?`,
			`DELETE FROM idempotency WHERE cluster_id = ?`,
			`DELETE FROM clusters WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range runIDs {
		os.RemoveAll(s.RunDir(r))
	}
	for _, col := range outputs {
		s.removeCollectionFiles(col)
	}
	return nil
}

// queryStrings reads the first column of a query's rows as strings.
func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RunDir is where a run's artifacts live.
func (s *Store) RunDir(runID string) string { return filepath.Join(s.dir, "runs", runID) }

// clusterAlgorithm is the response's algorithm: the vector clustering
// method, or attribute_based.
const clusterAlgorithm = `COALESCE(json_extract(config, '$.vector_config.clustering_method'),
	CASE json_type(config, '$.attribute_config') WHEN 'object' THEN 'attribute_based' END)`

// clusterFields are what ClusterMetadata shows that the store holds: the
// cluster's own fields, its definition's cluster_type, algorithm and
// collection_ids (a list: eq and in match an element), the task status of
// its latest run (PENDING when it never ran), and metadata.NAME. Other bare
// names are refused rather than read as metadata keys, so a misspelt field
// is a 422 rather than an empty list.
var clusterFields = fieldMap{
	fixed: map[string]field{
		"cluster_id":        column(textField, "id"),
		"cluster_name":      column(textField, "COALESCE(name, id)"),
		"description":       column(textField, "description"),
		"created_at":        column(timeField, "created_at"),
		"updated_at":        column(timeField, "updated_at"),
		"cluster_type":      column(textField, "json_extract(config, '$.cluster_type')"),
		"algorithm":         column(textField, clusterAlgorithm),
		"clustering_method": column(textField, clusterAlgorithm),
		"collection_ids":    jsonAt("config", []string{"collection_ids"}),
		"status": column(textField, `COALESCE((SELECT `+taskStatusSQL+` FROM runs WHERE runs.cluster_id = clusters.id
			ORDER BY runs.created_at DESC, runs.rowid DESC LIMIT 1), 'PENDING')`),
	},
	prefixes: []jsonPrefix{{"metadata.", "metadata"}},
}

// ListClusters lists a namespace's clusters.
func (s *Store) ListClusters(ctx context.Context, ns string, q Query) (Page[Cluster], error) {
	where, args, err := whereClause(q.Filters, clusterFields, s.d)
	if err != nil {
		return Page[Cluster]{}, err
	}
	order, err := orderBy(q.Sort, clusterFields, Sort{Field: "created_at", Direction: "desc"}, "id", s.d)
	if err != nil {
		return Page[Cluster]{}, err
	}
	search, sargs := searchClause(q.Search, []string{"id", "name", "description"})
	cond := fmt.Sprintf("namespace_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{ns}, args...), sargs...)
	page := Page[Cluster]{Total: -1, Results: []Cluster{}}
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return page, err
	}
	defer snap.Rollback()
	if q.IncludeTotal {
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM clusters WHERE `+cond, all...).Scan(&page.Total); err != nil {
			return page, err
		}
	}
	rows, err := snap.QueryContext(ctx, `SELECT `+clusterCols+` FROM clusters WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return page, err
		}
		page.Results = append(page.Results, c)
	}
	return page, rows.Err()
}
