package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// npyWithHeader is a version 1.0 .npy whose header dictionary is dict,
// followed by data.
func npyWithHeader(dict string, data []byte) []byte {
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	return append(append(out, dict...), data...)
}

// TestNPYClaimsCostNothing: a .npy of a few bytes whose header promises a
// huge array is a 422 that allocates about nothing (the old code allocated
// 4096 × columns floats first, gigabytes, and panicked into a 500 for 2^40
// columns); a dimension above the limit is a 422 too.
func TestNPYClaimsCostNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	cases := []struct {
		name, shape string
		data        int
		want        string
	}{
		{"300k columns, one row, no data", "(1, 300000)", 16, "dimensions"},
		{"2^40 columns", "(1, 1099511627776)", 16, "dimensions"},
		{"a billion rows, no data", "(1000000000, 1000)", 16, "truncated"},
		{"rows × columns past int64", "(4611686018427387904, 4)", 16, "too large"},
		{"70,000 columns with their data", "(1, 70000)", 280000, "above the limit of 65536 dimensions"},
	}
	for _, c := range cases {
		body := npyWithHeader(fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", c.shape), make([]byte, c.data))
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		code, out := e.call("POST", "/v1/collections/c/documents/import?feature=e", body, "Content-Type", "application/x-npy")
		runtime.ReadMemStats(&m1)
		checkError(t, code, out, 422, c.want)
		// Allocations while serving the request: buffers of constant size
		// (the spool's copy buffer, the reader's) and the body, whatever
		// the header claims.
		if got := m1.TotalAlloc - m0.TotalAlloc; got > 64<<20 {
			t.Errorf("%s: %d MiB allocated for a %d-byte upload", c.name, got>>20, len(body))
		}
	}
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	e.ok("GET", "/v1/collections/c", nil, &col)
	if col.DocumentCount != 0 {
		t.Fatalf("%d documents after refused imports", col.DocumentCount)
	}
}

// TestNDJSONLineLimit: a line longer than --max-body-bytes (8 MiB in these
// tests) is a 422 at its line that says so.
func TestNDJSONLineLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	long := `{"document_id":"b","payload":{"t":"` + strings.Repeat("x", 9<<20) + `"}}`
	body := `{"document_id":"a","payload":{"t":1}}` + "\n" + long + "\n"
	code, out := e.call("POST", "/v1/collections/c/documents/import", body, "Content-Type", "application/x-ndjson")
	checkError(t, code, out, 422, `"loc":["body","line",2]`)
	if !strings.Contains(string(out), "longer than the limit of 8388608 bytes") {
		t.Errorf("message: %s", out)
	}
}

// multipartBody builds a multipart form of (name, filename, content) parts.
func multipartBody(t *testing.T, parts ...[3]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var pw interface{ Write([]byte) (int, error) }
		var err error
		if p[1] != "" {
			pw, err = w.CreateFormFile(p[0], p[1])
		} else {
			pw, err = w.CreateFormField(p[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[2]))
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// TestFailedImportsLeaveNoSpool: every refused import, multipart or not,
// leaves the data directory's tmp/ empty (the old code left the first of
// two file parts there).
func TestFailedImportsLeaveNoSpool(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	nd := `{"document_id":"a","features":{"e":[1,2]}}` + "\n"
	npyRows := string(npyMatrix(t, 2, 2))
	cases := []struct {
		name  string
		parts [][3]string
		query string
		want  string
	}{
		{"two file parts", [][3]string{{"file", "a.ndjson", nd}, {"file", "b.ndjson", nd}}, "", "more than one file part"},
		{"no format", [][3]string{{"file", "a.bin", nd}}, "", "cannot tell the file's format"},
		{"bad ?format", [][3]string{{"file", "a.ndjson", nd}}, "?format=csv", "literal_error"},
		{"two ids parts", [][3]string{{"file", "a.npy", npyRows}, {"ids", "", "x\ny"}, {"ids", "", "x\ny"}}, "?feature=e", "more than one ids part"},
		{"an id too long", [][3]string{{"file", "a.npy", npyRows}, {"ids", "", "x\n" + strings.Repeat("y", 600)}}, "?feature=e", "longer than 512 bytes"},
		{"ids for other rows", [][3]string{{"file", "a.npy", npyRows}, {"ids", "", "x"}}, "?feature=e", "1 ids for 2 rows"},
		{"a bad line", [][3]string{{"file", "a.ndjson", nd + "{\n"}}, "", "JSON decode error"},
	}
	for _, c := range cases {
		body, ct := multipartBody(t, c.parts...)
		code, out := e.call("POST", "/v1/collections/c/documents/import"+c.query, body, "Content-Type", ct)
		if code != 422 || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %d %s, want 422 with %q", c.name, code, out, c.want)
		}
		if entries, _ := os.ReadDir(e.store.TempDir()); len(entries) != 0 {
			t.Errorf("%s: tmp/ holds %d files after the refused import", c.name, len(entries))
		}
	}
}

// TestRefusedKeyCreatesNoNamespace: a scoped key's write to another
// namespace is a 403 that creates nothing (the old code created the
// namespace row before checking the scope).
func TestRefusedKeyCreatesNoNamespace(t *testing.T) {
	e := newEnv(t, envOpts{keys: "scoped-key-2=team-a"})
	for i := range 5 {
		ns := fmt.Sprintf("not-mine-%d", i)
		code, body := e.call("POST", "/v1/collections", map[string]any{"collection_name": "x"}, "X-Namespace", ns)
		checkError(t, code, body, 403, "namespace_forbidden")
		got, err := e.store.ResolveNamespace(context.Background(), ns, false)
		if err != nil || got.ID != "" {
			t.Errorf("a refused write created namespace %q: %+v %v", ns, got, err)
		}
	}
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "x"}, nil, "X-Namespace", "team-a")
	if got, _ := e.store.ResolveNamespace(context.Background(), "team-a", false); got.ID == "" {
		t.Error("an allowed write did not create its namespace")
	}
}

