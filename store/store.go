// Package store persists clusterd's state in a data directory: metadata,
// runs and the job queue in an embedded SQLite database (modernc.org/sqlite,
// pure Go) or, shared by several processes, in PostgreSQL (pgx; see
// OpenWith), and document vectors in append-only segment files that load at
// disk speed. (Run artifacts are package artifacts'.)
//
// Durability: SQLite runs in WAL mode with synchronous=FULL, so a committed
// transaction survives a process kill; vector rows are written and fsynced
// before the transaction that makes them visible commits, so a crash can
// leave unreferenced bytes at the end of a segment, never a visible
// reference to missing data. One process owns a data directory at a time
// (an exclusive lock file), which is what lets Open requeue the jobs a
// killed process left running and tidy what it left half done: staged
// import rows, segment bytes no committed row references, spooled uploads
// (tmp/) and the directories of deleted collections and runs.
//
// Writes: SQLite has one writer, so writes queue for one connection. A
// write waits at most WriteWait for it (then fails with an error wrapping
// context.DeadlineExceeded), and no write holds it long: an upsert larger
// than one batch is staged (see Upsert) and commits batch by batch, its
// rows invisible to readers until one short final commit.
//
// Rows: a document's row holds the segment row of its vector of the
// collection's inline feature (the first feature it got), and the vectors
// table a row per vector of any other feature (see migrationInlineVectors).
//
// Visibility: rows of documents, vectors and features carry the import
// generation that wrote them (gen, 0 for a single-transaction upsert) and,
// for a document or vector an import replaces, the replacement in next_*
// columns. The reader connections see the tables through TEMP views of the
// same names that hide rows of pending imports (table imports) and show a
// replacement once its import committed, so every read query (this
// package's or anyone's) sees all of an import or none of it.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/blob"

	"modernc.org/sqlite"
)

// ErrNotFound is matched (errors.Is) by every *NotFoundError.
var ErrNotFound = errors.New("not found")

// ErrConflict is matched by every *ConflictError.
var ErrConflict = errors.New("conflict")

// ErrLocked reports that another process holds the data directory.
var ErrLocked = errors.New("data directory is in use by another clusterd process")

