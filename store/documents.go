package store

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// The store copies what it keeps of a document (its vectors to the segments,
// its id and payload to strings) before it calls Next again, so a source
// may reuse the memory of the documents it returned (a vector buffer, the
// Features map). Next is never called concurrently.
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
	// With a bucket (key != ""), f is a temporary file holding this
	// upsert's rows [firstRow, nextRow), put under key before the commit
	// that makes them visible (see segments.go).
	key      string
	feature  string
	firstRow int64
	put      bool // the object exists
}

// newSegmentWriter buffers a segment's appends.
func newSegmentWriter(f *os.File) *bufio.Writer { return bufio.NewWriterSize(f, 1<<20) }

// Upsert writes every document of src into the collection: all of them or,
// on any error, none, as readers see it. A document that exists (same id)
// gets the new payload when one is given (send {} to clear it) and the new
// vectors of the features given; the rest is kept. Every vector of one
// feature must have the feature's dimension (fixed by its first vector, at
// most MaxDimension) and finite values.
//
// Upserts into one collection run one at a time. One that fits in a single
// batch (stageDocuments documents, stageVectorBytes of vectors) is one
// transaction. A larger one is staged: it registers an import generation,
// writes its rows batch by batch, each batch a short transaction of its own
// (so other writes get the writer between them), with the generation that
// hides them from readers (see the package doc), then makes them visible
// in one short final transaction. Vectors are appended to the feature's
// segment file and fsynced before the transaction that makes them visible
// (with a bucket: written to a new chunk, stored before that transaction;
// see segments.go).
// A failed upsert removes what it staged; one killed midway is removed by
// the next Open.
func (s *Store) Upsert(ctx context.Context, collectionID string, src DocumentSource) (UpsertStats, error) {
	unlock, err := s.lockCol(ctx, collectionID)
	if err != nil {
		return UpsertStats{}, err
	}
	defer unlock()
	u := &upsert{s: s, ctx: ctx, col: collectionID, segs: map[string]*segment{}, known: map[string]Feature{}, now: micros(s.now()), limit: stageDocuments}
	defer func() {
		for _, sg := range u.segs {
			if sg.key != "" {
				releaseChunk(sg)
				continue
			}
			sg.f.Close()
		}
	}()
	if err := u.start(); err != nil {
		return UpsertStats{}, err
	}
	eof, err := u.fill(src)
	if err == nil && eof {
		err = u.single()
	} else if err == nil {
		err = u.staged(src)
	}
	if err != nil {
		u.truncate()
		return UpsertStats{}, err
	}
	return u.st, nil
}

// Staged batches: an upsert that does not fit in one is staged, and each
// staged transaction writes at most stageVectorBytes of vectors and a
// number of documents that adapts (nextBatchLimit): stageDocuments at
// first and whenever another write waited for the writer during the last
// batch, which keeps a competing write's wait short (a batch of 512 holds
// the writer for a few milliseconds); doubling up to stageMaxDocuments
// while nothing waits, since each transaction's commit (page cache, WAL
// frames, checkpoint) costs as much as hundreds of rows.
const (
	stageDocuments    = 512
	stageMaxDocuments = 8192
	stageVectorBytes  = 8 << 20
)

// nextBatchLimit is the number of documents of the next staged batch after
// one of limit documents; contended tells whether another write waited for
// the writer while it ran.
func nextBatchLimit(limit int, contended bool) int {
	if contended {
		return stageDocuments
	}
	return min(2*limit, stageMaxDocuments)
}

// MaxDimension bounds a feature's dimension.
const MaxDimension = 65536

// upsert is one Upsert in progress.
type upsert struct {
	s     *Store
	ctx   context.Context
	col   string
	gen   int64              // the import generation; 0 for a single transaction
	known map[string]Feature // the collection's features, with those this upsert creates
	fresh []Feature          // features created by the documents read since the last take
	segs  map[string]*segment
	tx    *sql.Tx // the caller's transaction (upsertTx), else nil
	seq   int64   // the last sequence number given
	now   int64
	st    UpsertStats
	batch []stagedDoc // the documents read by the last fill
	limit int         // the most documents the next fill reads (nextBatchLimit)
	next  int         // index in the source of the next document
	// idSeq makes the ids of documents sent without one: consecutive, so
	// their rows append to the indexes rather than land all over them.
	idSeq *ids.Sequence
	// fileOf names the segment file of a feature new to the collection
	// (featureFile when nil).
	fileOf func(string) string
	// conflicts (PostgreSQL) is set once a batch met an existing row: the
	// upsert's later batches go straight to the conflict clauses (see
	// rowBatch.insertArrays).
	conflicts bool
}

// readBatch is what one fill read, taken (take) for writeBatch: its
// documents and the features they created.
type readBatch struct {
	docs  []stagedDoc
	fresh []Feature
}

// take hands the documents and features read since the last take to the
// caller, who writes them (writeBatch) while fill reads into new slices.
func (u *upsert) take() readBatch {
	b := readBatch{docs: u.batch, fresh: u.fresh}
	u.batch, u.fresh = nil, nil
	return b
}

// stagedDoc is a document read and validated, its vectors appended to the
// segments. It holds no memory of the source's (a source may reuse its
// buffers once Next is called again).
type stagedDoc struct {
	id      string
	payload any
	vecs    []stagedVec
}

type stagedVec struct {
	feature string
	row     int64
}

// start checks the collection and reads its features and last sequence
// number. The reads see the tables themselves (main.), not the reader
// views: no other upsert of this collection runs, and nothing of a killed
// one is left (Open removed it).
func (u *upsert) start() error {
	var exists int
	if err := u.s.r.QueryRowContext(u.ctx, `SELECT COUNT(*) FROM main.collections WHERE id = ?`, u.col).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return &NotFoundError{Resource: "collection", ID: u.col}
	}
	// An import of this collection still listed is a failed one whose
	// cleanup did not get through (this upsert holds the collection's
	// lock): finish it first, or its rows would hide documents this
	// upsert replaces.
	var stale []int64
	grows, err := u.s.r.QueryContext(u.ctx, `SELECT gen FROM imports WHERE collection_id = ?`, u.col)
	if err != nil {
		return err
	}
	for grows.Next() {
		var g int64
		if err := grows.Scan(&g); err != nil {
			grows.Close()
			return err
		}
		stale = append(stale, g)
	}
	grows.Close()
	for _, g := range stale {
		if err := u.s.abortImport(u.ctx, g, u.col); err != nil {
			return err
		}
	}
	// Replacements of a committed import must be folded into their rows
	// before this upsert writes them (its fold runs after it answered, or
	// failed): those of this collection; other collections' writes do not
	// wait for them.
	if err := u.s.foldCommitted(u.ctx, u.col); err != nil {
		return err
	}
	return u.readCollection(u.s.r, "main.")
}