// TestIDsInURLsAreRefusedWithSlash: every way to write a document id, and
// cluster names, refuse "/" (and control characters) with a 422 at the
// place it came from, so that everything stored can be read back by URL.
// The old code stored them from imports and cluster creates.
func TestIDsInURLsAreRefusedWithSlash(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	type row struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
	}
	var pq bytes.Buffer
	if err := parquet.Write(&pq, []row{{"p1", []float32{1, 2}}, {"p/2", []float32{3, 4}}}); err != nil {
		t.Fatal(err)
	}
	var pqBad bytes.Buffer
	if err := parquet.Write(&pqBad, []row{{"p1", []float32{1, 2}}, {"p\xff", []float32{3, 4}}}); err != nil {
		t.Fatal(err)
	}
	idsForm, idsCT := multipartBody(t, [3]string{"file", "x.npy", string(npyMatrix(t, 3, 2))}, [3]string{"ids", "", "a\nb/c\nd"})
	cases := []struct {
		name, path, ct string
		body           any
		loc            string
	}{
		{"JSON upsert", "/v1/collections/c/documents", "application/json",
			`{"documents":[{"document_id":"a/b","features":{"e":[1,2]}}]}`, `["body","documents",0,"document_id"]`},
		{"NDJSON", "/v1/collections/c/documents/import", "application/x-ndjson",
			"{\"document_id\":\"ok\",\"features\":{\"e\":[1,2]}}\n{\"document_id\":\"a/b\",\"features\":{\"e\":[1,2]}}\n", `["body","line",2,"document_id"]`},
		{"NDJSON control character", "/v1/collections/c/documents/import", "application/x-ndjson",
			"{\"document_id\":\"a\\u0001b\",\"features\":{\"e\":[1,2]}}\n", `["body","line",1,"document_id"]`},
		{"npy ids part", "/v1/collections/c/documents/import?feature=e", idsCT, idsForm, `["body","row",1,"document_id"]`},
		{"npy id_prefix", "/v1/collections/c/documents/import?feature=e&id_prefix=x/", "application/x-npy", npyMatrix(t, 2, 2), `["query","id_prefix"]`},
		{"Parquet id column", "/v1/collections/c/documents/import?feature=e", "application/vnd.apache.parquet", pq.Bytes(), `["body","row",1,"document_id"]`},
		{"Parquet id not UTF-8", "/v1/collections/c/documents/import?feature=e", "application/vnd.apache.parquet", pqBad.Bytes(), `["body","row",1,"document_id"]`},
		{"cluster name", "/v1/clusters", "application/json",
			`{"collection_ids":["c"],"cluster_name":"a/b","vector_config":{"clustering_method":"kmeans"}}`, `["body","cluster_name"]`},
	}
	for _, c := range cases {
		code, out := e.call("POST", c.path, c.body, "Content-Type", c.ct)
		if code != 422 || !strings.Contains(string(out), `"loc":`+c.loc) {
			t.Errorf("%s: %d %s, want a 422 at %s", c.name, code, out, c.loc)
		}
	}
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	e.ok("GET", "/v1/collections/c", nil, &col)
	if col.DocumentCount != 0 {
		t.Errorf("%d documents stored by refused requests", col.DocumentCount)
	}
	// What is accepted reads back by its URL.
	e.ok("POST", "/v1/collections/c/documents", `{"documents":[{"document_id":"a b?c#d%e","features":{"e":[1,2]}}]}`, nil)
	var doc struct {
		DocumentID string `json:"document_id"`
	}
	e.ok("GET", "/v1/collections/c/documents/a%20b%3Fc%23d%25e", nil, &doc)
	if doc.DocumentID != "a b?c#d%e" {
		t.Errorf("read back %q", doc.DocumentID)
	}
	_ = json.Valid
	_ = http.StatusOK
}

