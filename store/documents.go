package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clusterd/clusterd/internal/fsync"
	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/internal/rawbytes"
)

// DocumentInput is one document to upsert.
type DocumentInput struct {
	ID       string               // empty: a "doc_…" id is generated
	Features map[string][]float32 // feature name (or URI) → vector
	Payload  json.RawMessage      // a JSON object, or empty
}

// DocumentSource yields documents to upsert; Next returns io.EOF at the end.
type DocumentSource interface {
	Next() (DocumentInput, error)
}

// SliceSource is a DocumentSource over a slice.
type SliceSource struct {
	Docs []DocumentInput
	i    int
}

// Next implements DocumentSource.
func (s *SliceSource) Next() (DocumentInput, error) {
	if s.i >= len(s.Docs) {
		return DocumentInput{}, io.EOF
	}
	s.i++
	return s.Docs[s.i-1], nil
}

// DocumentError is an invalid document: Index is its position in the
// source (0-based), Field the path inside the document ("features", name).
type DocumentError struct {
	Index      int
	DocumentID string
	Field      []any
	Msg        string
}

func (e *DocumentError) Error() string {
	id := ""
	if e.DocumentID != "" {
		id = fmt.Sprintf(" (%q)", e.DocumentID)
	}
	return fmt.Sprintf("document %d%s: %s", e.Index, id, e.Msg)
}

// UpsertStats counts what an upsert did.
type UpsertStats struct {
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
}

// MaxDocumentIDLength bounds caller-supplied document ids.
const MaxDocumentIDLength = 512

// segment is an open vector file being appended to during an upsert.
type segment struct {
	f        *os.File
	w        *bufio.Writer
	dim      int
	start    int64 // size before this upsert, restored on failure
	nextRow  int64
	pending  int64 // bytes written since the last writeback request
	flushed  int64 // file offset up to which writeback was requested
	fileName string
}

// Upsert writes every document of src into the collection in one
// transaction: all of them or, on any error, none. A document that exists
// (same id) gets the new payload when one is given (send {} to clear it) and
// the new vectors of the features given; the rest is kept. Every vector of one feature must
// have the feature's dimension (fixed by its first vector) and finite values.
// Vectors are appended to the feature's segment file and fsynced before the
// transaction commits.
func (s *Store) Upsert(ctx context.Context, collectionID string, src DocumentSource) (UpsertStats, error) {
	var st UpsertStats
	s.segMu.Lock()
	defer s.segMu.Unlock()
	segs := map[string]*segment{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return s.upsertTx(ctx, tx, collectionID, src, featureFile, segs, &st)
	})
	closeSegments(segs, err == nil)
	return st, err
}

// closeSegments closes an upsert's segment files; when its transaction did
// not commit, each is cut back to its size before (the rows were never
// referenced).
func closeSegments(segs map[string]*segment, committed bool) {
	for _, sg := range segs {
		if !committed {
			sg.f.Truncate(sg.start)
		}
		sg.f.Close()
	}
}