// querier is what readCollection reads through: the readers (*sql.DB) or
// the caller's transaction (*sql.Tx).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readCollection reads the collection's features into u.known and its last
// sequence number into u.seq, through q, from the tables schema names
// ("main." for the tables themselves rather than the readers' views, ""
// in a transaction).
func (u *upsert) readCollection(q querier, schema string) error {
	rows, err := q.QueryContext(u.ctx, `SELECT name, dim, file, inline FROM `+schema+`features WHERE collection_id = ?`, u.col)
	if err != nil {
		return err
	}
	for rows.Next() {
		var f Feature
		if err := rows.Scan(&f.Name, &f.Dim, &f.file, &f.inline); err != nil {
			rows.Close()
			return err
		}
		u.known[f.Name] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return q.QueryRowContext(u.ctx, `SELECT COALESCE(MAX(seq), 0) FROM `+schema+`documents WHERE collection_id = ?`, u.col).Scan(&u.seq)
}

// fill reads the next batch from src: validates each document and appends
// its vectors to the segments. eof reports that src is exhausted.
//
// fill touches only what reading needs (the source, the segments, the
// features known, the ids); writeBatch only what writing needs, so that the
// two may run at once on different batches (see staged).
func (u *upsert) fill(src DocumentSource) (eof bool, err error) {
	u.batch = u.batch[:0]
	var bytes int
	for len(u.batch) < u.limit && bytes < stageVectorBytes {
		doc, err := src.Next()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		idx := u.next
		u.next++
		if idx%1024 == 0 {
			if err := u.ctx.Err(); err != nil {
				return false, err
			}
		}
		if doc.ID == "" {
			if u.idSeq == nil {
				u.idSeq = ids.NewSequence("doc_")
			}
			doc.ID = u.idSeq.Next()
		}
		if err := validateDocument(idx, &doc); err != nil {
			return false, err
		}
		sd := stagedDoc{id: doc.ID, payload: nullJSON(doc.Payload)}
		if len(u.known) == 0 && len(doc.Features) > 1 {
			// The collection's first feature becomes its inline one
			// (segmentFor): of a first document with several, the first
			// by name, not the map's random first.
			for _, name := range slices.Sorted(maps.Keys(doc.Features)) {
				if _, err := u.segmentFor(name, len(doc.Features[name])); err != nil {
					return false, err
				}
			}
		}
		for name, vec := range doc.Features {
			sg, err := u.segmentFor(name, len(vec))
			if err != nil {
				return false, err
			}
			if len(vec) != sg.dim {
				return false, &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features", name},
					Msg: fmt.Sprintf("feature %q has dimension %d, but the collection's %q vectors have dimension %d", name, len(vec), name, sg.dim)}
			}
			if err := sg.write(rawbytes.Float32s(vec)); err != nil {
				return false, fmt.Errorf("store: writing vectors: %w", err)
			}
			sd.vecs = append(sd.vecs, stagedVec{name, sg.nextRow})
			sg.nextRow++
			bytes += 4 * len(vec)
		}
		u.batch = append(u.batch, sd)
	}
	return false, nil
}

// single writes the only batch in one transaction, visible at its commit.
func (u *upsert) single() error {
	if u.s.blob != nil {
		// Chunks are stored before the transaction, not while it holds the
		// writer.
		if err := u.syncSegments(); err != nil {
			return err
		}
	}
	b := u.take()
	return u.s.tx(u.ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(u.ctx, `SELECT COUNT(*) FROM collections WHERE id = ?`, u.col).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return &NotFoundError{Resource: "collection", ID: u.col}
		}
		if err := u.writeBatch(tx, b); err != nil {
			return err
		}
		if err := u.syncSegments(); err != nil {
			return err
		}
		if err := u.recordSegments(tx); err != nil {
			return err
		}
		return u.touch(tx)
	})
}

// staged writes the batch read and the rest of src under a new import
// generation, then makes it all visible at once.
func (u *upsert) staged(src DocumentSource) (err error) {
	err = u.s.tx(u.ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(u.ctx, `INSERT INTO imports (collection_id, started_at, seq_floor) VALUES (?, ?, ?) RETURNING gen`, u.col, u.now, u.seq).Scan(&u.gen)
	})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The client may be gone (ctx canceled): the cleanup runs anyway.
			u.s.abortImport(context.WithoutCancel(u.ctx), u.gen, u.col)
		}
	}()
	// Each batch is written while the next is read, on another goroutine:
	// SQLite's writer is one thread, and reading (decoding Parquet,
	// checking values, appending to the segments) would otherwise add its
	// time to the writer's.
	type filled struct {
		eof bool
		err error
	}
	next := make(chan filled, 1)
	for b := u.take(); ; {
		go func() {
			eof, err := u.fill(src)
			next <- filled{eof, err}
		}()
		contended, werr := u.writeStaged(b)
		f := <-next // the reader is done with src and the segments before this returns
		if werr != nil {
			return werr
		}
		if f.err != nil {
			return f.err
		}
		// The batch being read was sized before this one's outcome was
		// known: a change of size shows one batch later.
		u.limit = nextBatchLimit(u.limit, contended)
		b = u.take()
		if f.eof {
			if len(b.docs) > 0 {
				if _, err := u.writeStaged(b); err != nil {
					return err
				}
			}
			break
		}
	}
	if err := u.syncSegments(); err != nil {
		return err
	}
	err = u.s.tx(u.ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(u.ctx, `SELECT COUNT(*) FROM collections WHERE id = ?`, u.col).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return &NotFoundError{Resource: "collection", ID: u.col} // deleted while the import ran
		}
		// Only while the import is still registered and not being removed
		// (see importLive): a removal that began first wins.
		res, err := tx.ExecContext(u.ctx, `DELETE FROM imports WHERE gen = ? AND aborting = 0`, u.gen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errImportRemoved
		}
		if err := u.recordSegments(tx); err != nil {
			return err
		}
		return u.touch(tx)
	})
	if err != nil {
		return err
	}
	// Committed: fold the replacements into their rows (what readers see
	// does not change), after the answer (see foldLater).
	u.s.foldLater()
	return nil
}

// writeStaged writes one staged batch in a transaction of its own, not
// synced (see txMode), and tells whether another write waited for the
// writer meanwhile (or this one waited for another's).
func (u *upsert) writeStaged(b readBatch) (contended bool, err error) {
	waits := u.s.w.Stats().WaitCount
	err = u.s.txMode(u.ctx, false, func(tx *sql.Tx) error {
		if err := u.writeBatch(tx, b); err != nil {
			return err
		}
		if u.s.stagedBatchHook != nil {
			u.s.stagedBatchHook(len(b.docs))
		}
		return nil
	})
	return u.s.w.Stats().WaitCount > waits, err
}

// touch records the upsert in the transaction that makes it visible: the
// collection's updated_at, and the counters of event triggers (so a count
// never includes documents that did not commit).
func (u *upsert) touch(tx *sql.Tx) error {
	if u.st.Inserted+u.st.Updated == 0 {
		return nil
	}
	if err := countDocumentWrites(u.ctx, tx, u.col, u.st); err != nil {
		return err
	}
	_, err := tx.ExecContext(u.ctx, `UPDATE collections SET updated_at = ? WHERE id = ?`, u.now, u.col)
	return err
}

