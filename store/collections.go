package store

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/clusterd/clusterd/internal/ids"
)

// DefaultNamespace is used when a request names none.
const DefaultNamespace = "default"

// Namespace isolates resources: a resource of another namespace is not found.
type Namespace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// ResolveNamespace returns the namespace a request refers to: by id when ref
// starts with "ns_" (it must exist), otherwise by name. An unknown name is
// created when create is set; otherwise it is returned with an empty ID,
// an empty namespace in which every lookup finds nothing. An empty ref is
// DefaultNamespace.
func (s *Store) ResolveNamespace(ctx context.Context, ref string, create bool) (Namespace, error) {
	if ref == "" {
		ref = DefaultNamespace
	}
	if v, ok := s.namespaces.Load(ref); ok {
		return v.(Namespace), nil
	}
	ns, err := s.resolveNamespace(ctx, ref, create)
	if err == nil && ns.ID != "" {
		s.namespaces.Store(ref, ns) // namespaces are never renamed or deleted
	}
	return ns, err
}

func (s *Store) resolveNamespace(ctx context.Context, ref string, create bool) (Namespace, error) {
	var ns Namespace
	var created int64
	if strings.HasPrefix(ref, "ns_") {
		err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM namespaces WHERE id = ?`, ref).Scan(&ns.ID, &ns.Name, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return ns, &NotFoundError{Resource: "namespace", ID: ref}
		}
		ns.CreatedAt = fromMicros(created)
		return ns, err
	}
	err := s.r.QueryRowContext(ctx, `SELECT id, name, created_at FROM namespaces WHERE name = ?`, ref).Scan(&ns.ID, &ns.Name, &created)
	if err == nil {
		ns.CreatedAt = fromMicros(created)
		return ns, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return ns, err
	}
	if !create {
		return Namespace{Name: ref}, nil
	}
	ns = Namespace{ID: ids.New("ns_"), Name: ref, CreatedAt: s.now()}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO namespaces (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, ns.ID, ns.Name, micros(ns.CreatedAt))
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id, created_at FROM namespaces WHERE name = ?`, ref).Scan(&ns.ID, &created)
	})
	ns.CreatedAt = fromMicros(created)
	return ns, err
}

// Collection is a set of documents with vectors.
type Collection struct {
	ID            string
	NamespaceID   string
	Name          string
	Description   string
	Metadata      json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DocumentCount int64
	Features      []Feature
}

// Feature is one named vector field of a collection.
type Feature struct {
	Name  string
	Dim   int
	Count int64 // documents with this feature
	file  string
	// inline: the documents hold this feature's rows (documents.row, see
	// migrationInlineVectors), not vectors.
	inline bool
}