// upsertTx is Upsert's work inside tx; a feature new to the collection gets
// the segment file fileOf(name). The caller holds segMu and closes segs.
func (s *Store) upsertTx(ctx context.Context, tx *sql.Tx, collectionID string, src DocumentSource, fileOf func(string) string, segs map[string]*segment, st *UpsertStats) error {
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE id = ?`, collectionID).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return &NotFoundError{Resource: "collection", ID: collectionID}
	}
	feats, err := s.features(ctx, tx, collectionID)
	if err != nil {
		return err
	}
	known := map[string]Feature{}
	for _, f := range feats {
		known[f.Name] = f
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM documents WHERE collection_id = ?`, collectionID).Scan(&seq); err != nil {
		return err
	}
	now := micros(s.now())
	rb := &rowBatch{tx: tx, collectionID: collectionID, now: now, seq: seq, st: st, seen: map[string]bool{}}
	for idx := 0; ; idx++ {
		doc, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if idx%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := validateDocument(idx, &doc); err != nil {
			return err
		}
		if err := rb.addDocument(ctx, doc.ID, nullJSON(doc.Payload)); err != nil {
			return err
		}
		for name, vec := range doc.Features {
			sg, err := s.segmentFor(ctx, tx, collectionID, name, len(vec), known, segs, fileOf)
			if err != nil {
				return err
			}
			if len(vec) != sg.dim {
				return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features", name},
					Msg: fmt.Sprintf("feature %q has dimension %d, but the collection's %q vectors have dimension %d", name, len(vec), name, sg.dim)}
			}
			if err := sg.write(rawbytes.Float32s(vec)); err != nil {
				return fmt.Errorf("store: writing vectors: %w", err)
			}
			rb.addVector(name, doc.ID, sg.nextRow)
			sg.nextRow++
		}
	}
	if err := rb.flush(ctx); err != nil {
		return err
	}
	for _, sg := range segs {
		if err := sg.w.Flush(); err != nil {
			return fmt.Errorf("store: writing vectors: %w", err)
		}
		if err := sg.f.Sync(); err != nil {
			return fmt.Errorf("store: syncing vectors: %w", err)
		}
	}
	// Event triggers count the writes in the same transaction, so a count
	// never includes documents that did not commit.
	if err := countDocumentWrites(ctx, tx, collectionID, *st); err != nil {
		return err
	}
	if st.Inserted+st.Updated > 0 {
		_, err = tx.ExecContext(ctx, `UPDATE collections SET updated_at = ? WHERE id = ?`, now, collectionID)
	}
	return err
}

// batchDocuments is the number of documents written per INSERT statement.
const batchDocuments = 256

// rowBatch collects document and vector rows and writes them with
// multi-row INSERTs, which cost far less per row than a statement each. A
// document id that repeats inside a batch flushes the batch first, so the
// inserted/updated counts stay right.
type rowBatch struct {
	tx           *sql.Tx
	collectionID string
	now          int64
	seq          int64 // the last sequence number given
	st           *UpsertStats
	docArgs      []any // collection_id, document_id, seq, payload, created_at, updated_at per document
	ids          []any
	vecArgs      []any // collection_id, feature, document_id, row per vector
	seen         map[string]bool
}

func (b *rowBatch) addDocument(ctx context.Context, id string, payload any) error {
	if b.seen[id] || len(b.ids) == batchDocuments {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	b.seen[id] = true
	b.seq++
	b.ids = append(b.ids, id)
	b.docArgs = append(b.docArgs, b.collectionID, id, b.seq, payload, b.now, b.now)
	return nil
}

func (b *rowBatch) addVector(feature, id string, row int64) {
	b.vecArgs = append(b.vecArgs, b.collectionID, feature, id, row)
}

// flush writes the collected rows. An existing document keeps its sequence
// number and creation time and takes the new payload when one is given.
func (b *rowBatch) flush(ctx context.Context) error {
	if len(b.ids) == 0 {
		return nil
	}
	var existing int
	in := placeholders(len(b.ids), 1)
	if err := b.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents WHERE collection_id = ? AND document_id IN `+in,
		append([]any{b.collectionID}, b.ids...)...).Scan(&existing); err != nil {
		return err
	}
	b.st.Updated += existing
	b.st.Inserted += len(b.ids) - existing
	if _, err := b.tx.ExecContext(ctx, `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at) VALUES `+
		placeholders(len(b.ids), 6)+` ON CONFLICT (collection_id, document_id) DO UPDATE SET payload = COALESCE(excluded.payload, documents.payload), updated_at = excluded.updated_at`,
		b.docArgs...); err != nil {
		return err
	}
	if len(b.vecArgs) > 0 {
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO vectors (collection_id, feature, document_id, row) VALUES `+placeholders(len(b.vecArgs)/4, 4)+
			` ON CONFLICT (collection_id, document_id, feature) DO UPDATE SET row = excluded.row`, b.vecArgs...); err != nil {
			return err
		}
	}
	b.docArgs, b.ids, b.vecArgs = b.docArgs[:0], b.ids[:0], b.vecArgs[:0]
	clear(b.seen)
	return nil
}

