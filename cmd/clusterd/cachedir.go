package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// cacheDir makes a directory of this process's own under root for the
// bucket's read cache, and removes those of processes that are gone.
// Processes sharing a PostgreSQL database may share a data directory, and
// the cache empties its directory when it opens, so each process needs its
// own. Each directory <name> has a lock file <name>.lock that its process
// holds (flock) for its lifetime; the kernel releases it when the process
// dies, however it dies, so a lock that can be taken marks a directory to
// remove. release unlocks and removes this process's directory.
func cacheDir(root string) (dir string, release func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, fmt.Errorf("blob cache: %w", err)
	}
	if err := removeAbandonedCaches(root); err != nil {
		return "", nil, err
	}
	dir, err = os.MkdirTemp(root, "p")
	if err != nil {
		return "", nil, fmt.Errorf("blob cache: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("blob cache: locking %s: %w", dir, err)
	}
	return dir, func() {
		os.RemoveAll(dir)
		os.Remove(lock.Name())
		lock.Close()
	}, nil
}

// removeAbandonedCaches removes the cache directories under root whose
// lock no process holds.
func removeAbandonedCaches(root string) error {
	locks, err := filepath.Glob(filepath.Join(root, "p*.lock"))
	if err != nil {
		return err
	}
	for _, name := range locks {
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("blob cache: %w", err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(strings.TrimSuffix(name, ".lock"))
			os.Remove(name)
		}
		f.Close()
	}
	return nil
}
