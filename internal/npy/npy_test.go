package npy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The files in testdata were written by NumPy 1.24 (np.save).

func TestReadMatrixFile(t *testing.T) {
	want := []float32{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75}
	for _, name := range []string{"f4_4x3.npy", "f8_4x3.npy"} {
		x, r, c, err := ReadMatrixFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r != 4 || c != 3 || !slices.Equal(x, want) {
			t.Fatalf("%s: got %d×%d %v", name, r, c, x)
		}
	}
}

func TestReadMatrixFileErrors(t *testing.T) {
	cases := []struct{ file, msg string }{
		{"f4_1d.npy", "need a 2-D array"},
		{"f4_3d.npy", "need a 2-D array"},
		{"i4_2d.npy", "unsupported dtype \"<i4\""},
		{"f2_4x3.npy", "unsupported dtype \"<f2\""},
		{"f4_bigendian.npy", "unsupported dtype \">f4\""},
		{"f4_fortran.npy", "Fortran-order"},
		{"f4_truncated.npy", "truncated"},
		{"f4_header_only.npy", "truncated header"},
		{"../npy.go", "not a .npy file"},
	}
	for _, c := range cases {
		_, _, _, err := ReadMatrixFile(filepath.Join("testdata", c.file))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrFormat containing %q", c.file, err, c.msg)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	labels := []int32{3, -1, 0, 7, 2}
	p := filepath.Join(dir, "l.npy")
	if err := WriteFile(p, func(w io.Writer) error { return WriteInt32(w, labels) }); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInt32File(p)
	if err != nil || !slices.Equal(got, labels) {
		t.Fatalf("labels round trip: %v %v", got, err)
	}
	x := []float32{1, 2, 3, 4, 5, 6}
	p = filepath.Join(dir, "x.npy")
	if err := WriteFile(p, func(w io.Writer) error { return WriteFloat32(w, x, 2, 3) }); err != nil {
		t.Fatal(err)
	}
	gx, r, c, err := ReadMatrixFile(p)
	if err != nil || r != 2 || c != 3 || !slices.Equal(gx, x) {
		t.Fatalf("matrix round trip: %v %d %d %v", gx, r, c, err)
	}
	// The header must be what NumPy writes: 64-byte aligned, version 1.0.
	raw, _ := os.ReadFile(p)
	if (len(raw)-len(x)*4)%64 != 0 || !bytes.HasPrefix(raw, []byte("\x93NUMPY\x01\x00")) {
		t.Fatalf("header of %d bytes: %q", len(raw)-len(x)*4, raw[:16])
	}
}

func TestReadInt64Labels(t *testing.T) {
	got, err := ReadInt32File(filepath.Join("testdata", "labels_i8.npy"))
	if err != nil || !slices.Equal(got, []int32{0, 1, -1, 2}) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestEmptyMatrix(t *testing.T) {
	x, r, c, err := ReadMatrixFile(filepath.Join("testdata", "f4_0x3.npy"))
	if err != nil || r != 0 || c != 3 || len(x) != 0 {
		t.Fatalf("%v %d %d %v", x, r, c, err)
	}
}
