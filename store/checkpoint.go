package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// checkpointPages is the size of the write-ahead log, in pages (4 KiB
// each, so 64 MiB), at which the writer connection checkpoints it itself
// (wal_autocheckpoint, SQLite's default 1,000). Below it, the checkpointer
// copies committed pages into the database file in the background.
const checkpointPages = 16384

// checkpointer copies the pages of SQLite's write-ahead log into the
// database file on a connection of its own, once after every commit it is
// told of (PASSIVE checkpoints: they neither wait for nor block the writer
// and readers, and skip the frames a reader's snapshot still needs). An
// import's next batch is written on one core while the other copies the
// last one's pages and syncs them: with the writer checkpointing every
// 1,000 pages, as SQLite does by default, the copying and its fsyncs ran
// inside the writer's commits (BenchmarkUpsertVectors, SQLite, row ids,
// with no checkpoint at all during the import: 109–111 → 119–124 MB/s).
// The writer still checkpoints at checkpointPages, which bounds the log
// when the checkpointer falls behind, and lets SQLite rewind the log when
// everything in it has been copied.
type checkpointer struct {
	db   *sql.DB
	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
}

// startCheckpointer opens a connection to the database at dsn and starts
// checkpointing on it.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// committed tells the checkpointer that a transaction committed. It never
// waits: commits made while a checkpoint runs are copied by the next one.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		// A failed or partial checkpoint leaves the pages in the log,
		// where readers find them and the next checkpoint (this one's or
		// the writer's at checkpointPages) copies them.
		c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

// close stops the checkpointer, waiting for a checkpoint in progress.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	c.wg.Wait()
	return c.db.Close()
}
