package api

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// Limits of a Parquet import, each checked before the Parquet library reads
// the part of the file it bounds: the library allocates what the file's
// headers claim (footer length, list lengths, page sizes, decompressed
// sizes) before it reads, so a small file could make it allocate
// gigabytes.
const (
	// MaxParquetFooterBytes bounds the file's metadata.
	MaxParquetFooterBytes = 16 << 20
	// MaxParquetPageBytes bounds a page, compressed or not.
	MaxParquetPageBytes = 64 << 20
	// MaxParquetPageValues bounds the values of one page.
	MaxParquetPageValues = 1 << 24
	// maxSchemaDepth bounds the nesting of the schema (and of thrift
	// structures), which the library walks recursively.
	maxSchemaDepth = 64
	// maxPageHeaderBytes bounds one page header (statistics included).
	maxPageHeaderBytes = 1 << 20
)

// errParquetLimit is wrapped by every error of checkParquetFooter and of
// chunkChecker.check (as parquetColumn reports it).
var errParquetLimit = errors.New("parquet")

func parquetErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errParquetLimit}, args...)...)
}

// checkParquetFooter checks a Parquet file's structure without trusting
// any size it claims, except its pages: the footer's length against the
// file's, every thrift length (strings, lists, maps) against the bytes that
// follow it, the schema's depth, and every column chunk's byte range
// against the file's data. It reads the footer alone, and returns the
// file's metadata. The pages of a column chunk are checked by a
// chunkChecker before parquet-go reads them (see parquetColumn), so that
// the walk through the file's pages runs while the store writes, not
// before the import starts.
func checkParquetFooter(r io.ReaderAt, size int64) (*format.FileMetaData, error) {
	if size < 12 {
		return nil, parquetErr("file of %d bytes is too short", size)
	}
	var head, tail [8]byte
	if _, err := r.ReadAt(head[:4], 0); err != nil {
		return nil, parquetErr("reading the header: %v", err)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, parquetErr("reading the footer: %v", err)
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return nil, parquetErr("not a Parquet file (or an encrypted one): bad magic bytes")
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footerLen > size-12 || footerLen > MaxParquetFooterBytes {
		return nil, parquetErr("footer of %d bytes in a file of %d (at most %d)", footerLen, size, MaxParquetFooterBytes)
	}
	footer := make([]byte, footerLen)
	if _, err := r.ReadAt(footer, size-8-footerLen); err != nil {
		return nil, parquetErr("reading the footer: %v", err)
	}
	if err := walkThrift(bytes.NewReader(footer), footerLen, nil); err != nil {
		return nil, parquetErr("file metadata: %v", err)
	}
	md := new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, md); err != nil {
		return nil, parquetErr("file metadata: %v", err)
	}
	if err := checkSchema(md.Schema); err != nil {
		return nil, err
	}
	dataEnd := size - 8 - footerLen
	for g, rg := range md.RowGroups {
		for c, cc := range rg.Columns {
			if err := checkChunkRange(cc.MetaData, dataEnd); err != nil {
				return nil, parquetErr("row group %d, column %d: %v", g, c, err)
			}
		}
	}
	return md, nil
}

// checkSchema bounds the schema tree's depth (its elements are a flat
// list in depth-first order with child counts).
func checkSchema(elems []format.SchemaElement) error {
	type frame struct{ left int32 }
	var stack []frame
	for i, e := range elems {
		n, _ := e.NumChildren.Get()
		if n < 0 || int(n) > len(elems) {
			return parquetErr("schema element %d has %d children", i, n)
		}
		for len(stack) > 0 && stack[len(stack)-1].left == 0 {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			stack[len(stack)-1].left--
		}
		if n > 0 {
			stack = append(stack, frame{n})
			if len(stack) > maxSchemaDepth {
				return parquetErr("schema nested more than %d levels deep", maxSchemaDepth)
			}
		}
	}
	return nil
}

// chunkStart is where parquet-go starts reading a column chunk: at its
// dictionary page, or at its first data page.
func chunkStart(m format.ColumnMetaData) int64 {
	if m.DictionaryPageOffset != 0 {
		return m.DictionaryPageOffset
	}
	return m.DataPageOffset
}

// checkChunkRange checks that a column chunk's bytes lie in the file's data
// (4 to dataEnd) and its first data page within them.
func checkChunkRange(m format.ColumnMetaData, dataEnd int64) error {
	base := chunkStart(m)
	if base < 4 || m.TotalCompressedSize < 0 || m.TotalCompressedSize > dataEnd-base {
		return fmt.Errorf("byte range %d+%d is outside the file's data (4–%d)", base, m.TotalCompressedSize, dataEnd)
	}
	if m.DataPageOffset < base || m.DataPageOffset >= base+max(m.TotalCompressedSize, 1) {
		return fmt.Errorf("data page offset %d is outside the chunk %d+%d", m.DataPageOffset, base, m.TotalCompressedSize)
	}
	return nil
}