// TestImportsStream: an NDJSON or .npy body of known length is imported as
// it arrives, with nothing spooled: while half of the body is sent, the
// collection's segment file grows and tmp/ stays empty, and the whole
// import lands once the rest comes. A body cut short stores nothing (a 400,
// when the client is still there to read it); a file refused at its first
// document is answered (422) only after the rest of its body was read; a
// Content-Length past --max-import-bytes is a 413 before anything is read.
func TestImportsStream(t *testing.T) {
	// More than one staged batch (512 documents), and vectors large enough
	// that the reader's chunks (4 MiB of .npy rows) and the segment's write
	// buffer (1 MiB) fill long before half of the body is sent.
	const rows, dim = 3000, 1024
	var nd bytes.Buffer
	for i := range rows {
		fmt.Fprintf(&nd, `{"document_id":"d%d","features":{"e":[%d`, i, i)
		for range dim - 1 {
			nd.WriteString(",1")
		}
		nd.WriteString("]}}\n")
	}
	npyBody := npyMatrix(t, rows, dim)
	// The same files with their first document refused: a NaN, a bad line.
	npyBad := slices.Clone(npyBody)
	binary.LittleEndian.PutUint32(npyBad[len(npyBad)-rows*dim*4:], math.Float32bits(float32(math.NaN())))
	ndBad := append([]byte("{\n"), nd.Bytes()...)
	cases := []struct {
		name, ct, query string
		body, bad       []byte
		badAt           string
	}{
		{".npy", "application/x-npy", "?feature=e", npyBody, npyBad, `["body","row",0`},
		{"NDJSON", "application/x-ndjson", "", nd.Bytes(), ndBad, `["body","line",1]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			var col struct {
				ID string `json:"collection_id"`
			}
			e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, &col)
			segments := filepath.Join(e.store.Dir(), "vectors", col.ID)
			written := func() int64 {
				var n int64
				entries, _ := os.ReadDir(segments)
				for _, en := range entries {
					if info, err := en.Info(); err == nil {
						n += info.Size()
					}
				}
				return n
			}
			send := func(body io.Reader, length int64) (int, []byte) {
				req, _ := http.NewRequest("POST", e.url+"/v1/collections/c/documents/import"+c.query, body)
				req.ContentLength = length
				req.Header.Set("Content-Type", c.ct)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return 0, []byte(err.Error())
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, out
			}

			pr, pw := io.Pipe()
			defer pw.CloseWithError(errors.New("the test ended")) // a failed test does not leave the request hanging
			type answer struct {
				code int
				body []byte
			}
			done := make(chan answer, 1)
			go func() {
				code, out := send(pr, int64(len(c.body)))
				done <- answer{code, out}
			}()
			half := len(c.body) / 2
			if _, err := pw.Write(c.body[:half]); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for written() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if written() == 0 {
				t.Fatal("half of the body sent, and no vector written after 10 s: the import waits for the whole upload")
			}
			if entries, _ := os.ReadDir(e.store.TempDir()); len(entries) != 0 {
				t.Fatalf("tmp/ holds %d files while the body streams", len(entries))
			}
			if _, err := pw.Write(c.body[half:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			a := <-done
			var st struct{ Inserted int }
			if a.code != 200 || json.Unmarshal(a.body, &st) != nil || st.Inserted != rows {
				t.Fatalf("import: %d %s, want 200 with %d inserted", a.code, a.body, rows)
			}

			// Cut short: the client says more than it sends and goes away.
			// Then the whole body into the same collection: imports into
			// one collection run one at a time, so this one starts once the
			// failed one is gone, and finds none of its documents.
			e.ok("POST", "/v1/collections", map[string]any{"collection_name": "cut"}, nil)
			req, _ := http.NewRequest("POST", e.url+"/v1/collections/cut/documents/import"+c.query, &closingReader{r: bytes.NewReader(c.body[:half])})
			req.ContentLength = int64(len(c.body))
			req.Header.Set("Content-Type", c.ct)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				checkError(t, resp.StatusCode, out, 400, "could not read the upload")
			}
			e.ok("POST", "/v1/collections/cut/documents/import"+c.query, c.body, &st, "Content-Type", c.ct)
			var cut struct {
				DocumentCount int `json:"document_count"`
			}
			e.ok("GET", "/v1/collections/cut", nil, &cut)
			if st.Inserted != rows || cut.DocumentCount != rows {
				t.Fatalf("after a body cut short and the whole one: %d inserted, %d documents; want %d and %d", st.Inserted, cut.DocumentCount, rows, rows)
			}

			// A file refused at its first document: the answer (a 422 at
			// it) comes once the whole body is read, so that a client
			// still sending gets it; the body was not cut off.
			pr, pw = io.Pipe()
			go func() {
				code, out := send(pr, int64(len(c.bad)))
				done <- answer{code, out}
			}()
			for off := 0; off < len(c.bad); off += 1 << 20 {
				if _, err := pw.Write(c.bad[off:min(off+1<<20, len(c.bad))]); err != nil {
					t.Fatalf("writing the refused body at byte %d of %d: %v (the server stopped reading it)", off, len(c.bad), err)
				}
			}
			pw.Close()
			a = <-done
			checkError(t, a.code, a.body, 422, c.badAt)

			// Too large: answered before a byte of the body is read (the
			// body never comes).
			never, closeBody := io.Pipe()
			defer closeBody.Close()
			code, out := send(never, 1<<62)
			checkError(t, code, out, 413, "")
		})
	}
}

// closingReader returns its bytes, then an error instead of io.EOF: the
// upload ends early, as when a client goes away.
type closingReader struct{ r io.Reader }

func (c *closingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, errors.New("client gone")
	}
	return n, err
}

// TestParquetBadChunkStoresNothing: a column chunk's pages are checked
// when the import reaches them, after earlier rows were written (staged);
// a bad page there still refuses the whole file (422, located in the
// body) and leaves nothing stored. The same file, unbroken, imports whole.
func TestParquetBadChunkStoresNothing(t *testing.T) {
	type row struct {
		DocumentID string    `parquet:"document_id"`
		Vec        []float32 `parquet:"vec,list"`
	}
	const groupRows = 2000 // several staged batches before the second row group
	rows := make([]row, 2*groupRows)
	for i := range rows {
		rows[i] = row{DocumentID: fmt.Sprintf("d%d", i), Vec: []float32{float32(i), 1, 2, 3, 4, 5, 6, 7}}
	}
	var b bytes.Buffer
	w := parquet.NewGenericWriter[row](&b, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(groupRows))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	f, err := parquet.OpenFile(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	md := f.Metadata()
	if len(md.RowGroups) != 2 {
		t.Fatalf("%d row groups, want 2", len(md.RowGroups))
	}
	// The snappy length of the first page of the second row group's vector
	// column, off by one.
	vec := md.RowGroups[1].Columns[1].MetaData
	if vec.DictionaryPageOffset != 0 {
		t.Fatal("the vector column has a dictionary page")
	}
	// The page header is the shortest prefix that decodes whole; a
	// version 2 page's levels come before its compressed values.
	at := vec.DataPageOffset
	for n := int64(1); ; n++ {
		var h format.PageHeader
		if thrift.Unmarshal(new(thrift.CompactProtocol), good[at:at+n], &h) == nil {
			at += n
			if v2, ok := h.DataPageHeaderV2.Get(); ok {
				at += int64(v2.RepetitionLevelsByteLength + v2.DefinitionLevelsByteLength)
			}
			break
		}
		if n == 1024 {
			t.Fatal("no page header at the vector column's first data page")
		}
	}
	bad := slices.Clone(good)
	bad[at] ^= 1

	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "c"}, nil)
	code, out := e.call("POST", "/v1/collections/c/documents/import", bad, "Content-Type", "application/vnd.apache.parquet")
	if code != 422 || !strings.Contains(string(out), `"loc":["body"]`) || !strings.Contains(string(out), "row group 1, column 1: page 0: snappy data") {
		t.Fatalf("a bad page in the second row group: %d %s, want a 422 at [\"body\"] naming it", code, out)
	}
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	e.ok("GET", "/v1/collections/c", nil, &col)
	if col.DocumentCount != 0 {
		t.Fatalf("%d documents stored by a refused file", col.DocumentCount)
	}
	var st struct {
		Inserted int `json:"inserted"`
	}
	e.ok("POST", "/v1/collections/c/documents/import", good, &st, "Content-Type", "application/vnd.apache.parquet")
	e.ok("GET", "/v1/collections/c", nil, &col)
	if st.Inserted != len(rows) || col.DocumentCount != len(rows) {
		t.Fatalf("the unbroken file: %d inserted, %d stored, want %d", st.Inserted, col.DocumentCount, len(rows))
	}
}