// upsertTx writes every document of src into the collection inside the
// caller's transaction tx (one transaction, never staged: the caller's
// other writes commit with it), appending the vectors of features new to
// the collection to segment files named fileOf(feature). The caller holds
// the collection's lock (s.cols), and closes segs with closeSegments once
// tx has committed or failed.
func (s *Store) upsertTx(ctx context.Context, tx *sql.Tx, collectionID string, src DocumentSource, fileOf func(string) string, segs map[string]*segment, st *UpsertStats) error {
	u := &upsert{s: s, ctx: ctx, col: collectionID, segs: segs, tx: tx, known: map[string]Feature{}, now: micros(s.now()), fileOf: fileOf, limit: stageDocuments}
	if err := u.readCollection(tx, ""); err != nil {
		return err
	}
	for {
		eof, err := u.fill(src)
		if err != nil {
			return err
		}
		if err := u.writeBatch(tx, u.take()); err != nil {
			return err
		}
		if eof {
			break
		}
	}
	if err := u.syncSegments(); err != nil {
		return err
	}
	if err := u.recordSegments(tx); err != nil {
		return err
	}
	*st = u.st
	return u.touch(tx)
}

// closeSegments closes an upsert's segment files; when its transaction did
// not commit, each is cut back to its size before (the rows were never
// referenced), and each chunk stored in a bucket is deleted.
func (s *Store) closeSegments(segs map[string]*segment, committed bool) {
	for _, sg := range segs {
		if sg.key != "" {
			if !committed {
				s.dropChunk(sg)
			}
			releaseChunk(sg)
			continue
		}
		if !committed {
			sg.w.Reset(sg.f)
			sg.f.Truncate(sg.start)
		}
		sg.f.Close()
	}
}

// syncSegments flushes and fsyncs every segment written; with a bucket,
// it stores every chunk.
func (u *upsert) syncSegments() error {
	for _, sg := range u.segs {
		if sg.key != "" {
			if err := u.s.putChunk(u.ctx, sg); err != nil {
				return err
			}
			continue
		}
		if err := sg.w.Flush(); err != nil {
			return fmt.Errorf("store: writing vectors: %w", err)
		}
		if err := sg.f.Sync(); err != nil {
			return fmt.Errorf("store: syncing vectors: %w", err)
		}
	}
	return nil
}

// truncate cuts every segment back to its size before the upsert: its
// rows were never visible.
func (u *upsert) truncate() {
	for _, sg := range u.segs {
		if sg.key != "" {
			u.s.dropChunk(sg)
			continue
		}
		sg.w.Reset(sg.f)
		sg.f.Truncate(sg.start)
	}
}

// writeBatch writes a batch's rows (and the features it created) in tx.
func (u *upsert) writeBatch(tx *sql.Tx, b readBatch) error {
	if u.gen != 0 {
		// A collection deleted while its import runs fails the import now
		// rather than at its end.
		var exists int
		if err := tx.QueryRowContext(u.ctx, `SELECT COUNT(*) FROM collections WHERE id = ?`, u.col).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return &NotFoundError{Resource: "collection", ID: u.col}
		}
		if err := u.s.importLive(u.ctx, tx, u.gen); err != nil {
			return err
		}
	}
	for _, f := range b.fresh {
		if _, err := tx.ExecContext(u.ctx, `INSERT INTO features (collection_id, name, dim, file, gen, inline) VALUES (?, ?, ?, ?, ?, ?)`, u.col, f.Name, f.Dim, f.file, u.gen, boolInt(f.inline)); err != nil {
			return err
		}
	}
	// Sized for the whole batch up front: growing the map and the slices
	// document by document was garbage made on the writer's core (W4's
	// .npy through the service, six alternated pairs: 4.94 → 4.69 s mean).
	nvec := 0
	for _, d := range b.docs {
		nvec += len(d.vecs)
	}
	rb := &rowBatch{tx: tx, collectionID: u.col, gen: u.gen, now: u.now, st: &u.st, prepared: u.s.batch, arrays: u.s.d == dialectPostgres, conflicts: &u.conflicts,
		seen: make(map[string]bool, len(b.docs)), docIDs: make([]string, 0, len(b.docs)), seqs: make([]int64, 0, len(b.docs)), payloads: make([]any, 0, len(b.docs)), rows: make([]int64, 0, len(b.docs)),
		vecFeatures: make([]string, 0, nvec), vecIDs: make([]string, 0, nvec), vecRows: make([]int64, 0, nvec)}
	for _, d := range b.docs {
		u.seq++
		row := int64(-1)
		for _, v := range d.vecs {
			if u.known[v.feature].inline {
				row = v.row
			}
		}
		if err := rb.addDocument(u.ctx, d.id, u.seq, d.payload, row); err != nil {
			return err
		}
		for _, v := range d.vecs {
			if !u.known[v.feature].inline {
				rb.addVector(v.feature, d.id, v.row)
			}
		}
	}
	return rb.flush(u.ctx)
}

// batchDocuments is the most documents one multi-row VALUES statement of
// SQLite writes (7 parameters a document): it writes the documents of a
// batch that carry a payload (see insertJSON).
const batchDocuments = 256

// rowBatch collects document and vector rows and writes them with a few
// statements a batch, which cost far less per row than a statement each.
// SQLite takes the document ids of a batch as one JSON array (insertJSON);
// PostgreSQL one array per column, unnested (insertArrays: a statement of
// 8 parameters whatever the rows, where its backend parsed, planned and
// bound a VALUES list of 1,792 parameters per 256 documents, its one busy
// core during an import). A document id that repeats inside a batch
// flushes the batch first, so the inserted/updated counts stay right (and
// no INSERT meets one key twice).
type rowBatch struct {
	tx           *sql.Tx
	collectionID string
	gen          int64
	now          int64
	st           *UpsertStats
	arrays       bool
	// The documents collected: their ids, sequence numbers (consecutive,
	// ascending), payloads (nil or a JSON string) and the segment rows of
	// their inline vectors (-1: none).
	docIDs   []string
	seqs     []int64
	payloads []any
	rows     []int64
	// The vectors collected: feature, document id and segment row of each
	// (a feature's rows consecutive, in the order they were appended).
	vecFeatures []string
	vecIDs      []string
	vecRows     []int64
	args        []any    // a statement's arguments (SQLite)
	json        []byte   // a JSON array of document ids (SQLite)
	ids         []string // one feature's document ids (SQLite)
	seen        map[string]bool
	prepared    map[string]*sql.Stmt
	conflicts   *bool // the upsert's (PostgreSQL)
}

