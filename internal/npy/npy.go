// Package npy reads and writes NumPy .npy files (format versions 1.0–3.0):
// 2-D float32/float64 matrices in C order for input, 1-D int32 label vectors
// and 2-D float32 matrices for output.
//
// Everything is little-endian; a big-endian or Fortran-order array, an
// unsupported dtype, a shape of the wrong rank or a file shorter than its
// header promises is an error that says which.
//
// Memory: no reader allocates from what a header claims before checking the
// claim against the bytes there are (CheckSize, or the file's size), so a
// small file whose header promises a huge array is an error, not a huge
// allocation.
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/clusterd/clusterd/internal/rawbytes"
)

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("npy")

var magic = []byte("\x93NUMPY")

// Header is the parsed header of a .npy file.
type Header struct {
	Descr        string // dtype descriptor, e.g. "<f4"
	FortranOrder bool
	Shape        []int
	DataOffset   int64 // bytes from the start of the file to the data
}

// MaxHeaderBytes bounds the header dictionary's length.
const MaxHeaderBytes = 1 << 20

// ItemSize is the size in bytes of one element of Descr ("<f4" → 4).
func (h Header) ItemSize() int {
	if len(h.Descr) < 3 {
		return 0
	}
	n, _ := strconv.Atoi(h.Descr[2:])
	return n
}

// DataBytes is the size in bytes of the data the header promises: the
// product of the shape and the item size. A product that does not fit in
// an int64 is an ErrFormat error.
func (h Header) DataBytes() (int64, error) {
	n := int64(h.ItemSize())
	for _, d := range h.Shape {
		if d != 0 && n > math.MaxInt64/int64(d) {
			return 0, fmt.Errorf("%w: shape %v is too large", ErrFormat, h.Shape)
		}
		n *= int64(d)
	}
	return n, nil
}

// CheckSize reports an ErrFormat error unless a file of size bytes holds
// the data the header promises (bytes after the data are ignored).
func (h Header) CheckSize(size int64) error {
	need, err := h.DataBytes()
	if err != nil {
		return err
	}
	if have := size - h.DataOffset; have < need {
		return fmt.Errorf("%w: file truncated: header promises %d bytes of data (shape %v), the file has %d", ErrFormat, need, h.Shape, max(have, 0))
	}
	return nil
}

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadHeader parses the header at the start of r.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return Header{}, fmt.Errorf("%w: file too short for a .npy header", ErrFormat)
	}
	if string(pre[:6]) != string(magic) {
		return Header{}, fmt.Errorf("%w: not a .npy file (bad magic)", ErrFormat)
	}
	major := pre[6]
	var hlen int
	var fixed int64
	switch major {
	case 1:
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		hlen, fixed = int(binary.LittleEndian.Uint16(l[:])), 10
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		hlen, fixed = int(binary.LittleEndian.Uint32(l[:])), 12
	default:
		return Header{}, fmt.Errorf("%w: unsupported format version %d.%d", ErrFormat, major, pre[7])
	}
	if hlen > MaxHeaderBytes {
		return Header{}, fmt.Errorf("%w: header of %d bytes is implausibly large (at most %d)", ErrFormat, hlen, MaxHeaderBytes)
	}
	// Copied rather than read into a buffer of the claimed length: a file
	// that ends early costs what it holds.
	var buf strings.Builder
	if n, _ := io.CopyN(&buf, r, int64(hlen)); n != int64(hlen) {
		return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	dict := buf.String()
	h := Header{DataOffset: fixed + int64(hlen)}
	m := descrRe.FindStringSubmatch(dict)
	if m == nil {
		return Header{}, fmt.Errorf("%w: header has no 'descr'", ErrFormat)
	}
	h.Descr = m[1]
	if m = fortranRe.FindStringSubmatch(dict); m == nil {
		return Header{}, fmt.Errorf("%w: header has no 'fortran_order'", ErrFormat)
	}
	h.FortranOrder = m[1] == "True"
	if m = shapeRe.FindStringSubmatch(dict); m == nil {
		return Header{}, fmt.Errorf("%w: header has no 'shape'", ErrFormat)
	}
	for _, part := range strings.Split(m[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(part, "L"))
		if err != nil || v < 0 {
			return Header{}, fmt.Errorf("%w: bad shape entry %q", ErrFormat, part)
		}
		h.Shape = append(h.Shape, v)
	}
	return h, nil
}

// checkMatrix verifies a header describes a C-order 2-D float32 or float64
// array and returns its rows and columns.
func checkMatrix(h Header) (rows, cols int, err error) {
	if len(h.Shape) != 2 {
		return 0, 0, fmt.Errorf("%w: need a 2-D array (rows × features), got %d-D shape %v", ErrFormat, len(h.Shape), h.Shape)
	}
	if h.FortranOrder {
		return 0, 0, fmt.Errorf("%w: Fortran-order arrays are not supported; save with np.ascontiguousarray", ErrFormat)
	}
	switch h.Descr {
	case "<f4", "<f8", "|f4", "|f8":
	default:
		return 0, 0, fmt.Errorf("%w: unsupported dtype %q, need little-endian float32 ('<f4') or float64 ('<f8')", ErrFormat, h.Descr)
	}
	return h.Shape[0], h.Shape[1], nil
}

