package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// idsPerQuery bounds the ids bound to one IN (…) list.
const idsPerQuery = 500

// Payloads returns the payloads of the given documents of a collection,
// keyed by document id. Documents that do not exist or have no payload are
// absent.
func (s *Store) Payloads(ctx context.Context, collectionID string, ids []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(ids))
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(len(ids), start+idsPerQuery)]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, collectionID)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, `SELECT document_id, payload FROM documents WHERE collection_id = ? AND payload IS NOT NULL AND document_id IN `+
			placeholders(len(chunk), 1), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var payload sql.NullString
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = rawJSON(payload)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FeatureVectors returns the vectors of feature f (see ResolveFeature) of
// the given documents of a collection, keyed by document id, as stored.
// Documents without a vector of f are absent.
func (s *Store) FeatureVectors(ctx context.Context, collectionID string, f Feature, ids []string) (map[string][]float32, error) {
	out := make(map[string][]float32, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	file, err := s.openRows(ctx, collectionID, f)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	for start := 0; start < len(ids); start += idsPerQuery {
		chunk := ids[start:min(len(ids), start+idsPerQuery)]
		args := make([]any, 0, len(chunk)+2)
		q := `SELECT document_id, row FROM vectors WHERE collection_id = ? AND feature = ? AND document_id IN `
		args = append(args, collectionID, f.Name)
		if f.inline {
			q = `SELECT document_id, row FROM documents WHERE row IS NOT NULL AND collection_id = ? AND document_id IN `
			args = args[:1]
		}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, q+placeholders(len(chunk), 1), args...)
		if err != nil {
			return nil, err
		}
		type ref struct {
			id  string
			row int64
		}
		var refs []ref
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.id, &r.row); err != nil {
				rows.Close()
				return nil, err
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, r := range refs {
			vec := make([]float32, f.Dim)
			if err := file.readRows(r.row, vec); err != nil {
				return nil, fmt.Errorf("store: vectors of %s row %d: %w", collectionID, r.row, err)
			}
			out[r.id] = vec
		}
	}
	return out, nil
}