// addDocument collects a document; row is the segment row of its inline
// vector, -1 for none.
func (b *rowBatch) addDocument(ctx context.Context, id string, seq int64, payload any, row int64) error {
	if b.seen[id] {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	b.seen[id] = true
	b.docIDs = append(b.docIDs, id)
	b.seqs = append(b.seqs, seq)
	b.payloads = append(b.payloads, payload)
	b.rows = append(b.rows, row)
	return nil
}

func (b *rowBatch) addVector(feature, id string, row int64) {
	b.vecFeatures = append(b.vecFeatures, feature)
	b.vecIDs = append(b.vecIDs, id)
	b.vecRows = append(b.vecRows, row)
}

// Conflict clauses. In one transaction (gen 0) an existing document is
// updated in place. Staged (gen > 0), a document this import wrote is
// updated in place (it is still invisible), and any other existing one gets
// its replacement in the next_* columns, which readers see once the import
// commits: a payload not given (NULL), or an inline vector (row), keeps
// the current one.
const (
	documentsInPlace = ` ON CONFLICT (collection_id, document_id) DO UPDATE SET payload = COALESCE(excluded.payload, documents.payload), updated_at = excluded.updated_at,
		row = COALESCE(excluded.row, documents.row)`
	documentsStaged = ` ON CONFLICT (collection_id, document_id) DO UPDATE SET
		payload = CASE WHEN documents.gen = excluded.gen THEN COALESCE(excluded.payload, documents.payload) ELSE documents.payload END,
		row = CASE WHEN documents.gen = excluded.gen THEN COALESCE(excluded.row, documents.row) ELSE documents.row END,
		updated_at = CASE WHEN documents.gen = excluded.gen THEN excluded.updated_at ELSE documents.updated_at END,
		next_payload = CASE WHEN documents.gen = excluded.gen THEN NULL
			ELSE COALESCE(excluded.payload, CASE WHEN documents.next_gen = excluded.gen THEN documents.next_payload END) END,
		next_row = CASE WHEN documents.gen = excluded.gen THEN NULL
			ELSE COALESCE(excluded.row, CASE WHEN documents.next_gen = excluded.gen THEN documents.next_row END) END,
		next_updated_at = CASE WHEN documents.gen = excluded.gen THEN NULL ELSE excluded.updated_at END,
		next_gen = CASE WHEN documents.gen = excluded.gen THEN NULL ELSE excluded.gen END`
	vectorsInPlace = ` ON CONFLICT (collection_id, document_id, feature) DO UPDATE SET row = excluded.row`
	vectorsStaged  = ` ON CONFLICT (collection_id, document_id, feature) DO UPDATE SET
		row = CASE WHEN vectors.gen = excluded.gen THEN excluded.row ELSE vectors.row END,
		next_row = CASE WHEN vectors.gen = excluded.gen THEN NULL ELSE excluded.row END,
		next_gen = CASE WHEN vectors.gen = excluded.gen THEN NULL ELSE excluded.gen END`
)

// countInsertedSQL counts the documents a flush inserted: those that
// carry one of its sequence numbers. A document that existed keeps its own
// (the conflict clauses leave seq alone), older than any a flush gives, so
// what the count leaves out was updated. Counting after the INSERT reads a
// short range of documents_seq, where looking every id up before it cost a
// search of the primary key per document (BenchmarkUpsertVectors, row ids:
// 26.4 → 29.7 MB/s, means of three runs each, alternated).
const countInsertedSQL = `SELECT COUNT(*) FROM documents WHERE collection_id = ? AND seq BETWEEN ? AND ?`

func insertDocumentsSQL(n int, staged bool) string {
	conflict := documentsInPlace
	if staged {
		conflict = documentsStaged
	}
	return `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen, row) VALUES ` + placeholders(n, 8) + conflict
}

func insertVectorsSQL(n int, staged bool) string {
	conflict := vectorsInPlace
	if staged {
		conflict = vectorsStaged
	}
	return `INSERT INTO vectors (collection_id, feature, document_id, row, gen) VALUES ` + placeholders(n, 5) + conflict
}

// insertDocumentIDsSQL and insertVectorIDsSQL are SQLite's inserts of a
// batch's rows from a JSON array of document ids (see insertJSON): the
// collection id, the first sequence number and the first inline row, or
// NULL (documents), or the feature and its first segment row (vectors),
// the times and the generation once, and json_each gives each id and its
// index in the array. ("WHERE true" tells SQLite's parser that ON CONFLICT
// begins an upsert clause, not a join constraint.)
func insertDocumentIDsSQL(staged bool) string {
	conflict := documentsInPlace
	if staged {
		conflict = documentsStaged
	}
	return `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen, row)
		SELECT ?, value, ? + key, NULL, ?, ?, ?, ? + key FROM json_each(?) WHERE true` + conflict
}

func insertVectorIDsSQL(staged bool) string {
	conflict := vectorsInPlace
	if staged {
		conflict = vectorsStaged
	}
	return `INSERT INTO vectors (collection_id, feature, document_id, row, gen)
		SELECT ?, ?, value, ? + key, ? FROM json_each(?) WHERE true` + conflict
}

// insertDocumentArraysSQL and insertVectorArraysSQL are PostgreSQL's
// inserts of a batch's rows from arrays (see rowBatch): the collection id,
// times and generation once, then the columns; without onConflict, plain
// INSERTs (see insertArrays).
func insertDocumentArraysSQL(staged, onConflict bool) string {
	conflict := documentsInPlace
	if staged {
		conflict = documentsStaged
	}
	if !onConflict {
		conflict = ""
	}
	return `INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at, gen, row)
		SELECT ?, d, s, p, ?, ?, ?, r FROM unnest(?::text[], ?::bigint[], ?::text[], ?::bigint[]) AS t (d, s, p, r)` + conflict
}

func insertVectorArraysSQL(staged, onConflict bool) string {
	conflict := vectorsInPlace
	if staged {
		conflict = vectorsStaged
	}
	if !onConflict {
		conflict = ""
	}
	return `INSERT INTO vectors (collection_id, feature, document_id, row, gen)
		SELECT ?, f, d, r, ? FROM unnest(?::text[], ?::text[], ?::bigint[]) AS t (f, d, r)` + conflict
}

// prepareBatchStatements prepares SQLite's upsert statements on the writer,
// by text, so that the parser does not run on every batch (see
// rowBatch.stmt). PostgreSQL's writer needs none: its batches are array
// statements (see rowBatch), and pgx prepares and caches each statement
// text it runs.
func (s *Store) prepareBatchStatements(ctx context.Context) error {
	if s.d == dialectPostgres {
		return nil
	}
	s.batch = map[string]*sql.Stmt{}
	for _, staged := range []bool{false, true} {
		for _, q := range []string{countInsertedSQL, insertDocumentIDsSQL(staged), insertVectorIDsSQL(staged),
			insertDocumentsSQL(batchDocuments, staged), insertVectorsSQL(batchDocuments, staged)} {
			st, err := s.w.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			s.batch[q] = st
		}
	}
	return nil
}

// preparedRunner is what a statement runs through in a transaction.
type preparedRunner interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// adhoc runs a statement prepared for one use.
type adhoc struct {
	tx *sql.Tx
	q  string
}

func (a adhoc) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return a.tx.ExecContext(ctx, a.q, args...)
}

func (a adhoc) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return a.tx.QueryRowContext(ctx, a.q, args...)
}

// stmt returns the statement prepared for q, or q to prepare for one use.
func (b *rowBatch) stmt(ctx context.Context, q string) preparedRunner {
	if st := b.prepared[q]; st != nil {
		return b.tx.StmtContext(ctx, st)
	}
	return adhoc{b.tx, q}
}

