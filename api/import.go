package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/parquet-go/parquet-go"

	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// Import formats of POST /v1/collections/{id}/documents/import.
const (
	formatNDJSON  = "ndjson"
	formatNPY     = "npy"
	formatParquet = "parquet"
)

// importFormat picks the format from ?format= or the Content-Type.
func importFormat(c *gin.Context, ct string) (string, error) {
	if f := c.Query("format"); f != "" {
		switch f {
		case formatNDJSON, formatNPY, formatParquet:
			return f, nil
		}
		return "", invalid([]any{"query", "format"}, "Input should be one of: ndjson, npy, parquet", "literal_error")
	}
	switch ct {
	case "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines":
		return formatNDJSON, nil
	case "application/x-npy", "application/npy":
		return formatNPY, nil
	case "application/vnd.apache.parquet", "application/x-parquet", "application/parquet":
		return formatParquet, nil
	}
	return "", &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Message: fmt.Sprintf("cannot tell the import format from Content-Type %q: send application/x-ndjson, application/x-npy or application/vnd.apache.parquet, multipart/form-data with a \"file\" part, or ?format=ndjson|npy|parquet", ct)}
}

// importDocuments streams a bulk load into one store upsert: all of the
// file is imported, or nothing. An NDJSON or .npy body of known length is
// read document by document as it arrives; a Parquet body, a body of
// unknown length and the "file" part of a multipart form (with an optional
// "ids" part for .npy) are first spooled to a temporary file in the data
// directory with bounded memory.
func (s *Server) importDocuments(c *gin.Context) error {
	ctx := c.Request.Context()
	col, err := s.cfg.Store.GetCollection(ctx, nsOf(c).ID, c.Param("collection_id"))
	if err != nil {
		return err
	}
	start := time.Now()
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxImportBytes)
	ct, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var ids []string
	var spool *os.File
	var format string
	// in is what the source reads, of size bytes: the spooled file, or the
	// body itself (streamed).
	var in io.Reader
	var size int64
	var streamed *bodyReader
	if ct == "multipart/form-data" {
		spool, ids, format, err = s.spoolMultipart(c, body, params["boundary"])
	} else if format, err = importFormat(c, ct); err == nil {
		if n := c.Request.ContentLength; n >= 0 && format != formatParquet {
			// NDJSON and .npy are read front to back, so a body of known
			// length is imported as it arrives: the upload and the import
			// overlap instead of adding up. Parquet's footer is at the end
			// of the file, and a body of unknown length gives .npy's check
			// of its header nothing to check against: those are spooled.
			if n > s.cfg.MaxImportBytes {
				return &http.MaxBytesError{Limit: s.cfg.MaxImportBytes}
			}
			streamed = &bodyReader{r: body}
			in, size = streamed, n
		} else {
			spool, err = s.spool(body)
		}
	}
	if err != nil {
		return err
	}
	if spool != nil {
		defer func() { spool.Close(); os.Remove(spool.Name()) }()
		size, _ = spool.Seek(0, io.SeekCurrent)
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return err
		}
		in = spool
	}
	feature := c.Query("feature")
	var src store.DocumentSource
	var rowWord string
	switch format {
	case formatNDJSON:
		src, rowWord = newNDJSONSource(in, int(s.cfg.MaxBodyBytes)), "line"
	case formatNPY:
		if feature == "" {
			return invalid([]any{"query", "feature"}, "Field required: the feature name the .npy vectors are stored under", "missing")
		}
		prefix := c.DefaultQuery("id_prefix", "row_")
		if msg := store.ValidID(prefix + "0"); msg != "" {
			return invalid([]any{"query", "id_prefix"}, "id_prefix + row number "+msg, "value_error")
		}
		src, err = newNPYSource(in, size, feature, prefix, ids)
		rowWord = "row"
	case formatParquet:
		src, err = newParquetSource(spool, size, feature, c.DefaultQuery("id_column", "document_id"), c.Query("vector_column"))
		rowWord = "row"
	}
	var st store.UpsertStats
	if err == nil {
		st, err = s.cfg.Store.Upsert(ctx, col.ID, src)
	}
	if err != nil {
		if streamed != nil && streamed.err == nil {
			// A refused file: the rest of the body is read (and dropped)
			// before the answer, as when it was spooled, since a client
			// still sending may not read an answer given early (Go's
			// server closes the connection when much of a body is unread).
			io.Copy(io.Discard, streamed)
		}
		if streamed != nil && streamed.err != nil {
			// The upload itself failed (too large, cut short, the client
			// gone): what the source made of it does not matter.
			return uploadError(streamed.err)
		}
		var de *store.DocumentError
		if errors.As(err, &de) {
			// The store checks each document as soon as it is read, so the
			// source's position is the document's line or row.
			return invalid(append([]any{"body", rowWord, src.(positioned).at()}, de.Field...), de.Error(), "value_error")
		}
		return err
	}
	sec := time.Since(start).Seconds()
	s.cfg.Metrics.ImportedBytes.Add(float64(size))
	s.log.Info("import finished", "collection_id", col.ID, "format", format, "documents", st.Inserted+st.Updated, "bytes", size,
		"seconds", sec, "mb_per_second", float64(size)/1e6/max(sec, 1e-9))
	c.JSON(http.StatusOK, gin.H{"collection_id": col.ID, "format": format, "processed": st.Inserted + st.Updated,
		"inserted": st.Inserted, "updated": st.Updated, "bytes": size, "seconds": sec, "mb_per_second": float64(size) / 1e6 / max(sec, 1e-9)})
	return nil
}

