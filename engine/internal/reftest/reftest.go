// Package reftest loads the reference files the engine's algorithm tests
// compare against: .npy arrays, optionally gzip-compressed (.npy.gz) to keep
// the committed test data small.
package reftest

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/internal/npy"
)

// Matrix loads a 2-D float32 or float64 array as float32 (n×d row-major).
func Matrix(t testing.TB, path string) (x []float32, n, d int) {
	t.Helper()
	x, n, d, err := npy.ReadMatrixFile(plain(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return x, n, d
}

// Int32s loads a 1-D int32 or int64 array.
func Int32s(t testing.TB, path string) []int32 {
	t.Helper()
	v, err := npy.ReadInt32File(plain(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Float64s widens a float32 matrix, as the reference implementations do
// before computing anything.
func Float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// plain returns path itself, or for a .gz file the path of a decompressed
// copy in the test's temporary directory.
func plain(t testing.TB, path string) string {
	t.Helper()
	if !strings.HasSuffix(path, ".gz") {
		return path
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".gz"))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
