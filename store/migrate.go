package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Migrations run through goose (github.com/pressly/goose/v3) on both
// dialects: migration i of the migrations slice is goose version i+1, run
// in a transaction of its own and recorded in goose's table
// goose_db_version. SQLite runs the slice's text; PostgreSQL runs
// pgMigration(i), the same migration in its dialect. Add a migration as a
// new element at the end of the slice; when pgDDL does not translate it,
// add its PostgreSQL text to pgMigrationOverrides under the same index.
//
// Data directories made before goose kept their versions in the table
// schema_version (one row per applied migration); the first open with
// goose copies them into goose's table, so nothing is applied twice.

// gooseTable is goose's version table.
const gooseTable = "goose_db_version"

// pgMigrationOverrides are PostgreSQL's texts of the migrations pgDDL does
// not translate, by index in migrations.
var pgMigrationOverrides = map[int]string{
	slices.Index(migrations, migrationDropRowids): pgDropRowids,
}

// pgMigration is migration i in PostgreSQL's dialect.
func pgMigration(i int) string {
	if o, ok := pgMigrationOverrides[i]; ok {
		return o
	}
	return pgDDL(migrations[i])
}

// gooseMigrations are the migrations as goose Go migrations for d.
func gooseMigrations(d dialect) []*goose.Migration {
	out := make([]*goose.Migration, len(migrations))
	for i := range migrations {
		text := migrations[i]
		if d == dialectPostgres {
			text = pgMigration(i)
		}
		out[i] = goose.NewGoMigration(int64(i+1), &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, text)
			return err
		}}, nil)
	}
	return out
}

// runGoose applies the migrations not yet applied to db.
func runGoose(ctx context.Context, d dialect, db *sql.DB, opts ...goose.ProviderOption) error {
	gd := goose.DialectSQLite3
	if d == dialectPostgres {
		gd = goose.DialectPostgres
	}
	opts = append(opts, goose.WithGoMigrations(gooseMigrations(d)...), goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(gd, db, nil, opts...)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migrate brings the SQLite database to the newest schema.
func (s *Store) migrate(ctx context.Context) error {
	if err := bridgeSchemaVersion(ctx, s.w); err != nil {
		return err
	}
	return runGoose(ctx, dialectSQLite, s.w)
}

// bridgeSchemaVersion copies the versions of a data directory made before
// goose (table schema_version) into goose's table, once.
func bridgeSchemaVersion(ctx context.Context, db *sql.DB) error {
	var old, gooseMade int
	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'),
		(SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?)`, gooseTable).Scan(&old, &gooseMade); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if old == 0 || gooseMade != 0 {
		return nil
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("store: migrate: the database is at schema version %d, newer than this clusterd's %d", v, len(migrations))
	}
	st, err := database.NewStore(database.DialectSQLite3, gooseTable)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if err := st.CreateVersionTable(ctx, tx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for i := 0; i <= v; i++ { // goose records version 0 when it creates its table
		if err := st.Insert(ctx, tx, database.InsertRequest{Version: int64(i)}); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migratePostgres brings a PostgreSQL database to the newest schema. Many
// processes may start at once: goose holds a PostgreSQL advisory lock
// while it migrates, so one migrates and the others wait and find nothing
// left to do.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS main`); err != nil && !isUniqueViolation(err) {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return runGoose(ctx, dialectPostgres, db, goose.WithSessionLocker(locker))
}