// bodyReader reads a streamed upload and keeps its first error other than
// io.EOF, which tells a failed upload from a bad file.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// uploadError is the answer to an upload that could not be read: a 413
// past --max-import-bytes (the error classifier's), else a 400.
func uploadError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return err
	}
	return &Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "could not read the upload: " + err.Error()}
}

// spool copies r into a new temporary file in the data directory's tmp/
// (emptied by store.Open, so a killed import leaves nothing behind) and
// leaves the file positioned at its end.
func (s *Server) spool(r io.Reader) (*os.File, error) {
	dir := s.cfg.Store.TempDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "import-*")
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyBuffer(f, r, make([]byte, 4<<20)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, uploadError(err)
	}
	return f, nil
}

// spoolMultipart reads a multipart upload: part "file" (spooled; its
// format from ?format=, its Content-Type or its file name) and optional part
// "ids" (one document id per line, for .npy). On every error the spooled
// file is removed.
func (s *Server) spoolMultipart(c *gin.Context, body io.Reader, boundary string) (file *os.File, ids []string, format string, err error) {
	if boundary == "" {
		return nil, nil, "", invalid([]any{"header", "Content-Type"}, "multipart/form-data without a boundary", "value_error")
	}
	defer func() {
		if err != nil && file != nil {
			file.Close()
			os.Remove(file.Name())
			file = nil
		}
	}()
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return file, nil, "", err
			}
			return file, nil, "", invalid([]any{"body"}, "malformed multipart body: "+err.Error(), "value_error")
		}
		switch part.FormName() {
		case "file":
			if file != nil {
				return file, nil, "", invalid([]any{"body", "file"}, "more than one file part", "value_error")
			}
			if file, err = s.spool(part); err != nil {
				return nil, nil, "", err
			}
			pct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
			switch {
			case strings.HasSuffix(part.FileName(), ".npy"):
				format = formatNPY
			case strings.HasSuffix(part.FileName(), ".parquet"):
				format = formatParquet
			case strings.HasSuffix(part.FileName(), ".ndjson"), strings.HasSuffix(part.FileName(), ".jsonl"):
				format = formatNDJSON
			default:
				if f, err := importFormat(c, pct); err == nil {
					format = f
				}
			}
		case "ids":
			if ids != nil {
				return file, nil, "", invalid([]any{"body", "ids"}, "more than one ids part", "value_error")
			}
			ids = []string{}
			sc := bufio.NewScanner(part)
			sc.Buffer(make([]byte, 0, 64<<10), store.MaxDocumentIDLength+2)
			for sc.Scan() {
				if id := strings.TrimSpace(sc.Text()); id != "" {
					ids = append(ids, id)
				}
			}
			if err := sc.Err(); err != nil {
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					return file, nil, "", err
				}
				msg := "unreadable ids part: " + err.Error()
				if errors.Is(err, bufio.ErrTooLong) {
					msg = fmt.Sprintf("id %d is longer than %d bytes", len(ids), store.MaxDocumentIDLength)
				}
				return file, nil, "", invalid([]any{"body", "ids", len(ids)}, msg, "value_error")
			}
		}
	}
	if file == nil {
		return nil, nil, "", invalid([]any{"body", "file"}, "Field required: a multipart part named \"file\"", "missing")
	}
	if f := c.Query("format"); f != "" {
		if format, err = importFormat(c, ""); err != nil {
			return file, nil, "", err
		}
	}
	if format == "" {
		return file, nil, "", invalid([]any{"query", "format"}, "cannot tell the file's format: name it .npy/.parquet/.ndjson or pass ?format=", "missing")
	}
	return file, ids, format, nil
}