// CreateCollection makes a collection; the name must be unique in the namespace.
func (s *Store) CreateCollection(ctx context.Context, ns, name, description string, metadata json.RawMessage) (Collection, error) {
	now := s.now()
	c := Collection{ID: ids.NewAt("col_", now), NamespaceID: ns, Name: name, Description: description, Metadata: metadata, CreatedAt: now, UpdatedAt: now, Features: []Feature{}}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE namespace_id = ? AND name = ?`, ns, name).Scan(&n)
		if n > 0 {
			return &ConflictError{Resource: "collection", Msg: fmt.Sprintf("a collection named %q already exists", name)}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO collections (id, namespace_id, name, description, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, ns, name, nullString(description), nullJSON(metadata), micros(now), micros(now))
		return err
	})
	return c, err
}

// GetCollection finds a collection by id or name within the namespace,
// with its document count and its features' counts.
func (s *Store) GetCollection(ctx context.Context, ns, idOrName string) (Collection, error) {
	return s.getCollection(ctx, ns, idOrName, true)
}

// FindCollection is GetCollection without counting: DocumentCount and the
// features' Count are 0. Counting reads every document's index entry (a
// third of a second for a million documents on SQLite), which a caller
// that wants the collection's identity does not need.
func (s *Store) FindCollection(ctx context.Context, ns, idOrName string) (Collection, error) {
	return s.getCollection(ctx, ns, idOrName, false)
}

func (s *Store) getCollection(ctx context.Context, ns, idOrName string, counted bool) (Collection, error) {
	var c Collection
	var desc, meta sql.NullString
	var created, updated int64
	count := "0"
	if counted {
		count = "(SELECT COUNT(*) FROM documents d WHERE d.collection_id = c.id)"
	}
	err := s.r.QueryRowContext(ctx, `SELECT id, namespace_id, name, description, metadata, created_at, updated_at, `+count+`
		FROM collections c WHERE namespace_id = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1`,
		ns, idOrName, idOrName, idOrName).Scan(&c.ID, &c.NamespaceID, &c.Name, &desc, &meta, &created, &updated, &c.DocumentCount)
	if errors.Is(err, sql.ErrNoRows) {
		return c, &NotFoundError{Resource: "collection", ID: idOrName}
	}
	if err != nil {
		return c, err
	}
	c.Description, c.Metadata = desc.String, rawJSON(meta)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.Features, err = s.features(ctx, s.r, c.ID, counted)
	return c, err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// features lists a collection's features, with their counts when counted
// (else Count is 0).
func (s *Store) features(ctx context.Context, q queryer, collectionID string, counted bool) ([]Feature, error) {
	count := "0"
	if counted {
		count = vectorCountSQL
	}
	rows, err := q.QueryContext(ctx, `SELECT f.name, f.dim, f.file, f.inline, `+count+`
		FROM features f WHERE collection_id = ? ORDER BY name`, collectionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Feature{}
	for rows.Next() {
		var f Feature
		if err := rows.Scan(&f.Name, &f.Dim, &f.file, &f.inline, &f.Count); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteCollection removes a collection, its documents and vector files.
// A cluster's output collection may be deleted too: the cluster's next run
// creates it again.
func (s *Store) DeleteCollection(ctx context.Context, ns, id string) error {
	c, err := s.GetCollection(ctx, ns, id)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error { return deleteCollectionRows(ctx, tx, c.ID) })
	if err != nil {
		return err
	}
	// The segment files go once no upsert of the collection runs: now, or
	// when an import in progress ends (it fails: its collection is gone).
	s.cols.whenFree(c.ID, func() { s.removeCollectionFiles(c.ID) })
	return nil
}

// collectionFields are a collection's fields and metadata.NAME.
var collectionFields = fieldMap{
	fixed: map[string]field{
		"collection_id":   column(textField, "id"),
		"collection_name": column(textField, "name"),
		"description":     column(textField, "description"),
		"created_at":      column(timeField, "created_at"),
		"updated_at":      column(timeField, "updated_at"),
		"document_count":  column(numberField, "(SELECT COUNT(*) FROM documents dc WHERE dc.collection_id = collections.id)"),
	},
	prefixes: []jsonPrefix{{"metadata.", "metadata"}},
}

// ListCollections lists a namespace's collections.
func (s *Store) ListCollections(ctx context.Context, ns string, q Query) (Page[Collection], error) {
	where, args, err := whereClause(q.Filters, collectionFields, s.d)
	if err != nil {
		return Page[Collection]{}, err
	}
	order, err := orderBy(q.Sort, collectionFields, Sort{Field: "created_at", Direction: "desc"}, "id", s.d)
	if err != nil {
		return Page[Collection]{}, err
	}
	search, sargs := searchClause(q.Search, []string{"id", "name", "description"})
	cond := fmt.Sprintf("namespace_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{ns}, args...), sargs...)
	page := Page[Collection]{Total: -1}
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return page, err
	}
	defer snap.Rollback()
	if q.IncludeTotal {
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE `+cond, all...).Scan(&page.Total); err != nil {
			return page, err
		}
	}
	rows, err := snap.QueryContext(ctx, `SELECT id FROM collections WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, err
	}
	var idsList []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return page, err
		}
		idsList = append(idsList, id)
	}
	rows.Close()
	snap.Rollback() // before GetCollection takes readers of its own
	page.Results = []Collection{}
	for _, id := range idsList {
		c, err := s.GetCollection(ctx, ns, id)
		if err != nil {
			return page, err
		}
		page.Results = append(page.Results, c)
	}
	return page, nil
}

func (s *Store) collectionDir(id string) string { return filepath.Join(s.dir, "vectors", id) }

// featureFile names a feature's segment file: feature names may be URIs, so
// the file is named by a hash of the name.
func featureFile(name string) string {
	h := sha1.Sum([]byte(name))
	return hex.EncodeToString(h[:8]) + ".f32"
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}

func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}
