package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/clusterd/clusterd/internal/ids"
)

// A cluster's output collections hold one document per cluster of its
// latest completed run. The cluster_outputs table records which collections
// a cluster owns (one per output key: "" for a single output collection,
// the feature URI for one per feature), so that a run replaces only its own
// collections and never a user's collection of the same name, and so that
// deleting the cluster deletes them.

// ClusterOutput is one output collection a cluster owns.
type ClusterOutput struct {
	CollectionID string
	Name         string
	// Key is "" for the single output collection, else the feature URI.
	Key      string
	Position int // order among the cluster's outputs (the feature's index)
}

// ClusterOutputs lists the output collections a cluster owns, in Position
// order.
func (s *Store) ClusterOutputs(ctx context.Context, clusterID string) ([]ClusterOutput, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.collection_id, c.name, o.output_key, o.position FROM cluster_outputs o
		JOIN collections c ON c.id = o.collection_id WHERE o.cluster_id = ? ORDER BY o.position, o.output_key`, clusterID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ClusterOutput{}
	for rows.Next() {
		var o ClusterOutput
		if err := rows.Scan(&o.CollectionID, &o.Name, &o.Key, &o.Position); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OutputWrite is the content of one output collection after a run.
type OutputWrite struct {
	NamespaceID string
	ClusterID   string
	Key         string // "" or the feature URI (see ClusterOutput)
	Position    int
	// Name is the collection's name when it is created. When another
	// collection has it, Name_2, Name_3, … (the first free one) is taken.
	Name        string
	Description string
	Documents   []DocumentInput
	// Job and Owner, when Job is set, fence the write like FinishRun's:
	// ErrLeaseLost, and nothing written, once the claim was taken over.
	Job   *Job
	Owner string
}

// MaxOutputNameTries bounds the suffixes tried for an output collection's
// name before WriteClusterOutput gives up with a ConflictError.
const MaxOutputNameTries = 100

// WriteClusterOutput makes the cluster's output collection for w.Key hold
// exactly w.Documents, in one transaction: it creates the collection on the
// cluster's first run (recording that the cluster owns it), then replaces
// its documents: documents of w.Documents are upserted with their payloads
// (kept documents keep their creation time), every other document goes,
// and every vector is rewritten into fresh segment files (the previous
// ones are removed once the transaction commits, so nothing of an earlier
// run is left behind). It fails with a NotFoundError when the cluster no
// longer exists, so a run of a deleted cluster creates nothing.
func (s *Store) WriteClusterOutput(ctx context.Context, w OutputWrite) (Collection, error) {
	unlockOutputs, err := s.lockOutputs(ctx, w.ClusterID)
	if err != nil {
		return Collection{}, err
	}
	defer unlockOutputs()
	// An existing output collection is locked like any upsert's; a new one
	// is invisible until this transaction commits.
	if outs, err := s.ClusterOutputs(ctx, w.ClusterID); err == nil {
		for _, o := range outs {
			if o.Key == w.Key {
				unlock, err := s.lockCol(ctx, o.CollectionID)
				if err != nil {
					return Collection{}, err
				}
				defer unlock()
				// Its documents are updated in place: a replacement an
				// import committed and left to the background fold
				// (foldLater) would hide the new payloads, then overwrite
				// them.
				if err := s.foldCommitted(ctx, o.CollectionID); err != nil {
					return Collection{}, err
				}
			}
		}
	}
	var colID string
	var oldKeys []string // the chunks replaced (with a bucket)
	segs := map[string]*segment{}
	gen := ids.New("")
	fileOf := func(name string) string { return strings.TrimSuffix(featureFile(name), ".f32") + "-" + gen + ".f32" }
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if w.Job != nil {
			if err := s.ownsJob(ctx, tx, w.Job, w.Owner); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clusters WHERE id = ? AND namespace_id = ?`, w.ClusterID, w.NamespaceID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return &NotFoundError{Resource: "cluster", ID: w.ClusterID}
		}
		err := tx.QueryRowContext(ctx, `SELECT o.collection_id FROM cluster_outputs o JOIN collections c ON c.id = o.collection_id
			WHERE o.cluster_id = ? AND o.output_key = ?`, w.ClusterID, w.Key).Scan(&colID)
		if errors.Is(err, sql.ErrNoRows) {
			colID, err = s.createOutput(ctx, tx, w)
		}
		if err != nil {
			return err
		}
		docIDs := make([]string, 0, len(w.Documents))
		for _, d := range w.Documents {
			docIDs = append(docIDs, d.ID)
		}
		keep, err := json.Marshal(docIDs)
		if err != nil {
			return err
		}
		if oldKeys, err = collectionKeys(ctx, tx, colID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM vectors WHERE collection_id = ?`,
			`DELETE FROM features WHERE collection_id = ?`,
			`DELETE FROM segments WHERE collection_id = ?`,
			`DELETE FROM documents WHERE collection_id = ? AND document_id NOT IN (SELECT value FROM json_each(?))`,
		} {
			args := []any{colID}
			if strings.Contains(q, "json_each") {
				args = append(args, string(keep))
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		var st UpsertStats
		return s.upsertTx(ctx, tx, colID, &SliceSource{Docs: w.Documents}, fileOf, segs, &st)
	})
	s.closeSegments(segs, err == nil)
	if err == nil && s.blob != nil {
		s.deleteKeys(oldKeys)
	}
	if colID != "" {
		if cerr := s.removeUnreferencedSegments(ctx, colID); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return Collection{}, err
	}
	return s.GetCollection(ctx, w.NamespaceID, colID)
}

// createOutput creates the collection of an output and records the
// ownership; the name is w.Name or the first free Name_N.
func (s *Store) createOutput(ctx context.Context, tx *sql.Tx, w OutputWrite) (string, error) {
	// An ownership row whose collection a user deleted is dropped with it
	// (DeleteCollection); a stale one is replaced here all the same.
	if _, err := tx.ExecContext(ctx, `DELETE FROM cluster_outputs WHERE cluster_id = ? AND output_key = ?`, w.ClusterID, w.Key); err != nil {
		return "", err
	}
	name := ""
	for i := 1; i <= MaxOutputNameTries; i++ {
		try := w.Name
		if i > 1 {
			try = fmt.Sprintf("%s_%d", w.Name, i)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE namespace_id = ? AND (name = ? OR id = ?)`, w.NamespaceID, try, try).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			name = try
			break
		}
	}
	if name == "" {
		return "", &ConflictError{Resource: "collection", Msg: fmt.Sprintf("no free name for the output collection %q (tried %d suffixes)", w.Name, MaxOutputNameTries)}
	}
	at := s.now()
	id, now := ids.NewAt("col_", at), micros(at)
	if _, err := tx.ExecContext(ctx, `INSERT INTO collections (id, namespace_id, name, description, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, w.NamespaceID, name, nullString(w.Description), nil, now, now); err != nil {
		return "", err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO cluster_outputs (collection_id, cluster_id, output_key, position, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, w.ClusterID, w.Key, w.Position, now)
	return id, err
}

// removeUnreferencedSegments deletes the segment files of a collection that
// no feature refers to (those a replacement superseded, or left by one that
// failed). The caller holds the outputs lock (lockOutputs).
func (s *Store) removeUnreferencedSegments(ctx context.Context, collectionID string) error {
	feats, err := s.features(ctx, s.w, collectionID, false)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, f := range feats {
		used[f.file] = true
	}
	dir := s.collectionDir(collectionID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".f32") && !used[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteCollectionRows deletes a collection's rows (documents, vectors,
// features, ownership) inside tx; its files are the caller's to remove.
func deleteCollectionRows(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{`DELETE FROM vectors WHERE collection_id = ?`, `DELETE FROM documents WHERE collection_id = ?`, `DELETE FROM segments WHERE collection_id = ?`,
		`DELETE FROM features WHERE collection_id = ?`, `DELETE FROM cluster_outputs WHERE collection_id = ?`, `DELETE FROM collections WHERE id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}