// NotFoundError names the missing resource.
type NotFoundError struct {
	Resource string // "collection", "cluster", "run", "document", "task", "namespace"
	ID       string
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %s not found", e.Resource, e.ID) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError reports a uniqueness or state conflict.
type ConflictError struct {
	Resource string
	Msg      string
}

func (e *ConflictError) Error() string        { return e.Msg }
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// TextNULError reports a write of text holding U+0000 to PostgreSQL, whose
// text cannot hold it (SQLite keeps it). JSON fields are unaffected: they
// are stored as JSON text, where it is the escape \u0000.
type TextNULError struct{}

func (e *TextNULError) Error() string {
	return "a text field holds the character U+0000, which PostgreSQL cannot store (JSON fields such as payloads and metadata may hold it)"
}

// Store is an open data directory. It is safe for concurrent use.
type Store struct {
	dir  string
	d    dialect  // the database's SQL dialect (see dialect.go)
	w    *sql.DB  // the single writer connection: writes queue here instead of failing with SQLITE_BUSY
	r    *sql.DB  // readers, concurrent with the writer under WAL, through the visibility views
	lock *os.File // SQLite: the data directory's lock
	// locks holds PostgreSQL advisory locks (see shared.go); instance is
	// this store's instance id, locked on instanceConn while it is open.
	locks        *sql.DB
	instance     int32
	instanceConn *sql.Conn
	lockHolders  sync.Map // backend pids of the lock connections holding a collection lock
	// notify wakes this process's job waiters (see SubscribeJobs).
	notify jobNotifier
	// writeWait bounds the wait for the writer connection (WriteWait).
	writeWait time.Duration
	// cols serialises upserts per collection (segment appends, staging).
	cols collectionLocks
	// blob holds the vector segments as chunks when set (see segments.go).
	blob blob.Bucket
	// mapBytes is Options.MapBytes, its default applied.
	mapBytes int
	// outputMu serialises the writes and deletes of clusters' output
	// collections (see outputs.go), which may create a collection.
	outputMu sync.Mutex
	// leases are the job leases this process holds (see Claim).
	leases leaseBook
	// stagedBatchHook, when set (by tests), is called with a staged
	// batch's number of documents inside its transaction, after its rows.
	stagedBatchHook func(docs int)
	// batch holds SQLite's prepared upsert statements by text
	// (prepareBatchStatements).
	batch map[string]*sql.Stmt
	// stmts caches read statements by text (cachedQuery); nstmts counts them.
	stmts  sync.Map
	nstmts atomic.Int32
	// namespaces caches resolved namespaces by the reference used.
	namespaces sync.Map
	// commitMu (SQLite) is held for writing by every commit of a write
	// transaction, which adds one to commits, and for reading while
	// LoadVectors takes the snapshots of its parts (see loadSnapshots).
	commitMu sync.RWMutex
	commits  uint64
	// ckpt copies the write-ahead log into the database file (SQLite).
	ckpt *checkpointer
	// loadSlot lets one LoadVectors at a time gather the connections of
	// its parts: two loads each holding some while waiting for more could
	// wait for each other forever.
	loadSlot chan struct{}
	// gen counts committed writes; latest caches LatestResult answers
	// tagged with the generation they were read at (see LatestResult).
	gen    atomic.Uint64
	latest latestCache
	now    func() time.Time
	// fold runs foldCommitted after a staged import commits (see foldLater).
	fold backgroundFold
	// foldHook, when set (by tests), is called with the background fold's
	// context before each of its rounds.
	foldHook func(ctx context.Context)
}

// WriteWait is how long a write waits for the database's one writer
// connection before it fails with an error wrapping
// context.DeadlineExceeded (the API answers 503).
const WriteWait = 10 * time.Second

// Options say where a store keeps its state.
type Options struct {
	// Dir is the data directory: vector segments, run artifacts, spooled
	// uploads, and (with SQLite) the database and its lock file. One
	// process uses a directory at a time (an exclusive lock file).
	Dir string
	// DatabaseURL names the database for metadata, runs and the queue:
	// empty (or "sqlite:") for SQLite in Dir, the default; or
	// postgres://user@host:port/db?… (also postgresql://) for PostgreSQL
	// through pgx, which many processes may share.
	DatabaseURL string
	// Blob, when set, holds the vector segments as immutable chunks (see
	// segments.go) instead of files in Dir. A store whose vectors are in a
	// bucket cannot be opened without it (ErrWrongPlace). Processes sharing
	// a database must share the bucket too.
	Blob blob.Bucket
	// MapBytes is the size from which MapVectors maps a run of a local
	// segment file instead of reading it: 0 means DefaultMapBytes, a
	// negative value never.
	MapBytes int
}

// Open opens (creating if needed) the SQLite store in dir, migrates its
// schema and tidies what a killed process left (see Recover).
func Open(dir string) (*Store, error) { return OpenWith(Options{Dir: dir}) }

// OpenWith opens the store o describes (see Options), migrates its schema
// and tidies what a killed process left in the data directory.
func OpenWith(o Options) (*Store, error) {
	dir := o.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: creating %s: %w", dir, err)
	}
	s := &Store{dir: dir, blob: o.Blob, writeWait: WriteWait, now: func() time.Time { return time.Now().UTC() }, mapBytes: o.MapBytes, loadSlot: make(chan struct{}, 1)}
	s.fold.ctx, s.fold.stop = context.WithCancel(context.Background())
	if s.mapBytes == 0 {
		s.mapBytes = DefaultMapBytes
	}
	var err error
	switch {
	case o.DatabaseURL == "" || o.DatabaseURL == "sqlite:":
		if err := s.lockDir(); err != nil {
			return nil, err
		}
		err = s.openSQLite()
	case strings.HasPrefix(o.DatabaseURL, "postgres://") || strings.HasPrefix(o.DatabaseURL, "postgresql://"):
		// No lock file: processes sharing the database may share the
		// directory too (see shared.go).
		s.d = dialectPostgres
		err = s.openPostgres(o.DatabaseURL)
	default:
		err = fmt.Errorf("store: unsupported database URL %q: use postgres://… or leave it empty for SQLite in the data directory", redactURL(o.DatabaseURL))
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareBatchStatements(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.recover(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// lockDir takes the data directory's exclusive lock file (SQLite: one
// process per directory).
func (s *Store) lockDir() error {
	lock, err := os.OpenFile(filepath.Join(s.dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return fmt.Errorf("store: %s: %w", s.dir, ErrLocked)
	}
	s.lock = lock
	return nil
}

// writerPragmas tune the writer connection for imports: statement
// journals (which every multi-row upsert opens) in memory rather than in a
// temporary file, and a 64 MiB page cache, so the index pages an import
// appends to stay in memory between its batches (readers keep SQLite's
// default 2 MB each). Together 15–25% of an import's time
// (BenchmarkUpsertVectors). The writer checkpoints the log only past
// checkpointPages (see checkpointer), and the log file is cut back to
// 8 MiB when SQLite rewinds it (else it kept the size an import grew it to).
var writerPragmas = fmt.Sprintf("&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", checkpointPages, 8<<20)

// openSQLite opens the data directory's SQLite database: one writer
// connection, reader connections with the visibility views.
func (s *Store) openSQLite() error {
	path := filepath.Join(s.dir, "clusterd.db")
	pragmas := "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	var err error
	if s.w, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+writerPragmas+"&_txlock=immediate"); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	if err := s.migrate(context.Background()); err != nil {
		return err
	}
	if _, err := s.w.Exec(plannerStats); err != nil {
		return fmt.Errorf("store: planner statistics: %w", err)
	}
	rc, err := sqlite.NewConnector("file:" + path + "?" + pragmas)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s.r = sql.OpenDB(viewConnector{rc})
	s.r.SetMaxOpenConns(8)
	// Kept open: a new connection reads the schema and creates the views,
	// which costs more than most queries (database/sql keeps 2 by default).
	s.r.SetMaxIdleConns(8)
	s.ckpt, err = startCheckpointer("file:" + path + "?" + pragmas)
	return err
}

// plannerStats tells SQLite's query planner (sqlite_stat1, read when a
// connection opens) the shape of the vectors table's indexes, which it
// cannot guess: without statistics it assumes an equality on the first
// column matches about ten rows, and looked a document's vectors up with
// the covering vectors_row_cover on collection_id alone (reading every
// vector of the collection for each document: listing 10,000 documents of
// a 20,000-document collection took two minutes) instead of the primary
// key (collection_id, document_id, feature). The figures are relative
// sizes (a million vectors, 100,000 per collection and feature, one per
// document and feature), not measurements; a real ANALYZE replaces them.
// ANALYZE of the small imports table creates sqlite_stat1 when it is
// missing. The primary key of a WITHOUT ROWID table is listed under the
// table's own name.
const plannerStats = `ANALYZE imports;
INSERT OR REPLACE INTO sqlite_stat1 (tbl, idx, stat) VALUES
	('vectors', 'vectors_row_cover', '1000000 100000 100000 1 1 1 1 1'),
	('vectors', 'vectors', '1000000 100000 1 1');`

// readerViews hide what readers must not see (see the package doc): TEMP
// views shadow the tables of the same names on reader connections, where
// unqualified names resolve to temp first. Each hides rows written by an
// import that has not committed (its gen is in imports) and shows a
// document's or vector's replacement (next_*) once its import committed.
// A document's row is that of its vector of the collection's inline
// feature (migrationInlineVectors; NULL: none), which vectors does not
// list: readers of a feature's vectors read documents for an inline one
// (Feature.inline). A view of both, a UNION ALL, was planned as the whole
// union materialized for a correlated subquery (ListDocuments').
var readerViews = `
CREATE TEMP VIEW documents AS SELECT collection_id, document_id, seq,
	CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM main.imports) THEN payload ELSE COALESCE(next_payload, payload) END AS payload,
	created_at,
	CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM main.imports) THEN updated_at ELSE next_updated_at END AS updated_at,
	` + inlineRowSQL("main.documents") + ` AS row
	FROM main.documents WHERE gen NOT IN (SELECT gen FROM main.imports);
CREATE TEMP VIEW vectors AS SELECT collection_id, feature, document_id,
	CASE WHEN next_gen IS NULL OR next_gen IN (SELECT gen FROM main.imports) THEN row ELSE next_row END AS row
	FROM main.vectors WHERE gen NOT IN (SELECT gen FROM main.imports);
CREATE TEMP VIEW features AS SELECT collection_id, name, dim, file, inline
	FROM main.features WHERE gen NOT IN (SELECT gen FROM main.imports);
PRAGMA query_only = 1;`

// viewConnector opens reader connections: the visibility views, then
// query_only.
type viewConnector struct{ driver.Connector }

func (c viewConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("store: the sqlite driver's connections cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, readerViews, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: preparing a reader connection: %w", err)
	}
	return conn, nil
}

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes the database and releases the directory lock.
func (s *Store) Close() error {
	s.stopFolds()
	var errs []error
	s.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	for _, st := range s.batch {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.ckpt.close())
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	s.notify.close()
	errs = append(errs, s.closeLocks())
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// maxReadStmts bounds the read statements cachedQuery keeps prepared.
const maxReadStmts = 256

// cachedQuery runs a read query through a statement prepared once per text
// (up to maxReadStmts texts, then unprepared): SQLite takes about as long
// to parse a list query as to run it on a small table, and lists repeat the
// same few texts (their values are bound parameters).
func (s *Store) cachedQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	v, ok := s.stmts.Load(query)
	if !ok {
		if s.nstmts.Load() >= maxReadStmts {
			return s.r.QueryContext(ctx, query, args...)
		}
		st, err := s.r.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
			st.Close()
			v = prev
		} else {
			s.nstmts.Add(1)
			v = st
		}
	}
	return v.(*sql.Stmt).QueryContext(ctx, args...)
}

// cachedQueryRow is cachedQuery for one row.
func (s *Store) cachedQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	v, ok := s.stmts.Load(query)
	if !ok {
		if s.nstmts.Load() >= maxReadStmts {
			return s.r.QueryRowContext(ctx, query, args...)
		}
		st, err := s.r.PrepareContext(ctx, query)
		if err != nil {
			return s.r.QueryRowContext(ctx, query, args...) // reports the same error
		}
		if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
			st.Close()
			v = prev
		} else {
			s.nstmts.Add(1)
			v = st
		}
	}
	return v.(*sql.Stmt).QueryRowContext(ctx, args...)
}

