package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/clusterd/clusterd/store"
)

// The import readers' fuzz targets: arbitrary bytes read as a .npy, an
// NDJSON file or a Parquet file must never panic, must fail (if they fail)
// with a 422 located in the body, and must not allocate more than a
// constant plus a multiple of the input's size, whatever its headers
// claim. The seed corpus (testdata/fuzz/<target>) holds valid files and
// files whose headers lie; it runs in every go test, and CI fuzzes each
// target briefly.

// allocBound is the allocation a reader may make for an input of n bytes:
// its buffers (constant) and what it parses (proportional).
func allocBound(n int) uint64 { return 96<<20 + 64*uint64(n) }

// drain reads up to 100,000 documents from src and checks the outcome.
func drain(t *testing.T, src store.DocumentSource, err error) {
	t.Helper()
	for i := 0; err == nil && i < 100_000; i++ {
		_, err = src.Next()
	}
	if err == nil || errors.Is(err, io.EOF) {
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v, want a *ValidationError (422)", err, err)
	}
	for _, it := range ve.Items {
		if len(it.Loc) == 0 || (it.Loc[0] != "body" && it.Loc[0] != "query") || it.Msg == "" {
			t.Fatalf("bad problem %+v", it)
		}
	}
}

// checkAlloc runs fn and fails when it allocated more than allocBound(n).
func checkAlloc(t *testing.T, n int, fn func()) {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	fn()
	runtime.ReadMemStats(&m1)
	if got := m1.TotalAlloc - m0.TotalAlloc; got > allocBound(n) {
		t.Fatalf("%d MiB allocated for %d bytes of input", got>>20, n)
	}
}

func FuzzNPYImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, len(data), func() {
			src, err := newNPYSource(bytes.NewReader(data), int64(len(data)), "e", "row_", nil)
			if err != nil {
				drain(t, nil, err)
				return
			}
			drain(t, src, nil)
		})
	})
}

func FuzzNDJSONImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, len(data), func() {
			drain(t, newNDJSONSource(bytes.NewReader(data), 1<<20), nil)
		})
	})
}

func FuzzParquetImport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAlloc(t, len(data), func() {
			src, err := newParquetSource(bytes.NewReader(data), int64(len(data)), "", "document_id", "")
			if err != nil {
				drain(t, nil, err)
				return
			}
			drain(t, src, nil)
		})
	})
}

// checkWholeParquet checks a file's footer and the pages of every column
// chunk, as an import does by the time it has read every column.
func checkWholeParquet(r io.ReaderAt, size int64) error {
	md, err := checkParquetFooter(r, size)
	if err != nil {
		return err
	}
	k := newChunkChecker(r)
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			if err := k.check(cc.MetaData); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestParquetCodecsPassTheCheck: files parquet-go writes with each codec it
// supports (several pages, a dictionary, nulls) pass the check (footer and
// pages) and read back whole.
func TestParquetCodecsPassTheCheck(t *testing.T) {
	type row struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
		Title      string    `parquet:"title,dict,optional"`
	}
	rows := make([]row, 5000)
	for i := range rows {
		rows[i] = row{DocumentID: fmt.Sprintf("d%d", i), Vec: []float32{float32(i), 1, 2, 3}, Title: []string{"a", "b", ""}[i%3]}
	}
	for _, codec := range []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Zstd, &parquet.Lz4Raw, &parquet.Brotli} {
		var b bytes.Buffer
		w := parquet.NewGenericWriter[row](&b, parquet.Compression(codec), parquet.PageBufferSize(4096))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if codec == compress.Codec(&parquet.Lz4Raw) {
			// parquet-go v0.32 cannot read back its own LZ4_RAW pages
			// (DELTA_LENGTH_BYTE_ARRAY: invalid number of mini block), with
			// or without the check: only the check is tested.
			if err := checkWholeParquet(bytes.NewReader(b.Bytes()), int64(b.Len())); err != nil {
				t.Fatalf("%s: %v", codec, err)
			}
			continue
		}
		src, err := newParquetSource(bytes.NewReader(b.Bytes()), int64(b.Len()), "", "document_id", "")
		if err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		n := 0
		for {
			d, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s row %d: %v", codec, n, err)
			}
			if d.ID != rows[n].DocumentID || d.Features["vec"][0] != float32(n) {
				t.Fatalf("%s row %d: %+v", codec, n, d)
			}
			n++
		}
		if n != len(rows) {
			t.Fatalf("%s: %d rows read", codec, n)
		}
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestParquetCheckSkipsPlainPages: the check reads an uncompressed page's
// header, not its data (the import reads the data once, through
// parquet-go), and still reads and decompresses every compressed page.
func TestParquetCheckSkipsPlainPages(t *testing.T) {
	type row struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
	}
	rows := make([]row, 20000)
	for i := range rows {
		rows[i] = row{DocumentID: fmt.Sprintf("d%d", i), Vec: make([]float32, 32)}
		for j := range rows[i].Vec {
			rows[i].Vec[j] = float32(i*j%977) / 7
		}
	}
	for _, tc := range []struct {
		codec   compress.Codec
		atMost  float64 // of the file's bytes read by the check
		atLeast float64
	}{
		{&parquet.Uncompressed, 0.1, 0},
		{&parquet.Snappy, 1.01, 0.9},
	} {
		var b bytes.Buffer
		w := parquet.NewGenericWriter[row](&b, parquet.Compression(tc.codec), parquet.PageBufferSize(512<<10))
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r := &countingReaderAt{r: bytes.NewReader(b.Bytes())}
		if err := checkWholeParquet(r, int64(b.Len())); err != nil {
			t.Fatalf("%s: %v", tc.codec, err)
		}
		if f := float64(r.n) / float64(b.Len()); f > tc.atMost || f < tc.atLeast {
			t.Errorf("%s: the check read %d of the file's %d bytes (%.2f), want %.2f to %.2f", tc.codec, r.n, b.Len(), f, tc.atLeast, tc.atMost)
		}
	}
}
