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

// rawHeader is a version 1.0 file with the given header dictionary and
// data bytes (no padding rules: the reader does not need them).
func rawHeader(dict string, data []byte) []byte {
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	return append(append(out, dict...), data...)
}

// TestClaimsAreCheckedBeforeAllocating: a few bytes whose header promises
// a huge array are an ErrFormat error from every reader, found before any
// allocation of the promised size (the old code allocated rows×cols first,
// and a product past int64 passed the size check).
func TestClaimsAreCheckedBeforeAllocating(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, dict, msg string
		labels          bool
	}{
		{"wide", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1099511627776), }", "truncated", false},
		{"overflow", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", "too large", false},
		{"wraps to zero", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "too large", false},
		{"labels", "{'descr': '<i4', 'fortran_order': False, 'shape': (1099511627776,), }", "truncated", true},
		{"labels i8", "{'descr': '<i8', 'fortran_order': False, 'shape': (1099511627776,), }", "truncated", true},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "f.npy")
		if err := os.WriteFile(p, rawHeader(c.dict, make([]byte, 16)), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if c.labels {
			_, err = ReadInt32File(p)
		} else {
			_, _, _, err = ReadMatrixFile(p)
		}
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrFormat containing %q", c.name, err, c.msg)
		}
	}
}

func TestCheckSize(t *testing.T) {
	h := Header{Descr: "<f4", Shape: []int{3, 2}, DataOffset: 128}
	for _, c := range []struct {
		size int64
		ok   bool
	}{{128 + 24, true}, {128 + 100, true}, {128 + 23, false}, {10, false}} {
		if err := h.CheckSize(c.size); (err == nil) != c.ok {
			t.Errorf("CheckSize(%d) = %v, want ok=%v", c.size, err, c.ok)
		}
	}
	if n, err := h.DataBytes(); n != 24 || err != nil {
		t.Errorf("DataBytes = %d, %v", n, err)
	}
}

// TestShortHeaderAllocatesWhatItHolds: a header length field of 1 MiB on a
// file that ends after a few bytes is "truncated header".
func TestShortHeaderAllocatesWhatItHolds(t *testing.T) {
	raw := append([]byte("\x93NUMPY\x01\x00"), 0xff, 0xff, '{')
	_, err := ReadHeader(bytes.NewReader(raw))
	if err == nil || !strings.Contains(err.Error(), "truncated header") {
		t.Fatalf("error %v", err)
	}
}