// chunkChecker walks the pages of column chunks (checkChunkRange passed)
// the way parquet-go reads them: from the dictionary page (or first data
// page) on, through total_compressed_size bytes. Each page header is
// checked against the chunk; a compressed page is read and decompressed,
// with a bound, to check its size; an uncompressed page's bytes are
// skipped, not read. Its buffers are reused from chunk to chunk.
type chunkChecker struct {
	r    io.ReaderAt
	br   *bufio.Reader // a page header and, when compressed, its data
	hdr  bytes.Buffer
	data []byte
}

func newChunkChecker(r io.ReaderAt) *chunkChecker {
	return &chunkChecker{r: r, br: bufio.NewReaderSize(nil, 16<<10)}
}

// check walks the pages of the column chunk m.
func (k *chunkChecker) check(m format.ColumnMetaData) error {
	pos, end := chunkStart(m), chunkStart(m)+m.TotalCompressedSize
	for page := 0; pos < end; page++ {
		left := end - pos
		k.br.Reset(io.NewSectionReader(k.r, pos, left))
		k.hdr.Reset()
		if err := walkThrift(k.br, min(left, maxPageHeaderBytes), &k.hdr); err != nil {
			return fmt.Errorf("page %d header: %v", page, err)
		}
		left -= int64(k.hdr.Len())
		pos += int64(k.hdr.Len())
		var h format.PageHeader
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), k.hdr.Bytes(), &h); err != nil {
			return fmt.Errorf("page %d header: %v", page, err)
		}
		if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > left || h.CompressedPageSize > MaxParquetPageBytes {
			return fmt.Errorf("page %d of %d bytes, with %d bytes left in the chunk (at most %d)", page, h.CompressedPageSize, left, MaxParquetPageBytes)
		}
		if h.UncompressedPageSize < 0 || h.UncompressedPageSize > MaxParquetPageBytes {
			return fmt.Errorf("page %d of %d bytes uncompressed (at most %d)", page, h.UncompressedPageSize, MaxParquetPageBytes)
		}
		values, levels, compressed := int32(0), int32(0), m.Codec != format.Uncompressed
		if d, ok := h.DataPageHeader.Get(); ok {
			values = d.NumValues
		}
		if d, ok := h.DictionaryPageHeader.Get(); ok {
			values = d.NumValues
			// Dictionary values are stored plain: at least a bit each.
			if int64(values) > 8*int64(h.UncompressedPageSize)+8 {
				return fmt.Errorf("dictionary page %d claims %d values in %d bytes", page, values, h.UncompressedPageSize)
			}
		}
		if d, ok := h.DataPageHeaderV2.Get(); ok {
			values = d.NumValues
			if d.NumNulls < 0 || d.NumRows < 0 || d.RepetitionLevelsByteLength < 0 || d.DefinitionLevelsByteLength < 0 {
				return fmt.Errorf("page %d has a negative count", page)
			}
			levels = d.RepetitionLevelsByteLength + d.DefinitionLevelsByteLength
			if levels < 0 || levels > h.CompressedPageSize || levels > h.UncompressedPageSize {
				return fmt.Errorf("page %d: %d bytes of levels in a page of %d", page, levels, h.CompressedPageSize)
			}
			if c, ok := d.IsCompressed.Get(); ok && !c {
				compressed = false
			}
		}
		if values < 0 || values > MaxParquetPageValues {
			return fmt.Errorf("page %d has %d values (at most %d)", page, values, MaxParquetPageValues)
		}
		if compressed {
			k.data = slices.Grow(k.data[:0], int(h.CompressedPageSize))[:h.CompressedPageSize]
			if _, err := io.ReadFull(k.br, k.data); err != nil {
				return fmt.Errorf("page %d: %v", page, err)
			}
			if err := checkDecompressed(m.Codec, k.data[levels:], int64(h.UncompressedPageSize-levels)); err != nil {
				return fmt.Errorf("page %d: %v", page, err)
			}
		} else if h.CompressedPageSize != h.UncompressedPageSize {
			return fmt.Errorf("uncompressed page %d of %d bytes where the header says %d", page, h.CompressedPageSize, h.UncompressedPageSize)
		}
		pos += int64(h.CompressedPageSize)
	}
	return nil
}

