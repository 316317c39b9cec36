package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCacheDirPerProcess: each opener gets its own directory; one whose
// lock is held survives another's start, one whose lock is free (its
// process died) is removed, and release removes its own.
func TestCacheDirPerProcess(t *testing.T) {
	root := t.TempDir()
	a, releaseA, err := cacheDir(root)
	if err != nil {
		t.Fatal(err)
	}
	// A dead process's directory: the lock file exists, nobody holds it.
	dead := filepath.Join(root, "p-dead")
	if err := os.MkdirAll(filepath.Join(dead, "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dead+".lock", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b, releaseB, err := cacheDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two processes share %s", a)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{a, true}, {b, true}, {dead, false}, {dead + ".lock", false}} {
		if _, err := os.Stat(c.path); (err == nil) != c.want {
			t.Errorf("%s exists: %v, want %v", c.path, err == nil, c.want)
		}
	}
	releaseA()
	releaseB()
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("after release: %d entries left in %s", len(entries), root)
	}
}
