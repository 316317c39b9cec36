// Package store persists clusterd's state in a data directory: metadata,
// runs and the job queue in an embedded SQLite database (modernc.org/sqlite,
// pure Go), document vectors in append-only segment files that load at disk
// speed, and run artifacts as Parquet files.
//
// Durability: SQLite runs in WAL mode with synchronous=FULL, so a committed
// transaction survives a process kill; vector rows are written and fsynced
// before the transaction that references them commits, so a crash can leave
// unreferenced bytes at the end of a segment, never a reference to missing
// data. One process owns a data directory at a time (an exclusive lock file),
// which is what lets Open requeue the jobs a killed process left running.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
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

// Store is an open data directory. It is safe for concurrent use.
type Store struct {
	dir  string
	w    *sql.DB // the single writer connection: writes queue here instead of failing with SQLITE_BUSY
	r    *sql.DB // readers, concurrent with the writer under WAL
	lock *os.File
	// segMu serialises appends to vector segment files.
	segMu sync.Mutex
	// namespaces caches resolved namespaces by the reference used.
	namespaces sync.Map
	// gen counts committed writes; latest caches LatestResult answers
	// tagged with the generation they were read at (see LatestResult).
	gen    atomic.Uint64
	latest latestCache
	now    func() time.Time
}

// Open opens (creating if needed) the store in dir and migrates its schema.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: creating %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: %s: %w", dir, ErrLocked)
	}
	s := &Store{dir: dir, lock: lock, now: func() time.Time { return time.Now().UTC() }}
	path := filepath.Join(dir, "clusterd.db")
	pragmas := "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	if s.w, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate"); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)"); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s.r.SetMaxOpenConns(8)
	return s, nil
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
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
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
}

// migrate applies the migrations not yet applied, each in a transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var v int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for i := v; i < len(migrations); i++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
	}
	return nil
}