// checkDecompressed decompresses src with codec, never producing more than
// want bytes, and reports an error unless it decompresses to exactly want.
func checkDecompressed(codec format.CompressionCodec, src []byte, want int64) error {
	var got int64
	var err error
	switch codec {
	case format.Snappy:
		var n int
		if n, err = snappy.DecodedLen(src); err == nil {
			if int64(n) != want {
				return fmt.Errorf("snappy data of %d bytes where the header says %d", n, want)
			}
			var out []byte
			out, err = snappy.Decode(nil, src)
			got = int64(len(out))
		}
	case format.Gzip:
		var z *gzip.Reader
		if z, err = gzip.NewReader(bytes.NewReader(src)); err == nil {
			got, err = io.Copy(io.Discard, io.LimitReader(z, want+1))
		}
	case format.Zstd:
		var d *zstd.Decoder
		if d, err = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(max(want, MaxParquetPageBytes))), zstd.WithDecoderConcurrency(1)); err == nil {
			var out []byte
			out, err = d.DecodeAll(src, nil)
			d.Close()
			got = int64(len(out))
		}
	case format.Brotli:
		got, err = io.Copy(io.Discard, io.LimitReader(brotli.NewReader(bytes.NewReader(src)), want+1))
	case format.Lz4Raw:
		out := make([]byte, want)
		var n int
		n, err = lz4.UncompressBlock(src, out)
		got = int64(n)
	default:
		return fmt.Errorf("unsupported compression codec %v", codec)
	}
	if err != nil {
		return fmt.Errorf("%v data: %v", codec, err)
	}
	if got != want {
		return fmt.Errorf("%v data of %d bytes where the header says %d", codec, got, want)
	}
	return nil
}

// Thrift compact protocol types.
const (
	tStop = iota
	tTrue
	tFalse
	tByte
	tI16
	tI32
	tI64
	tDouble
	tBinary
	tList
	tSet
	tMap
	tStruct
)

// thriftWalker reads one compact-protocol struct, checking every length
// against the bytes left before anything the length claims is read.
type thriftWalker struct {
	r    io.ByteReader
	left int64
	copy *bytes.Buffer // receives the bytes read, when set
}

// walkThrift walks one struct from r, which holds at most limit bytes of
// it; copy (optional) receives the struct's bytes.
func walkThrift(r io.ByteReader, limit int64, copy *bytes.Buffer) error {
	w := &thriftWalker{r: r, left: limit, copy: copy}
	return w.value(tStruct, 0)
}

func (w *thriftWalker) byte() (byte, error) {
	if w.left <= 0 {
		return 0, errors.New("truncated")
	}
	b, err := w.r.ReadByte()
	if err != nil {
		return 0, errors.New("truncated")
	}
	w.left--
	if w.copy != nil {
		w.copy.WriteByte(b)
	}
	return b, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b, err := w.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint too long")
}

func (w *thriftWalker) skip(n int64) error {
	if n < 0 || n > w.left {
		return fmt.Errorf("a length of %d with %d bytes left", n, w.left)
	}
	for ; n > 0; n-- {
		if _, err := w.byte(); err != nil {
			return err
		}
	}
	return nil
}

// count reads a container length: each element takes at least one byte.
func (w *thriftWalker) count(per int64) (int64, error) {
	n, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(w.left/per) {
		return 0, fmt.Errorf("a length of %d with %d bytes left", n, w.left)
	}
	return int64(n), nil
}

func (w *thriftWalker) value(t byte, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("nested more than %d levels deep", maxSchemaDepth)
	}
	switch t {
	case tTrue, tFalse:
		return nil // a field's value is in its type; a list element's is read below
	case tByte:
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		return w.skip(8)
	case tBinary:
		n, err := w.count(1)
		if err != nil {
			return err
		}
		return w.skip(n)
	case tList, tSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, et := int64(h>>4), h&0x0f
		if n == 15 {
			if n, err = w.count(1); err != nil {
				return err
			}
		} else if n > w.left {
			return fmt.Errorf("a length of %d with %d bytes left", n, w.left)
		}
		for ; n > 0; n-- {
			if et == tTrue || et == tFalse {
				if _, err := w.byte(); err != nil {
					return err
				}
				continue
			}
			if err := w.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.count(2)
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			for _, et := range []byte{kv >> 4, kv & 0x0f} {
				if et == tTrue || et == tFalse {
					if _, err := w.byte(); err != nil {
						return err
					}
				} else if err := w.value(et, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	case tStruct:
		for {
			h, err := w.byte()
			if err != nil {
				return err
			}
			if h == tStop {
				return nil
			}
			if h>>4 == 0 { // a field id that does not fit the delta
				if _, err := w.uvarint(); err != nil {
					return err
				}
			}
			if err := w.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown type %d", t)
}