// flush writes the collected rows. An existing document keeps its sequence
// number and creation time and takes the new payload when one is given.
func (b *rowBatch) flush(ctx context.Context) error {
	n := len(b.docIDs)
	if n == 0 {
		return nil
	}
	staged := b.gen != 0
	var err error
	if b.arrays {
		err = b.insertArrays(ctx, staged)
	} else {
		err = b.insertJSON(ctx, staged)
	}
	if err != nil {
		return err
	}
	var inserted int
	if err := b.stmt(ctx, countInsertedSQL).QueryRowContext(ctx, b.collectionID, b.seqs[0], b.seqs[n-1]).Scan(&inserted); err != nil {
		return err
	}
	b.st.Inserted += inserted
	b.st.Updated += n - inserted
	b.docIDs, b.seqs, b.payloads, b.rows = b.docIDs[:0], b.seqs[:0], b.payloads[:0], b.rows[:0]
	b.vecFeatures, b.vecIDs, b.vecRows = b.vecFeatures[:0], b.vecIDs[:0], b.vecRows[:0]
	clear(b.seen)
	return nil
}

// insertJSON writes the rows collected on SQLite. The documents, when none
// carries a payload, and each feature's vectors go in one statement each
// that takes their ids as one JSON array (insertDocumentIDsSQL): binding
// 7 parameters a document and 5 a vector cost a quarter of an import's
// writes (BenchmarkRowModels, 200,192 documents: 5.67 µs a document with
// VALUES lists, 3.86 from JSON arrays). Documents with payloads go in
// multi-row VALUES statements of batchDocuments rows. Sequence numbers,
// and a feature's rows, are consecutive (writeBatch appends them so): the
// statements give each row the first one plus its index.
func (b *rowBatch) insertJSON(ctx context.Context, staged bool) error {
	firstRow, rowsFit := inlineRun(b.rows)
	if !rowsFit || slices.ContainsFunc(b.payloads, func(p any) bool { return p != nil }) {
		for first := 0; first < len(b.docIDs); first += batchDocuments {
			last := min(first+batchDocuments, len(b.docIDs))
			b.args = b.args[:0]
			for i := first; i < last; i++ {
				var row any
				if b.rows[i] >= 0 {
					row = b.rows[i]
				}
				b.args = append(b.args, b.collectionID, b.docIDs[i], b.seqs[i], b.payloads[i], b.now, b.now, b.gen, row)
			}
			if _, err := b.stmt(ctx, insertDocumentsSQL(last-first, staged)).ExecContext(ctx, b.args...); err != nil {
				return err
			}
		}
	} else {
		b.json = appendJSONStrings(b.json[:0], b.docIDs)
		if _, err := b.stmt(ctx, insertDocumentIDsSQL(staged)).ExecContext(ctx, b.collectionID, b.seqs[0], b.now, b.now, b.gen, firstRow, string(b.json)); err != nil {
			return err
		}
	}
	// Each feature's vectors, features in the order of their first vector
	// (usually one).
	for i, f := range b.vecFeatures {
		if slices.Index(b.vecFeatures, f) != i {
			continue
		}
		first := b.vecRows[i]
		ids := b.ids[:0]
		for j := i; j < len(b.vecIDs); j++ {
			if b.vecFeatures[j] != f {
				continue
			}
			if b.vecRows[j] != first+int64(len(ids)) {
				return fmt.Errorf("store: internal error: the vectors of feature %q in a batch are not in consecutive segment rows", f)
			}
			ids = append(ids, b.vecIDs[j])
		}
		b.ids = ids
		b.json = appendJSONStrings(b.json[:0], ids)
		if _, err := b.stmt(ctx, insertVectorIDsSQL(staged)).ExecContext(ctx, b.collectionID, f, first, b.gen, string(b.json)); err != nil {
			return err
		}
	}
	return nil
}

// inlineRun tells whether the JSON statement can give a flush's documents
// their inline rows (-1: none) as its first row plus the index: when none
// has one (first is nil) or all are consecutive from rows[0] (first).
func inlineRun(rows []int64) (first any, ok bool) {
	for i, r := range rows {
		if (rows[0] < 0) != (r < 0) || rows[0] >= 0 && r != rows[0]+int64(i) {
			return nil, false
		}
	}
	if rows[0] < 0 {
		return nil, true
	}
	return rows[0], true
}