// positioned is a source that knows where its last document was: the
// line (1-based) of an NDJSON file, the row (0-based) of the others.
type positioned interface{ at() int }

func (n *ndjsonSource) at() int  { return n.line }
func (n *npySource) at() int     { return n.row - 1 }
func (p *parquetSource) at() int { return p.row - 1 }

// ndjsonSource reads one document per line. A line may be as long as a
// JSON request body (maxLine, --max-body-bytes): the buffer grows with the
// longest line read, never beyond it.
type ndjsonSource struct {
	sc      *bufio.Scanner
	line    int
	maxLine int
}

func newNDJSONSource(r io.Reader, maxLine int) *ndjsonSource {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &ndjsonSource{sc: sc, maxLine: maxLine}
}

func (n *ndjsonSource) Next() (store.DocumentInput, error) {
	for n.sc.Scan() {
		n.line++
		b := bytes.TrimSpace(n.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		// Validated against the model, then decoded from the line itself:
		// a document has no defaults to fill in.
		v, err := schema.Parse(b)
		if err != nil {
			return store.DocumentInput{}, invalid([]any{"body", "line", n.line}, "JSON decode error: "+errText(err), "json_invalid")
		}
		if ps := DocumentModel.Validate(v, schema.Path{"body", "line", n.line}); len(ps) > 0 {
			return store.DocumentInput{}, problemsError(ps)
		}
		var d DocumentIn
		if err := json.Unmarshal(b, &d); err != nil {
			return store.DocumentInput{}, invalid([]any{"body", "line", n.line}, errText(err), "value_error")
		}
		return store.DocumentInput{ID: d.DocumentID, Features: d.Features, Payload: d.Payload}, nil
	}
	if err := n.sc.Err(); err != nil {
		msg := err.Error()
		if errors.Is(err, bufio.ErrTooLong) {
			msg = fmt.Sprintf("line is longer than the limit of %d bytes (--max-body-bytes)", n.maxLine)
		}
		return store.DocumentInput{}, invalid([]any{"body", "line", n.line + 1}, msg, "value_error")
	}
	return store.DocumentInput{}, io.EOF
}

// npySource streams the rows of a 2-D float32/float64 .npy as documents
// with ids from the ids part or prefix+row.
type npySource struct {
	m        *npy.MatrixReader
	feature  string
	prefix   string
	ids      []string
	buf      []float32
	features map[string][]float32
	have     int // rows in buf
	next     int // next row of buf to hand out
	row      int
}

// npyChunkBytes bounds the rows an import reads at once.
const npyChunkBytes = 4 << 20

// newNPYSource checks the header against the limits and against size, the
// body's length, before allocating anything from it: the buffer holds at
// most npyChunkBytes of rows, and only of rows the body has.
func newNPYSource(r io.Reader, size int64, feature, prefix string, ids []string) (*npySource, error) {
	m, err := npy.NewMatrixReader(r)
	if err != nil {
		return nil, invalid([]any{"body"}, err.Error(), "value_error")
	}
	if m.Cols == 0 {
		return nil, invalid([]any{"body"}, "the array has zero columns", "value_error")
	}
	if m.Cols > store.MaxDimension {
		return nil, invalid([]any{"body"}, fmt.Sprintf("the array has %d columns, above the limit of %d dimensions", m.Cols, store.MaxDimension), "value_error")
	}
	if err := m.Header.CheckSize(size); err != nil {
		return nil, invalid([]any{"body"}, err.Error(), "value_error")
	}
	if ids != nil && len(ids) != m.Rows {
		return nil, invalid([]any{"body", "ids"}, fmt.Sprintf("%d ids for %d rows", len(ids), m.Rows), "value_error")
	}
	chunk := max(1, min(m.Rows, npyChunkBytes/(4*m.Cols)))
	return &npySource{m: m, feature: feature, prefix: prefix, ids: ids, buf: make([]float32, chunk*m.Cols)}, nil
}

func (n *npySource) Next() (store.DocumentInput, error) {
	if n.next == n.have {
		got, err := n.m.Next(n.buf)
		if errors.Is(err, io.EOF) {
			return store.DocumentInput{}, io.EOF
		}
		if err != nil {
			return store.DocumentInput{}, invalid([]any{"body", "row", n.row}, err.Error(), "value_error")
		}
		n.have, n.next = got, 0
	}
	d := n.m.Cols
	vec := n.buf[n.next*d : (n.next+1)*d : (n.next+1)*d]
	id := n.prefix + strconv.Itoa(n.row)
	if n.ids != nil {
		id = n.ids[n.row]
	}
	n.next++
	n.row++
	if n.features == nil {
		n.features = make(map[string][]float32, 1)
	}
	n.features[n.feature] = vec // reused by every row (store.DocumentSource)
	return store.DocumentInput{ID: id, Features: n.features}, nil
}

// parquetSource reads rows of a Parquet file: an id column, a list<float>
// (or list<double>) vector column, and every other flat column into the
// payload. Each column is read on its own (parquetColumn).
type parquetSource struct {
	feature  string
	vecs, id *parquetColumn // id nil without an id column
	payload  []*parquetColumn
	names    []string // of the payload columns
	row      int
	// vec and features are reused by every row: the store copies a
	// document's vectors before it asks for the next (store.DocumentSource).
	vec      []float32
	features map[string][]float32
	vals     []parquet.Value
}

func newParquetSource(f io.ReaderAt, size int64, feature, idColumn, vectorColumn string) (p *parquetSource, err error) {
	defer recoverParquet(&err, []any{"body"})
	// Checked first: parquet-go allocates what a file claims (see
	// checkParquetFooter; each column chunk's pages are checked as the
	// column reaches them).
	meta, err := checkParquetFooter(f, size)
	if err != nil {
		return nil, unreadableParquet(err)
	}
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, unreadableParquet(err)
	}
	checker := newChunkChecker(f)
	column := func(leaf parquet.LeafColumn, vector bool) *parquetColumn {
		return newParquetColumn(pf, meta, checker, leaf, vector)
	}
	p = &parquetSource{feature: feature}
	leaf := func(path []string) parquet.LeafColumn {
		l, ok := pf.Schema().Lookup(path...)
		if !ok {
			panic(fmt.Sprintf("column %s is not in the schema", strings.Join(path, ".")))
		}
		return l
	}
	lists := map[string][]string{} // repeated (list) leaf columns by top-level name
	var listNames []string
	for _, path := range pf.Schema().Columns() {
		switch {
		case len(path) > 1:
			if _, seen := lists[path[0]]; !seen {
				lists[path[0]] = path
				listNames = append(listNames, path[0])
			}
		case path[0] == idColumn:
			p.id = column(leaf(path), false)
		default:
			p.payload = append(p.payload, column(leaf(path), false))
			p.names = append(p.names, path[0])
		}
	}
	// The vector column: as named, else the one named like the feature,
	// else the only list column.
	if vectorColumn == "" {
		if _, ok := lists[feature]; ok {
			vectorColumn = feature
		} else if len(listNames) == 1 {
			vectorColumn = listNames[0]
		} else {
			return nil, invalid([]any{"query", "vector_column"}, fmt.Sprintf("cannot tell which list column holds the vectors (%s); name it with ?vector_column=", strings.Join(listNames, ", ")), "missing")
		}
	}
	path, ok := lists[vectorColumn]
	if !ok {
		return nil, invalid([]any{"query", "vector_column"}, fmt.Sprintf("no list column %q in the Parquet file (list columns: %s)", vectorColumn, strings.Join(listNames, ", ")), "value_error")
	}
	p.vecs = column(leaf(path), true)
	if p.feature == "" {
		p.feature = vectorColumn
	}
	return p, nil
}