// MatrixReader streams the rows of a 2-D float32/float64 .npy, converting
// them to float32. It reads with bounded memory whatever the file size.
type MatrixReader struct {
	Rows, Cols int
	Header     Header
	r          io.Reader
	read       int
	scratch    []byte
}

// NewMatrixReader parses the header from r and prepares to stream rows.
func NewMatrixReader(r io.Reader) (*MatrixReader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, err
	}
	rows, cols, err := checkMatrix(h)
	if err != nil {
		return nil, err
	}
	return &MatrixReader{Rows: rows, Cols: cols, Header: h, r: br}, nil
}

// Next fills dst (a whole number of rows, len(dst) a multiple of Cols) with
// the next rows and returns how many rows it read; it returns io.EOF after
// the last row and an ErrFormat error when the file ends early.
func (m *MatrixReader) Next(dst []float32) (int, error) {
	if m.Cols == 0 {
		return 0, fmt.Errorf("%w: array has zero columns", ErrFormat)
	}
	want := min(len(dst)/m.Cols, m.Rows-m.read)
	if want == 0 {
		if m.read >= m.Rows {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("npy: destination smaller than one row")
	}
	dst = dst[:want*m.Cols]
	var err error
	if m.Header.ItemSize() == 4 {
		_, err = io.ReadFull(m.r, rawbytes.Float32s(dst))
	} else {
		need := len(dst) * 8
		if cap(m.scratch) < need {
			m.scratch = make([]byte, need)
		}
		b := m.scratch[:need]
		if _, err = io.ReadFull(m.r, b); err == nil {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:])))
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("%w: file truncated: header promises %d×%d values, data ends near row %d", ErrFormat, m.Rows, m.Cols, m.read)
	}
	m.read += want
	return want, nil
}

// ReadMatrixFile loads a whole 2-D float32/float64 .npy file as float32,
// allocating the result once (no intermediate copy for float32 input).
func ReadMatrixFile(path string) (x []float32, rows, cols int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	m, err := NewMatrixReader(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	// Checked before allocating: the allocation is then at most the file's size.
	if err := m.Header.CheckSize(st.Size()); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	x = make([]float32, m.Rows*m.Cols)
	const chunkRows = 1 << 14
	for off := 0; off < len(x); {
		end := min(len(x), off+chunkRows*max(m.Cols, 1))
		got, err := m.Next(x[off:end])
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		off += got * m.Cols
	}
	return x, m.Rows, m.Cols, nil
}

// header builds a version 1.0 header padded to a multiple of 64 bytes.
func header(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	out := append([]byte{}, magic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)))
	return append(out, dict...)
}

// WriteInt32 writes v as a 1-D int32 array.
func WriteInt32(w io.Writer, v []int32) error {
	if _, err := w.Write(header("<i4", []int{len(v)})); err != nil {
		return err
	}
	_, err := w.Write(rawbytes.Int32s(v))
	return err
}

// WriteFloat32 writes x as a rows×cols float32 array.
func WriteFloat32(w io.Writer, x []float32, rows, cols int) error {
	if len(x) != rows*cols {
		return fmt.Errorf("npy: %d values for a %d×%d array", len(x), rows, cols)
	}
	if _, err := w.Write(header("<f4", []int{rows, cols})); err != nil {
		return err
	}
	_, err := w.Write(rawbytes.Float32s(x))
	return err
}

// WriteFile writes to path through fn, creating or truncating the file.
func WriteFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadInt32File reads a 1-D int32 .npy (labels).
func ReadInt32File(path string) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(h.Shape) != 1 || h.FortranOrder {
		return nil, fmt.Errorf("%s: %w: need a 1-D array, got shape %v", path, ErrFormat, h.Shape)
	}
	if h.Descr != "<i4" && h.Descr != "<i8" {
		return nil, fmt.Errorf("%s: %w: unsupported label dtype %q, need '<i4' or '<i8'", path, ErrFormat, h.Descr)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := h.CheckSize(st.Size()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]int32, h.Shape[0])
	switch h.Descr {
	case "<i4":
		if _, err := io.ReadFull(br, rawbytes.Int32s(out)); err != nil {
			return nil, fmt.Errorf("%s: %w: file truncated", path, ErrFormat)
		}
	case "<i8":
		b := make([]byte, 8*len(out))
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("%s: %w: file truncated", path, ErrFormat)
		}
		for i := range out {
			out[i] = int32(int64(binary.LittleEndian.Uint64(b[i*8:])))
		}
	default:
		return nil, fmt.Errorf("%s: %w: unsupported label dtype %q, need '<i4' or '<i8'", path, ErrFormat, h.Descr)
	}
	return out, nil
}

// WriteFloat32Header writes the header of a rows×cols float32 array; the
// caller writes the rows×cols values after it (WriteRows), to stream an
// array too large to hold.
func WriteFloat32Header(w io.Writer, rows, cols int) error {
	_, err := w.Write(header("<f4", []int{rows, cols}))
	return err
}

// WriteRows writes float32 values as raw little-endian data.
func WriteRows(w io.Writer, x []float32) error {
	_, err := w.Write(rawbytes.Float32s(x))
	return err
}