// appendJSONStrings appends the ids to dst as a JSON array of strings.
// Document ids hold no control characters (ValidID), so '"' and '\\' are
// the only bytes to escape.
func appendJSONStrings(dst []byte, ids []string) []byte {
	dst = append(dst, '[')
	for k, id := range ids {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		for i := 0; i < len(id); i++ {
			if c := id[i]; c == '"' || c == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, id[i])
		}
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// insertArrays writes the rows collected as one array per column
// (PostgreSQL; pgx sends Go slices as arrays, and a nil *string as NULL).
// It tries plain INSERTs first, inside a savepoint: PostgreSQL's ON
// CONFLICT inserts each row speculatively, which was a third of an
// import's time (BenchmarkUpsertVectors, row ids: 30 MB/s with the
// clauses, 43 without). A batch that meets an existing row (a unique
// violation) goes back to the savepoint and is written with the conflict
// clauses, as are the upsert's later batches.
func (b *rowBatch) insertArrays(ctx context.Context, staged bool) error {
	payloads := make([]*string, len(b.payloads))
	for i, p := range b.payloads {
		if p, ok := p.(string); ok {
			payloads[i] = &p
		}
	}
	rows := make([]*int64, len(b.rows))
	for i := range b.rows {
		if b.rows[i] >= 0 {
			rows[i] = &b.rows[i]
		}
	}
	if !*b.conflicts {
		if _, err := b.tx.ExecContext(ctx, `SAVEPOINT plain_rows`); err != nil {
			return err
		}
		err := b.execArrays(ctx, staged, false, payloads, rows)
		if err == nil {
			_, err = b.tx.ExecContext(ctx, `RELEASE SAVEPOINT plain_rows`)
			return err
		}
		if !isUniqueViolation(err) {
			return err
		}
		if _, err := b.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT plain_rows`); err != nil {
			return err
		}
		*b.conflicts = true
	}
	return b.execArrays(ctx, staged, true, payloads, rows)
}

// execArrays runs insertArrays' statements, with the conflict clauses
// (onConflict) or without.
func (b *rowBatch) execArrays(ctx context.Context, staged, onConflict bool, payloads []*string, rows []*int64) error {
	if _, err := b.tx.ExecContext(ctx, insertDocumentArraysSQL(staged, onConflict), b.collectionID, b.now, b.now, b.gen, b.docIDs, b.seqs, payloads, rows); err != nil {
		return err
	}
	if len(b.vecIDs) == 0 {
		return nil
	}
	_, err := b.tx.ExecContext(ctx, insertVectorArraysSQL(staged, onConflict), b.collectionID, b.gen, b.vecFeatures, b.vecIDs, b.vecRows)
	return err
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
		end := (sg.nextRow-sg.firstRow)*int64(sg.dim)*4 + int64(len(b))
		startWriteback(sg.f, sg.flushed, end-sg.flushed)
		sg.flushed, sg.pending = end, 0
	}
	return nil
}

// segmentFor opens (once per upsert) the segment of a feature; a new
// feature gets dimension dim and is written with the next batch.
func (u *upsert) segmentFor(name string, dim int) (*segment, error) {
	if sg, ok := u.segs[name]; ok {
		return sg, nil
	}
	f, ok := u.known[name]
	if !ok {
		file := featureFile(name)
		if u.fileOf != nil {
			file = u.fileOf(name)
		}
		// The collection's first feature is its inline one.
		f = Feature{Name: name, Dim: dim, file: file, inline: len(u.known) == 0}
		u.known[name] = f
		u.fresh = append(u.fresh, f)
	}
	if u.s.blob != nil {
		sg, err := u.bucketSegment(f, !ok)
		if err != nil {
			return nil, err
		}
		u.segs[name] = sg
		return sg, nil
	}
	dir := u.s.collectionDir(u.col)
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
	u.segs[name] = sg
	return sg, nil
}

// ValidID checks a caller-chosen document id: 1 to MaxDocumentIDLength
// bytes of UTF-8 without '/' or control characters, so that it can be
// written in a URL path (GET …/documents/{id}) and read back.
func ValidID(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case len(id) > MaxDocumentIDLength:
		return fmt.Sprintf("is longer than %d bytes", MaxDocumentIDLength)
	case !utf8.ValidString(id):
		return "is not valid UTF-8"
	}
	for _, r := range id {
		if r == '/' || r < 0x20 || r == 0x7f {
			return fmt.Sprintf("must not contain '/' or control characters (found %q)", r)
		}
	}
	return ""
}

// validateDocument checks a document read from a source (its ID already
// given or generated).
func validateDocument(idx int, doc *DocumentInput) error {
	if msg := ValidID(doc.ID); msg != "" {
		return &DocumentError{Index: idx, Field: []any{"document_id"}, Msg: "document_id " + msg}
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
		if len(vec) > MaxDimension {
			return &DocumentError{Index: idx, DocumentID: doc.ID, Field: []any{"features", name},
				Msg: fmt.Sprintf("feature %q has dimension %d, above the limit of %d", name, len(vec), MaxDimension)}
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
		WHERE v.collection_id = ? AND v.document_id = ?
		UNION ALL SELECT f.name, d.row, f.dim, f.file FROM features f JOIN documents d ON d.collection_id = f.collection_id
		WHERE f.inline = 1 AND d.collection_id = ? AND d.document_id = ? AND d.row IS NOT NULL ORDER BY 1`, collectionID, documentID, collectionID, documentID)
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
		if err := s.readRows(ctx, collectionID, Feature{Name: name, Dim: dim, file: file}, row, vec); err != nil {
			return d, err
		}
		d.Features[name] = vec
		d.Names = append(d.Names, name)
	}
	return d, rows.Err()
}

