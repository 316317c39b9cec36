package store

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Sharing one PostgreSQL database (and one data directory) between
// processes. With SQLite one process owns the data directory (its lock
// file), so start-up may tidy everything a killed process left. With
// PostgreSQL several clusterd processes may share the database and the
// data directory (a shared file system), and start-up tidies only what is
// provably dead, which PostgreSQL's session advisory locks tell: a lock
// held by a connection is released by the server when that connection
// ends, which it does when its process dies.
//
//   - Each store holds an instance lock (pgLockInstance, a random id) for
//     its lifetime and spools uploads under tmp/p<id>; start-up removes the
//     spool directories of instances whose lock nobody holds.
//   - Every write of a collection's segment files (an upsert, a cluster's
//     output collection) holds the collection's lock (pgLockCollection,
//     keyed by hashtext of the collection id) from its first appended byte
//     until it committed or cleaned up. So a staged import whose
//     collection's lock is free is a dead process's, and so are segment
//     bytes past the last committed row: start-up aborts and truncates
//     only those, under the same lock.

// Advisory lock classes (the first key of PostgreSQL's two-key advisory
// locks); the second key is the instance id or the collection id's hash.
const (
	pgLockCollection = 0x636c0001
	pgLockInstance   = 0x636c0002
	pgLockOutputs    = 0x636c0003
)

// openLocks opens the connections that hold advisory locks and takes this
// store's instance lock.
func (s *Store) openLocks(cfg *pgx.ConnConfig) error {
	lcfg := cfg.Copy()
	lcfg.RuntimeParams["search_path"] = "main"
	s.locks = stdlib.OpenDB(*lcfg)
	// The instance lock and each collection write in progress hold one
	// connection; more writes at once wait for one.
	s.locks.SetMaxOpenConns(16)
	ctx := context.Background()
	c, err := s.locks.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for {
		var b [4]byte
		rand.Read(b[:])
		id := int32(binary.LittleEndian.Uint32(b[:]) & 0x7fffffff)
		var ok bool
		if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(pgLockInstance), id).Scan(&ok); err != nil {
			c.Close()
			return fmt.Errorf("store: taking the instance lock: %w", err)
		}
		if ok {
			s.instance, s.instanceConn = id, c
			return nil
		}
	}
}

// lockCol takes collection id's write lock: in this process, and with
// PostgreSQL across processes (see above). It returns the unlock.
func (s *Store) lockCol(ctx context.Context, id string) (func(), error) {
	unlock := s.cols.lock(id)
	if s.d != dialectPostgres {
		return unlock, nil
	}
	pgUnlock, err := s.pgLock(ctx, pgLockCollection, id)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("store: locking collection %s: %w", id, err)
	}
	return func() { pgUnlock(); unlock() }, nil
}

// lockOutputs serialises the writes and deletes of a cluster's output
// collections (see outputs.go): in this process, and with PostgreSQL
// across processes, so that two processes finishing runs of one cluster do
// not both create its output collection.
func (s *Store) lockOutputs(ctx context.Context, clusterID string) (func(), error) {
	s.outputMu.Lock()
	if s.d != dialectPostgres {
		return s.outputMu.Unlock, nil
	}
	pgUnlock, err := s.pgLock(ctx, pgLockOutputs, clusterID)
	if err != nil {
		s.outputMu.Unlock()
		return nil, fmt.Errorf("store: locking the outputs of cluster %s: %w", clusterID, err)
	}
	return func() { pgUnlock(); s.outputMu.Unlock() }, nil
}

// pgLock takes the session advisory lock (class, hashtext(key)) on a
// connection of its own, waiting for it, and returns the unlock.
func (s *Store) pgLock(ctx context.Context, class int32, key string) (func(), error) {
	c, err := s.locks.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var pid int64
	if err := c.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock($1, hashtext($2))) l`, class, key).Scan(&pid); err != nil {
		c.Close()
		return nil, err
	}
	s.lockHolders.Store(pid, struct{}{})
	return func() {
		s.lockHolders.Delete(pid)
		// Closing the connection would release the lock too, but it goes
		// back to the pool: unlock explicitly, or discard the connection.
		if _, err := c.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, hashtext($2))`, class, key); err != nil {
			c.Raw(func(any) error { return driver.ErrBadConn })
		}
		c.Close()
	}, nil
}

// tryLockCol takes collection id's write lock if no one holds it (ok
// false otherwise); with SQLite, only this process's lock exists.
func (s *Store) tryLockCol(ctx context.Context, id string) (unlock func(), ok bool, err error) {
	if s.d != dialectPostgres {
		return s.cols.lock(id), true, nil
	}
	c, err := s.locks.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, int32(pgLockCollection), id).Scan(&ok); err != nil || !ok {
		c.Close()
		return nil, false, err
	}
	return func() {
		if _, err := c.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, hashtext($2))`, int32(pgLockCollection), id); err != nil {
			c.Raw(func(any) error { return driver.ErrBadConn })
		}
		c.Close()
	}, true, nil
}

// instanceAlive reports whether the store instance id holds its lock.
func (s *Store) instanceAlive(ctx context.Context, id int32) (bool, error) {
	if id == s.instance {
		return true, nil
	}
	c, err := s.locks.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer c.Close()
	var got bool
	if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(pgLockInstance), id).Scan(&got); err != nil {
		return false, err
	}
	if got {
		_, err := c.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, int32(pgLockInstance), id)
		return false, err
	}
	return true, nil
}

// tidyTemp empties this store's spool directory, and with PostgreSQL
// removes the spool directories of instances that are gone.
func (s *Store) tidyTemp(ctx context.Context) error {
	root := filepath.Join(s.dir, "tmp")
	if s.d != dialectPostgres {
		if err := os.RemoveAll(root); err != nil {
			return fmt.Errorf("store: emptying %s: %w", root, err)
		}
		return nil
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	for _, e := range entries {
		n, perr := strconv.ParseInt(strings.TrimPrefix(e.Name(), "p"), 10, 32)
		if !strings.HasPrefix(e.Name(), "p") || perr != nil {
			continue // not an instance's: someone else's file
		}
		alive, err := s.instanceAlive(ctx, int32(n))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if !alive {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return nil
}

// closeLocks releases the instance lock and the lock connections. The
// sessions of collection locks still held (writes cut short by Close) are
// ended on the server, as a process exit would.
func (s *Store) closeLocks() error {
	var errs []error
	if s.instanceConn != nil {
		s.lockHolders.Range(func(pid, _ any) bool {
			_, err := s.instanceConn.ExecContext(context.Background(), `SELECT pg_terminate_backend($1)`, pid)
			errs = append(errs, err)
			return true
		})
	}
	if s.instanceConn != nil {
		errs = append(errs, s.instanceConn.Close())
	}
	if s.locks != nil {
		errs = append(errs, s.locks.Close())
	}
	if s.d == dialectPostgres && s.instance != 0 {
		os.RemoveAll(s.TempDir())
	}
	return errors.Join(errs...)
}
