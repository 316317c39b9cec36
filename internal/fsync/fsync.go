// Package fsync makes directory entries durable. Syncing a file makes its
// contents durable, but its name (a create or a rename) lives in the
// directory, which must be synced too before a crash cannot lose it.
package fsync

import "os"

// Dir flushes the entries of the directory at path to stable storage.
func Dir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
