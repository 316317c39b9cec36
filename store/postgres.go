package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/clusterd/clusterd/internal/ids"
)

// PostgreSQL layout: the tables live in the schema "main" (the name
// SQLite gives the database's own tables, so statements that say
// main.documents mean the same on both), and the visibility views of the
// package doc in the schema "clusterd_read". Writer connections search
// main; reader connections search clusterd_read first, so that, as on
// SQLite, unqualified reads of documents, vectors and features see the
// views, and are read-only (default_transaction_read_only).

// pgViewsLock is the advisory lock key held while a process replaces the
// views, so processes starting together do not race.
const pgViewsLock = 0x636c7573746572 // "cluster"

// pgReaders bounds a process's reader connections (8 served the
// latest-execution endpoint 3,600 req/s under wrk -c64, 16 4,300). A
// process uses at most 1 writer + pgReaders + 16 lock connections + 1
// listener.
const pgReaders = 16

// openPostgres connects to the PostgreSQL database at rawURL, migrates it
// and creates the reader views.
func (s *Store) openPostgres(rawURL string) error {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("store: database URL %s: %w", redactURL(rawURL), err)
	}
	ctx := context.Background()
	mcfg := cfg.Copy()
	mcfg.RuntimeParams["search_path"] = "main"
	mdb := stdlib.OpenDB(*mcfg)
	defer mdb.Close()
	if err := mdb.PingContext(ctx); err != nil {
		return fmt.Errorf("store: connecting to %s: %w", redactURL(rawURL), err)
	}
	if err := migratePostgres(ctx, mdb); err != nil {
		return err
	}
	if err := createPGViews(ctx, mdb); err != nil {
		return err
	}
	// Prepared statements (the upsert's batches, cachedQuery's reads) are
	// planned for their values every time: a generic plan made while a
	// table was small (a seq scan) stays cached as it grows, and made an
	// import's batches quadratic (measured: 120,000 documents in 82 s, a
	// 256-id IN list scanning the whole table per batch).
	cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	wcfg := cfg.Copy()
	wcfg.RuntimeParams["search_path"] = "main"
	s.w = sql.OpenDB(rebindConnector{stdlib.GetConnector(*wcfg)})
	// One writer connection per process, as on SQLite: the store's writes
	// rely on running one at a time within a process (see the package
	// doc); writes of different processes are ordered by PostgreSQL's
	// row locks.
	s.w.SetMaxOpenConns(1)
	rcfg := cfg.Copy()
	rcfg.RuntimeParams["search_path"] = "clusterd_read, main"
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	s.r = sql.OpenDB(rebindConnector{stdlib.GetConnector(*rcfg)})
	s.r.SetMaxOpenConns(pgReaders)
	s.r.SetMaxIdleConns(pgReaders)
	s.notify.cfg = cfg.Copy()
	s.notify.wrote = func() { s.gen.Add(1) }
	s.notify.self = ids.New("store")
	s.notify.start()
	return s.openLocks(cfg)
}

// createPGViews (re)creates the visibility views (readerViews in
// PostgreSQL's dialect) under an advisory lock.
func createPGViews(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: views: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgViewsLock)); err != nil {
		return fmt.Errorf("store: views: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS clusterd_read`); err != nil {
		return fmt.Errorf("store: views: %w", err)
	}
	for _, v := range []string{"documents", "vectors", "features"} {
		if _, err := tx.ExecContext(ctx, `DROP VIEW IF EXISTS clusterd_read.`+v); err != nil {
			return fmt.Errorf("store: views: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, pgFunctions); err != nil {
		return fmt.Errorf("store: functions: %w", err)
	}
	views := strings.ReplaceAll(readerViews, "CREATE TEMP VIEW ", "CREATE VIEW clusterd_read.")
	views = strings.ReplaceAll(views, "PRAGMA query_only = 1;", "")
	if _, err := tx.ExecContext(ctx, views); err != nil {
		return fmt.Errorf("store: views: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: views: %w", err)
	}
	return nil
}

// isUniqueViolation reports a PostgreSQL unique_violation (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// redactURL drops the password from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// Dialect names the store's database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.String() }