// unreadableParquet is the answer to a file that fails a structural check
// (see checkParquetFooter) or that parquet-go cannot open.
func unreadableParquet(err error) error {
	return invalid([]any{"body"}, "not a readable Parquet file: "+err.Error(), "value_error")
}

// readError is the answer to an error reading the row at p.row: a column
// chunk that fails its check makes the file unreadable, whatever row it
// was found at.
func (p *parquetSource) readError(err error) error {
	if errors.Is(err, errParquetLimit) {
		return unreadableParquet(err)
	}
	return invalid([]any{"body", "row", p.row}, "reading Parquet: "+err.Error(), "value_error")
}

// recoverParquet turns a panic of the Parquet library on a malformed file
// into a 422 at loc: bad input is never a 500.
func recoverParquet(err *error, loc []any) {
	if r := recover(); r != nil {
		*err = invalid(loc, fmt.Sprintf("not a readable Parquet file: %v", r), "value_error")
	}
}

func (p *parquetSource) Next() (doc store.DocumentInput, err error) {
	defer recoverParquet(&err, []any{"body", "row", p.row})
	vec, _, ok, err := p.vecs.nextRow(p.vec[:0], nil)
	if errors.Is(err, errVectorKind) {
		return doc, invalid([]any{"body", "row", p.row, p.feature}, err.Error(), "value_error")
	}
	if err != nil {
		return doc, p.readError(err)
	}
	if !ok {
		return store.DocumentInput{}, io.EOF
	}
	p.vec = vec
	if p.features == nil {
		p.features = make(map[string][]float32, 1)
	}
	doc = store.DocumentInput{Features: p.features}
	doc.Features[p.feature] = vec
	// The last non-null value of a column's row (flat columns have one).
	last := func(c *parquetColumn) (parquet.Value, bool, error) {
		var ok bool
		var err error
		if _, p.vals, ok, err = c.nextRow(nil, p.vals[:0]); err == nil && !ok {
			err = errors.New("a column has fewer rows than the vector column")
		}
		for i := len(p.vals) - 1; i >= 0; i-- {
			if !p.vals[i].IsNull() {
				return p.vals[i], true, err
			}
		}
		return parquet.Value{}, false, err
	}
	if p.id != nil {
		v, ok, err := last(p.id)
		if err != nil {
			return doc, p.readError(err)
		}
		if ok {
			doc.ID = valueString(v)
		}
	}
	var payload map[string]any
	for i, c := range p.payload {
		v, ok, err := last(c)
		if err != nil {
			return doc, p.readError(err)
		}
		if ok {
			if payload == nil {
				payload = map[string]any{}
			}
			payload[p.names[i]] = valueAny(v)
		}
	}
	if len(payload) > 0 {
		doc.Payload, _ = json.Marshal(payload)
	}
	if doc.ID == "" {
		doc.ID = "row_" + strconv.Itoa(p.row)
	}
	p.row++
	return doc, nil
}

func valueString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Int32:
		return strconv.Itoa(int(v.Int32()))
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	}
	return v.String()
}

func valueAny(v parquet.Value) any {
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Int32:
		return v.Int32()
	case parquet.Int64:
		return v.Int64()
	case parquet.Float:
		return v.Float()
	case parquet.Double:
		return v.Double()
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}
