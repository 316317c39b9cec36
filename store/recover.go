package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// collectionLocks serialises upserts per collection (their segment appends
// and staging), so that upserts into different collections run side by side.
type collectionLocks struct {
	mu sync.Mutex
	m  map[string]*colLock
}

type colLock struct {
	mu    sync.Mutex
	refs  int      // holders and waiters, guarded by collectionLocks.mu
	after []func() // run by the holder at unlock, guarded by collectionLocks.mu
}

// lock takes the collection's lock and returns its unlock.
func (c *collectionLocks) lock(id string) func() {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*colLock{}
	}
	l := c.m[id]
	if l == nil {
		l = &colLock{}
		c.m[id] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		c.mu.Lock()
		after := l.after
		l.after = nil
		c.mu.Unlock()
		for _, fn := range after {
			fn()
		}
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.m, id)
		}
		c.mu.Unlock()
		l.mu.Unlock()
	}
}

// whenFree runs fn under the collection's lock: now when no upsert holds
// or waits for it, otherwise when the current holder unlocks (so a delete
// does not wait for a long import to end).
func (c *collectionLocks) whenFree(id string, fn func()) {
	c.mu.Lock()
	if l, ok := c.m[id]; ok {
		l.after = append(l.after, fn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	unlock := c.lock(id)
	fn()
	unlock()
}

// cleanupBatch is how many rows one cleanup transaction changes, which
// bounds how long it holds the writer.
const cleanupBatch = 5000

// batched runs a statement that changes at most cleanupBatch rows (its
// "LIMIT" placeholder is replaced) in transactions of its own until one
// changes nothing.
func (s *Store) batched(ctx context.Context, query string, args ...any) error {
	query = strings.Replace(query, "LIMIT", fmt.Sprintf("LIMIT %d", cleanupBatch), 1)
	for {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// abortImport removes what import gen staged in collection col: the rows
// it inserted, the replacements it staged, the features it created, and
// last its imports row (so that a cleanup cut short is redone by Open).
// Segment bytes are the caller's (or Open's) to truncate.
//
// No index is kept by generation (each would be one more B-tree written
// per imported row). The import's new documents are found by sequence
// number: it took numbers above its collection's highest (seq_floor, kept
// in its imports row), and upserts into one collection run one at a time,
// so they are among the documents past seq_floor (documents_seq). The
// documents it touched are found by their staged replacement (next_gen,
// documents_next), and its vectors through both: a vector is written with
// its document, so a vector of generation gen belongs to a new document or
// to a touched one. Each batch of documents is settled with its vectors in
// one transaction, so a cleanup cut short leaves no vector behind.
//
// It first marks the import as being removed (imports.aborting), in a
// transaction of its own: from then on neither a batch of the import's
// writes nor its commit goes through (importLive, Upsert), so no row of
// the import lands after the removal looked for its rows (a batch already
// on its way, or a writer that lost its collection lock while another
// process removed its import). An import no longer registered (committed,
// or removed already) is left alone.
func (s *Store) abortImport(ctx context.Context, gen int64, col string) error {
	var marked int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE imports SET aborting = 1 WHERE gen = ?`, gen)
		if err != nil {
			return err
		}
		marked, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: removing staged import %d: %w", gen, err)
	}
	if marked == 0 {
		return nil
	}
	var floor sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT seq_floor FROM imports WHERE gen = ?`, gen).Scan(&floor)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: removing staged import %d: %w", gen, err)
	}
	if !floor.Valid {
		floor.Int64 = -1 // registered before seq_floor existed: every document is looked at
	}
	if s.d == dialectPostgres {
		// The import's rows may be unknown to the planner's statistics,
		// which would then scan the collection for each batch's ids.
		for _, t := range []string{"documents", "vectors"} {
			if _, err := s.exec(ctx, `ANALYZE main.`+t); err != nil {
				return fmt.Errorf("store: removing staged import %d: %w", gen, err)
			}
		}
	}
	err = s.documentBatches(ctx, importedDocumentsSQL, []any{col, floor.Int64, gen},
		func(tx *sql.Tx, in string, ids []any) error {
			args := append([]any{col}, ids...)
			if _, err := tx.ExecContext(ctx, `DELETE FROM vectors WHERE collection_id = ? AND document_id IN `+in, args...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM documents WHERE collection_id = ? AND document_id IN `+in, args...)
			return err
		})
	if err == nil {
		err = s.documentBatches(ctx, touchedDocumentsSQL, []any{gen, col},
			func(tx *sql.Tx, in string, ids []any) error {
				// A feature the document did not have: a row of its own.
				if _, err := tx.ExecContext(ctx, `DELETE FROM vectors WHERE collection_id = ? AND gen = ? AND document_id IN `+in, append([]any{col, gen}, ids...)...); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `UPDATE documents SET next_gen = NULL, next_payload = NULL, next_updated_at = NULL, next_row = NULL
					WHERE collection_id = ? AND document_id IN `+in, append([]any{col}, ids...)...)
				return err
			})
	}
	if err == nil {
		err = s.batched(ctx, dropVectorReplacementsSQL, gen)
	}
	if err != nil {
		return fmt.Errorf("store: removing staged import %d: %w", gen, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM features WHERE collection_id = ? AND gen = ?`, col, gen); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM imports WHERE gen = ?`, gen)
		return err
	})
}

// errImportRemoved fails an import whose registration was removed, or is
// being removed, while it ran (see abortImport): a conflict with the
// removal, which the client may answer by sending the import again.
var errImportRemoved = &ConflictError{Resource: "import",
	Msg: "the import was removed while it ran (another process took it for a dead process's); nothing of it was kept: send it again"}

// importLive checks, in a transaction of an import's writes, that import
// gen is still registered and not being removed; on PostgreSQL it holds a
// share lock on its imports row until tx ends, so that abortImport's mark
// waits for the batch to commit (and then finds its rows) or the batch
// sees the mark. SQLite's writes are one at a time anyway.
func (s *Store) importLive(ctx context.Context, tx *sql.Tx, gen int64) error {
	q := `SELECT aborting FROM imports WHERE gen = ?`
	if s.d == dialectPostgres {
		q += ` FOR SHARE`
	}
	var aborting int
	err := tx.QueryRowContext(ctx, q, gen).Scan(&aborting)
	if errors.Is(err, sql.ErrNoRows) || err == nil && aborting != 0 {
		return errImportRemoved
	}
	return err
}

// The documents an import inserted (collection, seq_floor, generation) and
// those it staged a replacement for (generation, collection), as
// abortImport reads them (TestQueryPlans checks their indexes).
const (
	importedDocumentsSQL = `SELECT document_id FROM documents WHERE collection_id = ? AND seq > ? AND gen = ? ORDER BY seq LIMIT`
	touchedDocumentsSQL  = `SELECT document_id FROM documents WHERE next_gen = ? AND collection_id = ? LIMIT`
)

// idsPerStatement bounds the document ids one statement of documentBatches
// lists (SQLite and PostgreSQL bound a statement's parameters).
const idsPerStatement = 500

// documentBatches reads at most cleanupBatch document ids with sel (its
// "LIMIT" placeholder replaced) and hands them to settle in groups of at
// most idsPerStatement, as a placeholder list ("(?, ?, …)") and its
// arguments, all in one transaction; then again in a new transaction,
// until sel finds nothing. settle must change the documents so that sel
// no longer finds them.
func (s *Store) documentBatches(ctx context.Context, sel string, args []any, settle func(tx *sql.Tx, in string, ids []any) error) error {
	sel = strings.Replace(sel, "LIMIT", fmt.Sprintf("LIMIT %d", cleanupBatch), 1)
	for {
		var n int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			found, err := queryStrings(ctx, tx, sel, args...)
			if err != nil {
				return err
			}
			ids := make([]any, len(found))
			for i, id := range found {
				ids[i] = id
			}
			n = len(ids)
			for lo := 0; lo < len(ids); lo += idsPerStatement {
				part := ids[lo:min(len(ids), lo+idsPerStatement)]
				if err := settle(tx, placeholders(len(part), 1), part); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// foldCommitted moves the replacements of committed imports into their
// rows, which changes nothing readers see (the views show a committed
// replacement already) and keeps the next_* columns empty between imports:
// those of collection col, or with col "" of every collection. It reads
// first, and writes only when a replacement is left (a write costs a
// commit, and the usual answer is none).
func (s *Store) foldCommitted(ctx context.Context, col string) error {
	return errors.Join(s.foldTable(ctx, "documents", col), s.foldTable(ctx, "vectors", col))
}

// foldTable folds table's committed replacements (of collection col, or
// of all with col ""), a generation at a time, oldest first.
func (s *Store) foldTable(ctx context.Context, table, col string) error {
	scoped := col != ""
	var args []any
	if scoped {
		args = append(args, col)
	}
	for {
		var gen int64
		err := s.r.QueryRowContext(ctx, oldestFoldableSQL(table, scoped), args...).Scan(&gen)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.batched(ctx, foldSQL(table, scoped), append([]any{gen, gen}, args...)...); err != nil {
			return err
		}
	}
}

// dropVectorReplacementsSQL drops the vector replacements an import
// staged; foldSQL folds those of a committed import into their rows (with
// inCollection, those of the collection its last parameter names); a
// batch (batched) at a time. Rows are picked by primary key: vectors have
// no rowid, nor documents on PostgreSQL (migrationDropRowids).
//
// oldestFoldableSQL finds the oldest generation with a committed
// replacement left. The replacements are found through the partial
// indexes of rows with one (documents_next, vectors_next), a collection's
// too: its own rows may be far more than the store's replacements
// (TestQueryPlans).
//
// A fold updates a row only while it holds the replacement of the
// generation it folds (its first parameter; compared as an expression, so
// that the rows are found by key from the selection, not by scanning the
// generation's in the partial index for each batch): on PostgreSQL a
// fold that waited for a row's lock rechecks the row's new version against
// that, so it leaves alone a row another process folded meanwhile
// (without the check it wrote the emptied next_* columns into the row:
// TestConcurrentFoldsOnPostgreSQL) or folded and then gave a new import's
// staged replacement, which must not be folded before that import
// commits.
const dropVectorReplacementsSQL = `UPDATE vectors SET next_gen = NULL, next_row = NULL
		WHERE (collection_id, document_id, feature) IN (SELECT collection_id, document_id, feature FROM vectors WHERE next_gen = ? LIMIT)`

func foldSQL(table string, inCollection bool) string {
	if table == "documents" {
		return `UPDATE documents SET payload = COALESCE(next_payload, payload), updated_at = next_updated_at, row = COALESCE(next_row, row),
		next_gen = NULL, next_payload = NULL, next_updated_at = NULL, next_row = NULL
		WHERE next_gen + 0 = ? AND (collection_id, document_id) IN (SELECT collection_id, document_id FROM documents
			WHERE next_gen = ?` + inCollectionSQL(inCollection) + ` LIMIT)`
	}
	return `UPDATE vectors SET row = next_row, next_gen = NULL, next_row = NULL
		WHERE next_gen + 0 = ? AND (collection_id, document_id, feature) IN (SELECT collection_id, document_id, feature FROM vectors
			WHERE next_gen = ?` + inCollectionSQL(inCollection) + ` LIMIT)`
}

func oldestFoldableSQL(table string, inCollection bool) string {
	return `SELECT next_gen FROM main.` + table + ` WHERE next_gen IS NOT NULL AND next_gen NOT IN (SELECT gen FROM imports)` +
		inCollectionSQL(inCollection) + ` ORDER BY next_gen LIMIT 1`
}

// inCollectionSQL narrows a selection of replacements to a collection. The
// column is compared as an expression (concatenated with the empty
// string), which no index serves, so that the planners search the partial
// index of replacements, not every row of the collection.
func inCollectionSQL(inCollection bool) string {
	if inCollection {
		return ` AND collection_id || '' = ?`
	}
	return ""
}

// backgroundFold is the state of the fold that follows staged imports:
// one goroutine at a time, stopped by Close (stopFolds).
type backgroundFold struct {
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running bool // a goroutine is folding
	again   bool // an import committed since it began: it goes round once more
}

// foldLater folds the replacements of committed imports on a goroutine of
// its own, so that a staged import answers once its rows are visible
// rather than once they are also folded: re-importing a million documents
// spent as long folding as writing (about 10 s each on W4). Until the fold
// is done, readers see the replacements through the views, as they do the
// moment the import commits, and the next write into the collection
// folds what is left of it before it writes (upsert.start,
// WriteClusterOutput), so no replacement of a committed import is ever
// overwritten. Errors leave the work for the next write or Open, as a
// fold cut short by Close does.
func (s *Store) foldLater() {
	f := &s.fold
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return // closing (see stopFolds)
	}
	if f.running {
		f.again = true
		return
	}
	f.running = true
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			if s.foldHook != nil {
				s.foldHook(f.ctx)
			}
			s.foldCommitted(f.ctx, "")
			f.mu.Lock()
			if !f.again || f.ctx.Err() != nil {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.again = false
			f.mu.Unlock()
		}
	}()
}

// stopFolds stops the background fold and waits for it; none starts after.
// Stopping under the lock orders it with foldLater's start.
func (s *Store) stopFolds() {
	s.fold.mu.Lock()
	s.fold.stop()
	s.fold.mu.Unlock()
	s.fold.wg.Wait()
}

// recover tidies what a killed process left, before anything else uses the
// store (Open holds the directory lock): spooled uploads in tmp/, staged
// imports, unfolded replacements, segment bytes past the last row a
// committed row references, and the files of deleted collections and runs.
func (s *Store) recover(ctx context.Context) error {
	if err := s.tidyTemp(ctx); err != nil {
		return err
	}
	if err := os.MkdirAll(s.TempDir(), 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	type pending struct {
		gen int64
		col string
	}
	var imports []pending
	rows, err := s.r.QueryContext(ctx, `SELECT gen, collection_id FROM imports ORDER BY gen`)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.gen, &p.col); err != nil {
			rows.Close()
			return fmt.Errorf("store: %w", err)
		}
		imports = append(imports, p)
	}
	rows.Close()
	for _, p := range imports {
		// An import whose collection is locked is a live process's (see
		// shared.go); with SQLite no other process exists.
		unlock, ok, err := s.tryLockCol(ctx, p.col)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = s.abortImport(ctx, p.gen, p.col)
		unlock()
		if err != nil {
			return err
		}
	}
	if err := s.foldCommitted(ctx, ""); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.checkSegmentsPlace(ctx); err != nil {
		return err
	}
	if s.blob != nil {
		if err := s.sweepSegments(ctx); err != nil {
			return err
		}
	} else if err := s.truncateSegments(ctx); err != nil {
		return err
	}
	return s.removeOrphanDirs(ctx)
}

// TempDir is the directory for spooled uploads; Open empties it. With
// PostgreSQL each store has its own under tmp/ (see shared.go).
func (s *Store) TempDir() string {
	if s.d == dialectPostgres {
		return filepath.Join(s.dir, "tmp", fmt.Sprintf("p%d", s.instance))
	}
	return filepath.Join(s.dir, "tmp")
}

// truncateSegments cuts every segment file to the rows committed rows
// reference (the largest referenced row + 1): a killed upsert's rows are
// past them.
func (s *Store) truncateSegments(ctx context.Context) error {
	type seg struct {
		col, name, file string
		dim             int64
		inline          bool
	}
	rows, err := s.r.QueryContext(ctx, `SELECT f.collection_id, f.name, f.file, f.dim, f.inline FROM main.features f`)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var segs []seg
	for rows.Next() {
		var g seg
		if err := rows.Scan(&g.col, &g.name, &g.file, &g.dim, &g.inline); err != nil {
			rows.Close()
			return fmt.Errorf("store: %w", err)
		}
		segs = append(segs, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, g := range segs {
		// A segment another process is appending to is locked (see
		// shared.go): its bytes past the committed rows are its.
		unlock, ok, err := s.tryLockCol(ctx, g.col)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = s.truncateSegment(ctx, g.col, g.name, g.file, g.dim, g.inline)
		unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// truncateSegment cuts a collection's segment file to the rows committed
// rows reference (the caller holds the collection's lock; the end is read
// under it, as a process may have appended and committed just before).
func (s *Store) truncateSegment(ctx context.Context, col, feature, file string, dim int64, inline bool) error {
	var end sql.NullInt64
	q, args := `SELECT MAX(row) FROM main.vectors WHERE collection_id = ? AND feature = ?`, []any{col, feature}
	if inline {
		// No index has the documents' rows: this reads the collection's.
		q, args = `SELECT MAX(row) FROM main.documents WHERE collection_id = ?`, []any{col}
	}
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&end); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	keep := int64(0)
	if end.Valid {
		keep = (end.Int64 + 1) * dim * 4
	}
	path := filepath.Join(s.collectionDir(col), file)
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if st.Size() > keep {
		if err := os.Truncate(path, keep); err != nil {
			return fmt.Errorf("store: truncating %s: %w", path, err)
		}
	}
	return nil
}

// removeOrphanDirs removes vector directories of collections and artifact
// directories of runs that no longer exist (deleted while their import or
// run was writing, then killed).
func (s *Store) removeOrphanDirs(ctx context.Context) error {
	for _, d := range []struct{ dir, query string }{
		{filepath.Join(s.dir, "vectors"), `SELECT COUNT(*) FROM main.collections WHERE id = ?`},
		{filepath.Join(s.dir, "runs"), `SELECT COUNT(*) FROM runs WHERE run_id = ?`},
	} {
		entries, err := os.ReadDir(d.dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for _, e := range entries {
			var n int
			if err := s.r.QueryRowContext(ctx, d.query, e.Name()).Scan(&n); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if n == 0 {
				if err := os.RemoveAll(filepath.Join(d.dir, e.Name())); err != nil {
					return fmt.Errorf("store: %w", err)
				}
			}
		}
	}
	return nil
}

// SegmentUsage reports the bytes of every vector segment file on disk and
// the bytes of the rows readers can reach (one row per visible vector). The
// difference is rows of an import in progress and rows replaced by later
// upserts, which are not reclaimed.
//
// With a bucket, fileBytes is the bytes of the chunks the segments table
// lists (rows of an import in progress are not stored yet; chunks of a
// killed upsert are not counted, and go with Open's sweep).
func (s *Store) SegmentUsage(ctx context.Context) (fileBytes, liveBytes int64, err error) {
	if s.blob != nil {
		err = s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(g.n_rows * f.dim * 4), 0) FROM segments g
			JOIN features f ON f.collection_id = g.collection_id AND f.name = g.feature`).Scan(&fileBytes)
		if err != nil {
			return 0, 0, fmt.Errorf("store: %w", err)
		}
	}
	root := filepath.Join(s.dir, "vectors")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".f32") {
			if info, err := d.Info(); err == nil {
				fileBytes += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: %w", err)
	}
	err = s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(f.dim * 4 * `+vectorCountSQL+`), 0) FROM features f`).Scan(&liveBytes)
	return fileBytes, liveBytes, err
}