// readRows reads consecutive rows of feature f starting at row into dst (a
// multiple of f.Dim).
func (s *Store) readRows(ctx context.Context, collectionID string, f Feature, row int64, dst []float32) error {
	r, err := s.openRows(ctx, collectionID, f)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.readRows(row, dst); err != nil {
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
	where, args, err := whereClause(q.Filters, documentFields, s.d)
	if err != nil {
		return Page[Document]{}, err
	}
	order := "ORDER BY d.seq" // insertion order, indexed
	if q.Sort != nil {
		if order, err = orderBy(q.Sort, documentFields, Sort{}, "d.seq", s.d); err != nil {
			return Page[Document]{}, err
		}
	}
	search, sargs := searchClause(q.Search, []string{"d.document_id", "d.payload"})
	cond := fmt.Sprintf("d.collection_id = ? AND (%s) AND %s", where, search)
	all := append(append([]any{collectionID}, args...), sargs...)
	page := Page[Document]{Total: -1, Results: []Document{}}
	snap, err := s.snapshot(ctx) // the page and its total from one state
	if err != nil {
		return page, err
	}
	defer snap.Rollback()
	if q.IncludeTotal {
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents d WHERE `+cond, all...).Scan(&page.Total); err != nil {
			return page, err
		}
	}
	concat := "group_concat(feature, char(10))"
	if s.d == dialectPostgres {
		concat = "string_agg(feature, chr(10))"
	}
	rows, err := snap.QueryContext(ctx, `SELECT d.document_id, d.payload, d.created_at, d.updated_at,
		(SELECT `+concat+` FROM (SELECT v.feature FROM vectors v WHERE v.collection_id = d.collection_id AND v.document_id = d.document_id
			UNION ALL SELECT f.name FROM features f WHERE f.collection_id = d.collection_id AND f.inline = 1 AND d.row IS NOT NULL) AS names)
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
// vice versa). An empty request picks the only feature. The feature's
// Count is not filled (counting reads every vector's index entry).
func (s *Store) ResolveFeature(ctx context.Context, collectionID, requested string) (Feature, error) {
	feats, err := s.features(ctx, s.r, collectionID, false)
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
	// release unmaps X when MapVectors mapped it (nil otherwise).
	release func() error
}

// Close releases X when MapVectors mapped it from a segment file; X must
// not be used after. For vectors read into memory it does nothing. It may
// be called more than once, on any copy of v.
func (v Vectors) Close() error {
	if v.release == nil {
		return nil
	}
	return v.release()
}

// DefaultMapBytes is Options.MapBytes's default: MapVectors maps vectors
// of 64 MiB and more.
const DefaultMapBytes = 64 << 20

// LoadVectors reads every vector of a feature (of the documents matching
// filters, a filter tree over document fields as in Query.Filters) in the
// order they were written. Runs of consecutive rows are read straight into
// the result, each with one read (in pieces read at once when long; see
// fileRows.readRows), so an unfiltered, never-updated collection loads
// with one sequential read of its segment file.
func (s *Store) LoadVectors(ctx context.Context, collectionID string, f Feature, filters json.RawMessage) (Vectors, error) {
	return s.loadVectors(ctx, collectionID, f, filters, false)
}

// MapVectors is LoadVectors, but when the rows it returns are one run of a
// local segment file (a collection as a bulk import leaves it, clustered
// unfiltered) of at least Options.MapBytes, X is a private mapping of
// the file rather than a copy: loading costs no read into fresh memory
// (the first load of 1,000,000 × 128 rows took 0.25–0.3 s of its 0.7–0.8 s
// in that read), and the rows stay in the page cache, shared, instead of
// being held twice. Writing to X changes only this copy. The caller must
// Close the result when done with X.
func (s *Store) MapVectors(ctx context.Context, collectionID string, f Feature, filters json.RawMessage) (Vectors, error) {
	return s.loadVectors(ctx, collectionID, f, filters, s.mapBytes >= 0)
}

// loadVectors is LoadVectors, mapping (see MapVectors) when mapping is set.
func (s *Store) loadVectors(ctx context.Context, collectionID string, f Feature, filters json.RawMessage, mapping bool) (Vectors, error) {
	where, args, err := whereClause(filters, documentFields, s.d)
	if err != nil {
		return Vectors{}, err
	}
	// The table itself rather than the reader view, with the view's rules
	// spelled out, so that the rows come in the order of the index on row;
	// only a replacement not yet folded into its row (see Upsert) can be
	// out of order, and is sorted below. An inline feature's rows are
	// read from the documents, in the order of the index on seq (the
	// order they were imported in), in ranges of seq; a replaced vector
	// is out of order there too.
	q := `SELECT v.document_id AS id, CASE WHEN v.next_gen IS NULL OR v.next_gen IN (SELECT gen FROM imports) THEN v.row ELSE v.next_row END AS r FROM main.vectors v`
	if f.inline {
		q = `SELECT v.document_id AS id, ` + inlineRowSQL("v") + ` AS r FROM main.documents v`
	}
	if where != "TRUE" {
		q += ` JOIN documents d ON d.collection_id = v.collection_id AND d.document_id = v.document_id`
	}
	key := []any{collectionID, f.Name}
	if f.inline {
		q += ` WHERE v.collection_id = ? AND v.gen NOT IN (SELECT gen FROM imports) AND ` + inlineRowSQL("v") + ` IS NOT NULL AND (` + where + `) AND v.seq >= ? AND v.seq < ? ORDER BY v.seq`
		key = key[:1]
	} else {
		q += ` WHERE v.collection_id = ? AND v.feature = ? AND v.gen NOT IN (SELECT gen FROM imports) AND (` + where + `) AND v.row >= ? AND v.row < ? ORDER BY v.row`
	}
	// The database hands over a range's ids and rows as two strings (see
	// loadChunkRows), not a result row each.
	agg := `SELECT count(*), coalesce(group_concat(id, char(31)), ''), coalesce(group_concat(r, ','), '') FROM (` + q + `) AS t`
	if s.d == dialectPostgres {
		agg = `SELECT count(*), coalesce(string_agg(id, chr(31)), ''), coalesce(string_agg(r::text, ','), '') FROM (` + q + `) AS t`
	}
	// A large feature is read in row ranges on several reader connections
	// at once, and the ranges concatenated are the order of the whole.
	txs, last, err := s.loadSnapshots(ctx, collectionID, f)
	if err != nil {
		return Vectors{}, err
	}
	parts := len(txs)
	type part struct {
		ids  []string
		rows []int64
		err  error
	}
	results := make([]part, parts)
	var wg sync.WaitGroup
	for p := range results {
		lo, hi := last.Int64*int64(p)/int64(parts), last.Int64*int64(p+1)/int64(parts)
		if p == parts-1 {
			hi = last.Int64 + 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := &results[p]
			for from := lo; from < hi && out.err == nil; from += loadChunkRows {
				var n int
				var ids, rows string
				if out.err = txs[p].QueryRowContext(ctx, agg, append(append(slices.Clip(key), args...), from, min(from+loadChunkRows, hi))...).Scan(&n, &ids, &rows); out.err == nil {
					out.ids, out.rows, out.err = appendLoaded(out.ids, out.rows, n, ids, rows)
				}
			}
		}()
	}
	wg.Wait()
	for _, tx := range txs { // done with the database: let checkpoints pass the snapshot
		tx.Rollback()
	}
	out := Vectors{D: f.Dim}
	var rowIdx []int64
	for p, r := range results {
		if r.err != nil {
			return Vectors{}, r.err
		}
		if p == 0 {
			out.IDs, rowIdx = r.ids, r.rows
			continue
		}
		out.IDs, rowIdx = append(out.IDs, r.ids...), append(rowIdx, r.rows...)
	}
	if !slices.IsSorted(rowIdx) {
		perm := make([]int, len(rowIdx))
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(rowIdx[a], rowIdx[b]) })
		ids, rs := make([]string, len(perm)), make([]int64, len(perm))
		for i, p := range perm {
			ids[i], rs[i] = out.IDs[p], rowIdx[p]
		}
		out.IDs, rowIdx = ids, rs
	}
	out.N = len(rowIdx)
	if out.N == 0 {
		out.X = []float32{}
		return out, nil
	}
	file, err := s.openRows(ctx, collectionID, f)
	if err != nil {
		return Vectors{}, err
	}
	defer file.Close()
	if fr, ok := file.(*fileRows); ok && mapping && rowIdx[out.N-1]-rowIdx[0] == int64(out.N-1) &&
		int64(out.N)*int64(out.D)*4 >= int64(s.mapBytes) {
		x, release, err := mapRows(fr.f, rowIdx[0], out.N, out.D)
		if err != nil {
			return Vectors{}, fmt.Errorf("store: mapping the vectors of %s: %w", collectionID, err)
		}
		if x != nil {
			out.X, out.release = x, release
			return out, nil
		}
	}
	out.X = make([]float32, out.N*out.D)
	for i := 0; i < out.N; {
		j := i + 1
		for j < out.N && rowIdx[j] == rowIdx[j-1]+1 {
			j++
		}
		if err := file.readRows(rowIdx[i], out.X[i*out.D:j*out.D]); err != nil {
			return Vectors{}, fmt.Errorf("store: vectors of %s rows %d–%d: %w", collectionID, rowIdx[i], rowIdx[j-1], err)
		}
		i = j
		if err := ctx.Err(); err != nil {
			return Vectors{}, err
		}
	}
	return out, nil
}

// loadChunkRows is the most segment rows whose ids LoadVectors reads in
// one statement. The ids and rows come as two strings (ids hold no
// control characters, see ValidID, so char(31) separates them), which
// keeps the cost of a row inside the database: a result row each cost
// the driver's locks, type checks and copies, about two thirds of the
// time (BenchmarkLoadVectors, 1,000,000 ids: SQLite 0.44 → 0.27 s,
// PostgreSQL 0.43 → 0.33 s). The bound keeps a statement's strings to
// some 20 MB.
const loadChunkRows = 1 << 20

// appendLoaded appends the n ids of a chunk, separated by char(31) in ids,
// and their rows, comma-separated decimals in rows, to the slices. The
// ids are substrings of one string.
func appendLoaded(idList []string, rowList []int64, n int, ids, rows string) ([]string, []int64, error) {
	if n == 0 {
		return idList, rowList, nil
	}
	idList, rowList = slices.Grow(idList, n), slices.Grow(rowList, n)
	for i := range n {
		id, rest, found := strings.Cut(ids, "\x1f")
		row, more, _ := strings.Cut(rows, ",")
		r, err := strconv.ParseInt(row, 10, 64)
		if found != (i < n-1) || err != nil {
			return idList, rowList, fmt.Errorf("store: internal error: %d ids and rows read as %d and %d bytes do not split (%v)", n, len(ids), len(rows), err)
		}
		idList, rowList = append(idList, id), append(rowList, r)
		ids, rows = rest, more
	}
	return idList, rowList, nil
}

// LoadVectors reads a feature of parallelLoadRows rows or more in up to
// maxLoadParts row ranges at once.
var parallelLoadRows int64 = 100_000 // a variable for tests

const maxLoadParts = 4

// loadSnapshots begins the read transactions LoadVectors reads a feature's
// rows in, one per part, and reads the feature's last row (NULL: no rows;
// of an inline feature, the collection's last seq) in them. All of them see one state of the database: parts that saw
// different states would each see an import committed or not, or a
// replaced vector at its old row or (folded) at its new one, so a document
// could come twice or not at all. On PostgreSQL the first transaction
// exports its snapshot and the others take it (SET TRANSACTION SNAPSHOT).
// On SQLite a transaction's snapshot is taken by its first read: the
// parts' first reads are made while no commit can run (commitMu), and when
// a commit ran since the first part's, the load keeps to the first part.
//
// There is one part unless the feature has parallelLoadRows rows or more
// and no other load is gathering connections (loadSlot); then one per
// core, at most maxLoadParts. The caller rolls every transaction back.
func (s *Store) loadSnapshots(ctx context.Context, collectionID string, f Feature) (txs []*sql.Tx, last sql.NullInt64, err error) {
	rollback := func(from int) {
		for _, tx := range txs[from:] {
			tx.Rollback()
		}
		txs = txs[:from]
	}
	defer func() {
		if err != nil {
			rollback(0)
		}
	}()
	lastRow, key := `SELECT MAX(row) FROM main.vectors WHERE collection_id = ? AND feature = ?`, []any{collectionID, f.Name}
	if f.inline {
		lastRow, key = `SELECT MAX(seq) FROM main.documents WHERE collection_id = ?`, key[:1]
	}
	first, err := s.snapshot(ctx)
	if err != nil {
		return nil, last, err
	}
	txs = append(txs, first)
	s.commitMu.RLock()
	err = first.QueryRowContext(ctx, lastRow, key...).Scan(&last)
	commits := s.commits
	s.commitMu.RUnlock()
	if err != nil {
		return txs, last, err
	}
	parts := min(runtime.GOMAXPROCS(0), maxLoadParts)
	if last.Int64 < parallelLoadRows || parts < 2 {
		return txs, last, nil
	}
	select {
	case s.loadSlot <- struct{}{}:
	default:
		return txs, last, nil // another load is gathering connections; one part will do
	}
	defer func() { <-s.loadSlot }()
	var exported string
	if s.d == dialectPostgres {
		if err := first.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&exported); err != nil {
			return txs, last, fmt.Errorf("store: %w", err)
		}
		if strings.Trim(exported, "0123456789ABCDEFabcdef-") != "" {
			return txs, last, fmt.Errorf("store: unexpected snapshot name %q", exported)
		}
	}
	if afterFirstSnapshot != nil {
		afterFirstSnapshot()
	}
	for len(txs) < parts {
		tx, err := s.snapshot(ctx)
		if err != nil {
			return txs, last, err
		}
		txs = append(txs, tx)
		if s.d == dialectPostgres {
			// A parameter is not allowed here; the name was checked above.
			if _, err := tx.ExecContext(ctx, `SET TRANSACTION SNAPSHOT '`+exported+`'`); err != nil {
				return txs, last, fmt.Errorf("store: %w", err)
			}
		}
	}
	if s.d == dialectSQLite {
		s.commitMu.RLock()
		defer s.commitMu.RUnlock()
		if s.commits != commits {
			rollback(1)
			return txs, last, nil
		}
	}
	for _, tx := range txs[1:] {
		var again sql.NullInt64
		if err := tx.QueryRowContext(ctx, lastRow, key...).Scan(&again); err != nil {
			return txs, last, err
		}
		if again != last {
			return txs, last, fmt.Errorf("store: the parts of a vector load saw different states (last row %v, then %v)", last, again)
		}
	}
	return txs, last, nil
}