// placeholders returns "(?, ?), (?, ?)"-style groups: rows groups of cols.
func placeholders(rows, cols int) string {
	group := "(" + strings.Repeat("?, ", cols-1) + "?)"
	if cols == 1 && rows > 0 {
		return "(" + strings.Repeat("?, ", rows-1) + "?)"
	}
	return strings.Repeat(group+", ", rows-1) + group
}

// writebackEvery is how many bytes an upsert appends to a segment before it
// asks the kernel to start writing them to disk, so the fsync at commit
// finds little left to do and disk writes overlap the database work.
const writebackEvery = 32 << 20

// write appends b to the segment, starting writeback of every
// writebackEvery bytes written.
func (sg *segment) write(b []byte) error {
	if _, err := sg.w.Write(b); err != nil {
		return err
	}
	sg.pending += int64(len(b))
	if sg.pending >= writebackEvery {
		if err := sg.w.Flush(); err != nil {
			return err
		}
		end := sg.nextRow*int64(sg.dim)*4 + int64(len(b))
		startWriteback(sg.f, sg.flushed, end-sg.flushed)
		sg.flushed, sg.pending = end, 0
	}
	return nil
}

// segmentFor opens (once per upsert) the segment of a feature, creating the
// feature with dimension dim and segment file fileOf(name) when it is new.
func (s *Store) segmentFor(ctx context.Context, tx *sql.Tx, collectionID, name string, dim int, known map[string]Feature, segs map[string]*segment, fileOf func(string) string) (*segment, error) {
	if sg, ok := segs[name]; ok {
		return sg, nil
	}
	f, ok := known[name]
	if !ok {
		f = Feature{Name: name, Dim: dim, file: fileOf(name)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO features (collection_id, name, dim, file) VALUES (?, ?, ?, ?)`, collectionID, name, dim, f.file); err != nil {
			return nil, err
		}
		known[name] = f
	}
	dir := s.collectionDir(collectionID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	file, err := os.OpenFile(filepath.Join(dir, f.file), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if info.Size() == 0 {
		// Perhaps just created, with its directory: make the names durable
		// before a committed row can point into the file.
		if err := errors.Join(fsync.Dir(dir), fsync.Dir(filepath.Dir(dir))); err != nil {
			file.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	rowBytes := int64(f.Dim) * 4
	// A crash during an earlier append may have left a partial row at the
	// end; it was never referenced, so it is cut off.
	size := info.Size() / rowBytes * rowBytes
	if size != info.Size() {
		if err := file.Truncate(size); err != nil {
			file.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if _, err := file.Seek(size, io.SeekStart); err != nil {
		file.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	sg := &segment{f: file, w: bufio.NewWriterSize(file, 1<<20), dim: f.Dim, start: size, nextRow: size / rowBytes, fileName: f.file, flushed: size}
	segs[name] = sg
	return sg, nil
}

func validateDocument(idx int, doc *DocumentInput) error {
	if doc.ID == "" {
		doc.ID = ids.New("doc_")
	}
	if len(doc.ID) > MaxDocumentIDLength {
		return &DocumentError{Index: idx, Field: []any{"document_id"}, Msg: fmt.Sprintf("document_id is longer than %d characters", MaxDocumentIDLength)}
	}
	if p := strings.TrimSpace(string(doc.Payload)); p != "" && p != "null" && !strings.HasPrefix(p, "{") {
		return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"payload"}, Msg: "payload must be a JSON object"}
	}
	for name, vec := range doc.Features {
		if name == "" {
			return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features"}, Msg: "feature names must not be empty"}
		}
		if len(vec) == 0 {
			return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features", name}, Msg: fmt.Sprintf("feature %q is an empty vector", name)}
		}
		for t, v := range vec {
			if v-v != 0 { // NaN or ±Inf: every finite v gives 0
				return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features", name, t},
					Msg: fmt.Sprintf("feature %q has a non-finite value (%v) at position %d", name, v, t)}
			}
		}
	}
	return nil
}

// Document is a stored document.
type Document struct {
	ID        string
	Features  map[string][]float32 // nil unless vectors were asked for
	Names     []string             // the features the document has
	Payload   json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GetDocument returns one document with its vectors.
func (s *Store) GetDocument(ctx context.Context, collectionID, documentID string) (Document, error) {
	var d Document
	var payload sql.NullString
	var created, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT document_id, payload, created_at, updated_at FROM documents WHERE collection_id = ? AND document_id = ?`,
		collectionID, documentID).Scan(&d.ID, &payload, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return d, &NotFoundError{Resource: "document", ID: documentID}
	}
	if err != nil {
		return d, err
	}
	d.Payload, d.CreatedAt, d.UpdatedAt = rawJSON(payload), fromMicros(created), fromMicros(updated)
	rows, err := s.r.QueryContext(ctx, `SELECT v.feature, v.row, f.dim, f.file FROM vectors v JOIN features f ON f.collection_id = v.collection_id AND f.name = v.feature
		WHERE v.collection_id = ? AND v.document_id = ? ORDER BY v.feature`, collectionID, documentID)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	d.Features = map[string][]float32{}
	for rows.Next() {
		var name, file string
		var row int64
		var dim int
		if err := rows.Scan(&name, &row, &dim, &file); err != nil {
			return d, err
		}
		vec := make([]float32, dim)
		if err := s.readRows(collectionID, file, dim, row, vec); err != nil {
			return d, err
		}
		d.Features[name] = vec
		d.Names = append(d.Names, name)
	}
	return d, rows.Err()
}

// readRows reads consecutive rows starting at row into dst (a multiple of dim).
func (s *Store) readRows(collectionID, file string, dim int, row int64, dst []float32) error {
	f, err := os.Open(filepath.Join(s.collectionDir(collectionID), file))
	if err != nil {
		return fmt.Errorf("store: vectors of %s: %w", collectionID, err)
	}
	defer f.Close()
	if _, err := f.ReadAt(rawbytes.Float32s(dst), row*int64(dim)*4); err != nil {
		return fmt.Errorf("store: vectors of %s row %d: %w", collectionID, row, err)
	}
	return nil
}

// documentFields: document_id, created_at and updated_at, and the payload's
// keys as payload.NAME, metadata.NAME (Mixpeek's name for the same) or a
// bare NAME; dots address nested keys.
var documentFields = fieldMap{
	fixed: map[string]field{
		"document_id": column(textField, "d.document_id"),
		"created_at":  column(timeField, "d.created_at"),
		"updated_at":  column(timeField, "d.updated_at"),
	},
	prefixes: []jsonPrefix{{"payload.", "d.payload"}, {"metadata.", "d.payload"}},
	bare:     "d.payload",
	bareDoc:  "or any other NAME (a payload key)",
}

// ListDocuments lists a collection's documents (without vectors), in
// insertion order unless sorted otherwise.
func (s *Store) ListDocuments(ctx context.Context, collectionID string, q Query) (Page[Document], error) {
	where, args, err := whereClause(q.Filters, documentFields)
	if err != nil {
		return Page[Document]{}, err
	}
	order := "ORDER BY d.seq" // insertion order, indexed
	if q.Sort != nil {
		if order, err = orderBy(q.Sort, documentFields, Sort{}, "d.seq"); err != nil {
			return Page[Document]{}, err
		}
	}
	search, sargs := searchClause(q.Search, []string{"d.document_id", "d.payload"})
	cond := fmt.Sprintf("d.collection_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{collectionID}, args...), sargs...)
	page := Page[Document]{Total: -1, Results: []Document{}}
	if q.IncludeTotal {
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents d WHERE `+cond, all...).Scan(&page.Total); err != nil {
			return page, err
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d.document_id, d.payload, d.created_at, d.updated_at,
		(SELECT group_concat(feature, char(10)) FROM vectors v WHERE v.collection_id = d.collection_id AND v.document_id = d.document_id)
		FROM documents d WHERE `+cond+` `+order+` LIMIT ? OFFSET ?`, append(all, q.Limit, q.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		var d Document
		var payload, names sql.NullString
		var created, updated int64
		if err := rows.Scan(&d.ID, &payload, &created, &updated, &names); err != nil {
			return page, err
		}
		d.Payload, d.CreatedAt, d.UpdatedAt = rawJSON(payload), fromMicros(created), fromMicros(updated)
		if names.Valid {
			d.Names = strings.Split(names.String, "\n")
		}
		page.Results = append(page.Results, d)
	}
	return page, rows.Err()
}

// ResolveFeature finds the collection's feature a request names: an exact
// name, else a name or URI whose last path segment matches (so
// "mixpeek://text_extractor@v1/text_embedding" finds "text_embedding" and
// vice versa). An empty request picks the only feature.
func (s *Store) ResolveFeature(ctx context.Context, collectionID, requested string) (Feature, error) {
	feats, err := s.features(ctx, s.r, collectionID)
	if err != nil {
		return Feature{}, err
	}
	names := make([]string, len(feats))
	for i, f := range feats {
		names[i] = f.Name
	}
	if requested == "" {
		if len(feats) == 1 {
			return feats[0], nil
		}
		if len(feats) == 0 {
			return Feature{}, &FeatureError{Msg: fmt.Sprintf("collection %s has no vectors yet", collectionID)}
		}
		return Feature{}, &FeatureError{Msg: fmt.Sprintf("collection %s has several features (%s); name one in vector_config.feature_uris", collectionID, strings.Join(names, ", "))}
	}
	for _, f := range feats {
		if f.Name == requested {
			return f, nil
		}
	}
	last := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	for _, f := range feats {
		if last(f.Name) == last(requested) {
			return f, nil
		}
	}
	return Feature{}, &FeatureError{Msg: fmt.Sprintf("Feature extractor '%s' not found in collection %s (it has: %s)", requested, collectionID, strings.Join(names, ", "))}
}

// FeatureError reports a feature a run asked for that the collection lacks.
type FeatureError struct{ Msg string }

func (e *FeatureError) Error() string { return e.Msg }

// Vectors are the rows of one feature loaded for clustering.
type Vectors struct {
	X   []float32 // N×D
	N   int
	D   int
	IDs []string // document ids, one per row
}

// LoadVectors reads every vector of a feature (of the documents matching
// filters, a filter tree over document fields as in Query.Filters) in the
// order they were written. Runs of consecutive rows are read with one read
// each straight into the result, so an unfiltered, never-updated collection
// loads with one sequential read of its segment file.
func (s *Store) LoadVectors(ctx context.Context, collectionID string, f Feature, filters json.RawMessage) (Vectors, error) {
	where, args, err := whereClause(filters, documentFields)
	if err != nil {
		return Vectors{}, err
	}
	q := `SELECT v.document_id, v.row FROM vectors v`
	if where != "1" {
		q += ` JOIN documents d ON d.collection_id = v.collection_id AND d.document_id = v.document_id`
	}
	q += ` WHERE v.collection_id = ? AND v.feature = ? AND (` + where + `) ORDER BY v.row`
	rows, err := s.r.QueryContext(ctx, q, append([]any{collectionID, f.Name}, args...)...)
	if err != nil {
		return Vectors{}, err
	}
	var rowIdx []int64
	out := Vectors{D: f.Dim}
	for rows.Next() {
		var id string
		var r int64
		if err := rows.Scan(&id, &r); err != nil {
			rows.Close()
			return Vectors{}, err
		}
		out.IDs = append(out.IDs, id)
		rowIdx = append(rowIdx, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Vectors{}, err
	}
	out.N = len(rowIdx)
	out.X = make([]float32, out.N*out.D)
	if out.N == 0 {
		return out, nil
	}
	file, err := os.Open(filepath.Join(s.collectionDir(collectionID), f.file))
	if err != nil {
		return Vectors{}, fmt.Errorf("store: vectors of %s: %w", collectionID, err)
	}
	defer file.Close()
	rowBytes := int64(f.Dim) * 4
	for i := 0; i < out.N; {
		j := i + 1
		for j < out.N && rowIdx[j] == rowIdx[j-1]+1 {
			j++
		}
		if _, err := file.ReadAt(rawbytes.Float32s(out.X[i*out.D:j*out.D]), rowIdx[i]*rowBytes); err != nil {
			return Vectors{}, fmt.Errorf("store: vectors of %s rows %d–%d: %w", collectionID, rowIdx[i], rowIdx[j-1], err)
		}
		i = j
		if err := ctx.Err(); err != nil {
			return Vectors{}, err
		}
	}
	return out, nil
}

// PayloadTexts returns, for every document of the collection with a
// string at any of the payload paths (dot paths into the payload,
// "content.title"; default "text"), those strings joined by newlines, keyed
// by document id. Values of other types (numbers, lists, objects) are not
// text and are skipped; so are paths with a '"' in a field name.
func (s *Store) PayloadTexts(ctx context.Context, collectionID string, paths []string) (map[string]string, error) {
	if len(paths) == 0 {
		paths = []string{"text"}
	}
	parts := make([]string, len(paths))
	args := make([]any, 0, 2*len(paths)+1)
	for i, p := range paths {
		jp, ok := sqlJSONPath(p)
		if !ok {
			parts[i] = "NULL"
			continue
		}
		parts[i] = "CASE json_type(payload, ?) WHEN 'text' THEN json_extract(payload, ?) END"
		args = append(args, jp, jp)
	}
	args = append(args, collectionID)
	rows, err := s.r.QueryContext(ctx, `SELECT document_id, `+strings.Join(parts, ", ")+` FROM documents WHERE collection_id = ? AND payload IS NOT NULL`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	vals := make([]any, len(paths)+1)
	var id string
	texts := make([]sql.NullString, len(paths))
	vals[0] = &id
	for i := range texts {
		vals[i+1] = &texts[i]
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, t := range texts {
			if t.Valid && t.String != "" {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(t.String)
			}
		}
		if b.Len() > 0 {
			out[id] = b.String()
		}
	}
	return out, rows.Err()
}

// sqlJSONPath is the SQLite JSON path of a payload dot path: every field
// name quoted, so names with spaces or brackets work ("a.b c" → $."a"."b c").
// A name with a '"' cannot be quoted: ok is false.
func sqlJSONPath(p string) (string, bool) {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range strings.Split(p, ".") {
		if strings.Contains(seg, `"`) {
			return "", false
		}
		b.WriteString(`."` + seg + `"`)
	}
	return b.String(), true
}

// PayloadPatch merges fields into one document's payload (RFC 7396 JSON
// merge patch: keys in Patch replace the payload's, null removes one).
type PayloadPatch struct {
	DocumentID string
	Patch      json.RawMessage
}

// PatchPayloads applies patches to a collection's documents in one
// transaction and reports how many documents were patched and how many
// were not found. Applying the same patches again leaves the same payloads.
func (s *Store) PatchPayloads(ctx context.Context, collectionID string, patches []PayloadPatch) (patched, missing int, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE documents SET payload = json_patch(COALESCE(payload, '{}'), ?), updated_at = ? WHERE collection_id = ? AND document_id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := micros(s.now())
		for _, p := range patches {
			res, err := stmt.ExecContext(ctx, string(p.Patch), now, collectionID, p.DocumentID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missing++
			} else {
				patched++
			}
		}
		return nil
	})
	return patched, missing, err
}

// LoadPayloads returns the ids and payloads (nil when a document has none)
// of the collection's documents matching filters (as in LoadVectors), in
// insertion order.
func (s *Store) LoadPayloads(ctx context.Context, collectionID string, filters json.RawMessage) ([]string, []json.RawMessage, error) {
	where, args, err := whereClause(filters, documentFields)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d.document_id, d.payload FROM documents d WHERE d.collection_id = ? AND (`+where+`) ORDER BY d.seq`,
		append([]any{collectionID}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []string
	var payloads []json.RawMessage
	for rows.Next() {
		var id string
		var p sql.NullString
		if err := rows.Scan(&id, &p); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		payloads = append(payloads, rawJSON(p))
		if len(ids)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
	}
	return ids, payloads, rows.Err()
}
