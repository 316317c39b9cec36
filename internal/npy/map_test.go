package npy

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMapMatrixFile: a float32 matrix maps to exactly its values; other
// files (float64, truncated, 1-D) are left to ReadMatrixFile (ok false,
// no error).
func TestMapMatrixFile(t *testing.T) {
	dir := t.TempDir()
	x := []float32{1, 2, 3, 4, 5, 6.5}
	f32 := filepath.Join(dir, "a.npy")
	if err := WriteFile(f32, func(w io.Writer) error { return WriteFloat32(w, x, 3, 2) }); err != nil {
		t.Fatal(err)
	}
	got, rows, cols, release, ok, err := MapMatrixFile(f32)
	if err != nil || !ok || rows != 3 || cols != 2 || !slices.Equal(got, x) {
		t.Fatalf("mapped %v (%d×%d, ok %v, err %v), want %v", got, rows, cols, ok, err, x)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(f32)
	trunc := filepath.Join(dir, "t.npy")
	os.WriteFile(trunc, raw[:len(raw)-4], 0o644)
	labels := filepath.Join(dir, "l.npy")
	WriteFile(labels, func(w io.Writer) error { return WriteInt32(w, []int32{1, 2}) })
	f64 := filepath.Join(dir, "d.npy")
	h := header("<f8", []int{1, 2})
	os.WriteFile(f64, append(h, make([]byte, 16)...), 0o644)
	for _, p := range []string{trunc, labels, f64} {
		if _, _, _, _, ok, err := MapMatrixFile(p); ok || err != nil {
			t.Errorf("%s: ok %v, err %v; want it left to ReadMatrixFile", filepath.Base(p), ok, err)
		}
	}
	if _, _, _, err := ReadMatrixFile(trunc); err == nil {
		t.Error("ReadMatrixFile accepted the truncated file")
	}
}