// afterFirstSnapshot, when set (by tests), is called between the first
// part's snapshot and the others'.
var afterFirstSnapshot func()

// PayloadTexts returns, for every document of the collection with a
// string at any of the payload paths (dot paths into the payload,
// "content.title"; default "text"), those strings joined by newlines, keyed
// by document id. Values of other types (numbers, lists, objects) are not
// text and are skipped; so are paths with a '"' in a field name.
func (s *Store) PayloadTexts(ctx context.Context, collectionID string, paths []string) (map[string]string, error) {
	return s.payloadTexts(ctx, collectionID, paths, nil)
}

// PayloadTextsOf is PayloadTexts for the given documents only (ids the
// collection lacks are left out of the map); it reads them in batches of
// 500, so any number of ids may be asked for.
func (s *Store) PayloadTextsOf(ctx context.Context, collectionID string, paths, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for lo := 0; lo < len(ids); lo += 500 {
		batch, err := s.payloadTexts(ctx, collectionID, paths, ids[lo:min(len(ids), lo+500)])
		if err != nil {
			return nil, err
		}
		for id, t := range batch {
			out[id] = t
		}
	}
	return out, nil
}

// payloadTexts reads the texts of every document (ids nil) or of ids.
func (s *Store) payloadTexts(ctx context.Context, collectionID string, paths, ids []string) (map[string]string, error) {
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
	only := ""
	if ids != nil {
		only = " AND document_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
		for _, id := range ids {
			args = append(args, id)
		}
		if len(ids) == 0 {
			return map[string]string{}, nil
		}
	}
	rows, err := s.r.QueryContext(ctx, payloadTextsSQL(strings.Join(parts, ", "), only), args...)
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

// payloadTextsSQL selects the document id and cols (expressions of payload)
// of the documents with a visible payload of the collection that is the
// query's first argument, and the condition only. It reads the table
// itself rather than the reader view, with the view's rules spelled out,
// so that the documents with a payload are found through
// documents_payload: a collection of bare vectors (a million, imported
// from .npy) is answered without reading its rows.
func payloadTextsSQL(cols, only string) string {
	return `SELECT document_id, ` + cols + ` FROM (SELECT document_id,
		CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN payload ELSE COALESCE(next_payload, payload) END AS payload
		FROM main.documents WHERE collection_id = ? AND (payload IS NOT NULL OR next_payload IS NOT NULL) AND gen NOT IN (SELECT gen FROM imports)` + only + `) visible
		WHERE payload IS NOT NULL`
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
		// The document readers see: not one an import is staging, and with
		// its committed replacement, if not folded yet, folded first.
		stmt, err := tx.PrepareContext(ctx, `UPDATE documents SET
			payload = json_patch(COALESCE(CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN payload ELSE COALESCE(next_payload, payload) END, '{}'), ?),
			updated_at = ?,
			next_payload = CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN next_payload END,
			next_updated_at = CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN next_updated_at END,
			row = CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN row ELSE COALESCE(next_row, row) END,
			next_row = CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN next_row END,
			next_gen = CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM imports) THEN next_gen END
			WHERE collection_id = ? AND document_id = ? AND gen NOT IN (SELECT gen FROM imports)`)
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
	where, args, err := whereClause(filters, documentFields, s.d)
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