// writer takes the writer connection, waiting at most s.writeWait (or
// until ctx ends); the caller closes it to give it back.
func (s *Store) writer(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, s.writeWait)
	defer cancel()
	c, err := s.w.Conn(wctx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("store: the writer stayed busy for %v: %w", s.writeWait, err)
		}
		return nil, fmt.Errorf("store: waiting for the writer: %w", err)
	}
	return c, nil
}

// exec runs one write statement outside a transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c, err := s.writer(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := c.ExecContext(ctx, query, args...)
	if err == nil {
		s.gen.Add(1)
		s.ckpt.committed()
		// Committed already (one statement): the other processes hear of
		// it a moment later.
		err = s.notifyWrite(ctx, c)
	}
	return res, err
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil. Waiting for the writer is bounded (writer); the transaction
// itself runs under ctx.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txMode(ctx, true, fn)
}

// txMode is tx; durable false commits without syncing the WAL
// (synchronous=NORMAL for this transaction only): a process kill keeps the
// transaction (the WAL is in the OS's cache), a power loss may roll it back
// with the database intact. Only for writes that a later durable commit
// covers (the next sync writes every earlier WAL frame) and that are
// harmless to lose until then: staged import batches.
func (s *Store) txMode(ctx context.Context, durable bool, fn func(*sql.Tx) error) error {
	c, err := s.writer(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if !durable && s.d == dialectSQLite {
		if _, err := c.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		defer c.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`)
	}
	t, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if !durable && s.d == dialectPostgres {
		if _, err := t.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			t.Rollback()
			return fmt.Errorf("store: %w", err)
		}
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	if err := s.notifyWrite(ctx, t); err != nil {
		t.Rollback()
		return fmt.Errorf("store: %w", err)
	}
	if s.d == dialectSQLite {
		s.commitMu.Lock()
		if err = t.Commit(); err == nil {
			s.commits++
		}
		s.commitMu.Unlock()
		s.ckpt.committed()
	} else {
		err = t.Commit()
	}
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	s.gen.Add(1)
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

var migrations = []string{
	`CREATE TABLE namespaces (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE collections (
		id TEXT PRIMARY KEY,
		namespace_id TEXT NOT NULL,
		name TEXT NOT NULL,
		description TEXT,
		metadata TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		UNIQUE (namespace_id, name)
	);
	CREATE TABLE features (
		collection_id TEXT NOT NULL,
		name TEXT NOT NULL,
		dim INTEGER NOT NULL,
		file TEXT NOT NULL,
		PRIMARY KEY (collection_id, name)
	);
	CREATE TABLE documents (
		collection_id TEXT NOT NULL,
		document_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		payload TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (collection_id, document_id)
	);
	CREATE INDEX documents_seq ON documents (collection_id, seq);
	CREATE TABLE vectors (
		collection_id TEXT NOT NULL,
		feature TEXT NOT NULL,
		document_id TEXT NOT NULL,
		row INTEGER NOT NULL,
		PRIMARY KEY (collection_id, document_id, feature)
	);
	CREATE INDEX vectors_row ON vectors (collection_id, feature, row);
	CREATE TABLE clusters (
		id TEXT PRIMARY KEY,
		namespace_id TEXT NOT NULL,
		name TEXT,
		description TEXT,
		config TEXT NOT NULL,
		metadata TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE UNIQUE INDEX clusters_name ON clusters (namespace_id, name) WHERE name IS NOT NULL;
	CREATE TABLE runs (
		run_id TEXT PRIMARY KEY,
		task_id TEXT NOT NULL UNIQUE,
		cluster_id TEXT NOT NULL,
		namespace_id TEXT NOT NULL,
		status TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		started_at INTEGER,
		completed_at INTEGER,
		num_clusters INTEGER NOT NULL DEFAULT 0,
		num_points INTEGER NOT NULL DEFAULT 0,
		silhouette REAL,
		duration_ms REAL,
		error_message TEXT,
		search_text TEXT NOT NULL DEFAULT '',
		progress REAL,
		cancel_requested INTEGER NOT NULL DEFAULT 0,
		result TEXT NOT NULL
	);
	CREATE INDEX runs_cluster ON runs (cluster_id, created_at);
	CREATE TABLE jobs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		run_id TEXT NOT NULL UNIQUE,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		lease_owner TEXT,
		lease_until INTEGER NOT NULL DEFAULT 0,
		enqueued_at INTEGER NOT NULL,
		last_error TEXT
	);
	CREATE INDEX jobs_state ON jobs (state, id);
	CREATE TABLE idempotency (
		namespace_id TEXT NOT NULL,
		cluster_id TEXT NOT NULL,
		key TEXT NOT NULL,
		run_id TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (namespace_id, cluster_id, key)
	);`,
	// Why a run failed (runner.FailureKinds), for the failure analytics
	// (null for runs that did not fail or failed before this column
	// existed), and the index of the namespace-wide task list.
	`ALTER TABLE runs ADD COLUMN failure_kind TEXT;
	CREATE INDEX runs_namespace ON runs (namespace_id, created_at);`,
	// Cluster templates made from clusters (the built-in system templates
	// are not stored). tags is a JSON array of strings; configuration the
	// cluster definition without its collections, name, description and
	// metadata.
	`CREATE TABLE cluster_templates (
		template_id TEXT PRIMARY KEY,
		namespace_id TEXT NOT NULL,
		name TEXT NOT NULL,
		description TEXT NOT NULL,
		category TEXT,
		tags TEXT NOT NULL DEFAULT '[]',
		scope TEXT NOT NULL,
		is_public INTEGER NOT NULL DEFAULT 0,
		is_active INTEGER NOT NULL DEFAULT 1,
		configuration TEXT NOT NULL,
		requirements TEXT NOT NULL DEFAULT '[]',
		use_cases TEXT NOT NULL DEFAULT '[]',
		source_resource_id TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX cluster_templates_namespace ON cluster_templates (namespace_id, created_at);
	CREATE INDEX cluster_templates_public ON cluster_templates (is_public) WHERE is_public = 1;`,
	// The output collections a cluster owns (see outputs.go): output_key is
	// "" for a single output collection, else the feature URI.
	`CREATE TABLE cluster_outputs (
		collection_id TEXT PRIMARY KEY,
		cluster_id TEXT NOT NULL,
		output_key TEXT NOT NULL,
		position INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		UNIQUE (cluster_id, output_key)
	);`,
	triggerMigration, // store/triggers.go: triggers and their history
	migrationImports,
	migrationVectorsRowCover,
	migrationLeaseToken,
	migrationSegments, // store/segments.go: vector chunks on a bucket
	migrationArtifactsToken,
	migrationDocumentsPayload,
	migrationDropGenIndexes,
	migrationImportAborting,
	migrationDropRowids,
	migrationInlineVectors,
}

// migrationInlineVectors lets a collection's documents hold the segment
// row of their vector of one feature, the collection's inline feature (the
// first it gets; features created before this migration stay in vectors):
// documents.row, and next_row for a staged replacement under the
// document's next_gen, like next_payload. A vector of another feature
// keeps a row of its own in vectors. An imported document then writes
// the B-trees of its document row alone, where a vectors row added two
// more (the table's and vectors_row_cover): BenchmarkRowModels, 200,192
// documents, 3.70 → 1.98 µs a document; W4's .npy through the service
// (bench/service) 109 → 194–199 MB/s (docs/PERFORMANCE.md).
const migrationInlineVectors = `ALTER TABLE features ADD COLUMN inline INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE documents ADD COLUMN row INTEGER;
	ALTER TABLE documents ADD COLUMN next_row INTEGER;`

// vectorCountSQL counts the vectors readers see of the feature f (a row
// of the features view): the documents with a row, of an inline feature.
const vectorCountSQL = `CASE WHEN f.inline = 1 THEN (SELECT COUNT(*) FROM documents d WHERE d.collection_id = f.collection_id AND d.row IS NOT NULL)
	ELSE (SELECT COUNT(*) FROM vectors v WHERE v.collection_id = f.collection_id AND v.feature = f.name) END`

// inlineRowSQL is the row of a document's inline vector that readers see
// (NULL: none), of the documents table under alias t: its replacement's
// once its import committed (a replacement without one keeps the row),
// else its own.
func inlineRowSQL(t string) string {
	return `CASE WHEN ` + t + `.next_gen IS NULL OR ` + t + `.next_gen IN (SELECT gen FROM main.imports) THEN ` + t + `.row ELSE COALESCE(` + t + `.next_row, ` + t + `.row) END`
}

// migrationDropRowids drops the rowids no statement needs, each one more
// B-tree written per imported row. SQLite stores the vectors table in its
// primary key's B-tree alone (WITHOUT ROWID); its documents keep theirs
// (the table's key, and a payload is best kept out of the key's B-tree).
// PostgreSQL drops the rowid identity column (and its unique index) that
// every table gets (pgDDL) from vectors and documents. The batched
// cleanups select by primary key (foldSQL). The rebuild copies
// every vector row once, in the migration's transaction, when an older
// data directory opens. BenchmarkUpsertVectors (200,000 × 128, row ids),
// alternated: SQLite 75–77 → 80–81.5 MB/s; PostgreSQL 25.0–25.7 with the
// vectors' rowid dropped, 33.5 with rowBatch's arrays too, 36.8–37.7 with
// the documents' rowid dropped as well (see docs/PERFORMANCE.md).
const migrationDropRowids = `CREATE TABLE vectors_by_key (
		collection_id TEXT NOT NULL,
		feature TEXT NOT NULL,
		document_id TEXT NOT NULL,
		row INTEGER NOT NULL,
		gen INTEGER NOT NULL DEFAULT 0,
		next_gen INTEGER,
		next_row INTEGER,
		PRIMARY KEY (collection_id, document_id, feature)
	) WITHOUT ROWID;
	INSERT INTO vectors_by_key (collection_id, feature, document_id, row, gen, next_gen, next_row)
		SELECT collection_id, feature, document_id, row, gen, next_gen, next_row FROM vectors;
	DROP TABLE vectors;
	ALTER TABLE vectors_by_key RENAME TO vectors;
	CREATE INDEX vectors_next ON vectors (next_gen) WHERE next_gen IS NOT NULL;
	CREATE INDEX vectors_row_cover ON vectors (collection_id, feature, row, document_id, gen, next_gen, next_row);`

// pgDropRowids is migrationDropRowids on PostgreSQL.
const pgDropRowids = `ALTER TABLE vectors DROP COLUMN rowid;
	ALTER TABLE documents DROP COLUMN rowid;`

// migrationImportAborting marks an import whose removal has begun (see
// abortImport): its writes and its commit check the mark, so that none
// lands after the removal looked for the import's rows.
const migrationImportAborting = `ALTER TABLE imports ADD COLUMN aborting INTEGER NOT NULL DEFAULT 0`

// migrationDropGenIndexes drops the indexes by import generation, which
// only an import's removal read: abortImport now finds an import's
// documents by sequence number, past the seq_floor its imports row keeps,
// and its vectors through its documents. Each was one more B-tree written
// per imported document or vector: without them, BenchmarkUpsertVectors
// (200,000 × 128) ran at 44.0–46.6 MB/s against 33.2–40.9 (means 45.2 and
// 37.5, five runs each, alternated), and the same import on PostgreSQL at
// 14.4–14.5 MB/s against 13.0–13.1.
const migrationDropGenIndexes = `ALTER TABLE imports ADD COLUMN seq_floor INTEGER;
	DROP INDEX documents_gen;
	DROP INDEX vectors_gen;`

// migrationDocumentsPayload indexes the documents with a payload, visible
// or staged (see payloadTexts): without it, labelling a run's clusters
// read every row of a collection of bare vectors to find none (0.34–0.46 s
// for 1,000,000 documents). Documents without a payload are not in it, so
// imports of vectors alone do not pay for it.
const migrationDocumentsPayload = `CREATE INDEX documents_payload ON documents (collection_id) WHERE payload IS NOT NULL OR next_payload IS NOT NULL;`

// migrationArtifactsToken records which claim of a run wrote the artifacts
// its result describes (see Run.ArtifactsKey).
const migrationArtifactsToken = `ALTER TABLE runs ADD COLUMN artifacts_token INTEGER`

// migrationLeaseToken fences job leases (see Claim): every claim of a job
// gets a new token, and a write on the job's behalf only goes through
// while the job still carries the writer's token.
// lease_instance is the store instance that claimed it (PostgreSQL; see
// RecoverOrphans).
const migrationLeaseToken = `ALTER TABLE jobs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN lease_instance INTEGER NOT NULL DEFAULT 0;`

// migrationVectorsRowCover makes the index on a feature's rows cover what
// LoadVectors reads (the document id and the visibility columns), so that a
// run reads its vectors' ids from the index alone, without a lookup of each
// row in the table (measured on 1,000,000 vectors: about half the time).
const migrationVectorsRowCover = `CREATE INDEX vectors_row_cover ON vectors (collection_id, feature, row, document_id, gen, next_gen, next_row);
	DROP INDEX vectors_row;`

// migrationImports stages imports (see Upsert and the package doc): the
// generation columns, the table of imports not yet committed, and the
// indexes that find one import's rows.
const migrationImports = `ALTER TABLE documents ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE documents ADD COLUMN next_gen INTEGER;
	ALTER TABLE documents ADD COLUMN next_payload TEXT;
	ALTER TABLE documents ADD COLUMN next_updated_at INTEGER;
	ALTER TABLE vectors ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE vectors ADD COLUMN next_gen INTEGER;
	ALTER TABLE vectors ADD COLUMN next_row INTEGER;
	ALTER TABLE features ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE imports (
		gen INTEGER PRIMARY KEY AUTOINCREMENT,
		collection_id TEXT NOT NULL,
		started_at INTEGER NOT NULL
	);
	CREATE INDEX documents_gen ON documents (collection_id, gen);
	CREATE INDEX documents_next ON documents (next_gen) WHERE next_gen IS NOT NULL;
	CREATE INDEX vectors_gen ON vectors (collection_id, feature, gen);
	CREATE INDEX vectors_next ON vectors (next_gen) WHERE next_gen IS NOT NULL;`
