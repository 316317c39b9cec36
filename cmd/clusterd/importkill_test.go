package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/internal/npy"
)

// metric reads one unlabelled sample from /metrics.
func (s *server) metric(name string) float64 {
	s.t.Helper()
	code, raw := s.do("GET", "/metrics", "", nil)
	if code != 200 {
		s.t.Fatalf("/metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	s.t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestKillDuringImport kills the service with SIGKILL while a large import
// is writing: after the restart nothing of it is left (no spooled upload in
// tmp/, no segment bytes past the committed rows, which /metrics reports as
// segment bytes equal to live bytes), the collection reads as before, and
// the same import then succeeds. Both ways an upload is read: a body of
// unknown length (chunked) is spooled to tmp/ first, one with a
// Content-Length is imported as it arrives and spools nothing.
func TestKillDuringImport(t *testing.T) {
	cases := []struct {
		name    string
		body    func(b []byte) io.Reader
		spooled bool
	}{
		{"chunked, spooled", func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }, true},
		{"Content-Length, streamed", func(b []byte) io.Reader { return bytes.NewReader(b) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t)
			s.start()
			defer s.stop()
			var col struct {
				CollectionID string `json:"collection_id"`
			}
			s.json("POST", "/v1/collections", map[string]any{"collection_name": "docs"}, &col)
			small := npyBytes(t, 2000, 16)
			if code, raw := s.do("POST", "/v1/collections/docs/documents/import?feature=emb", "application/x-npy", small); code != 200 {
				t.Fatalf("import: %d %s", code, raw)
			}
			const committed = 2000 * 16 * 4
			big := npyBytes(t, 200000, 16)
			go func() {
				// The server dies under this request: its error is expected.
				req, _ := http.NewRequest("POST", "http://"+s.addr+"/v1/collections/docs/documents/import?feature=emb&id_prefix=big_", c.body(big))
				req.Header.Set("Content-Type", "application/x-npy")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			segs := filepath.Join(s.dir, "vectors", col.CollectionID)
			deadline := time.Now().Add(60 * time.Second)
			for segBytes(t, segs) < committed+(2<<20) {
				if time.Now().After(deadline) {
					t.Fatalf("the import wrote no vectors; log:\n%s", s.log)
				}
				time.Sleep(2 * time.Millisecond)
			}
			if entries, _ := os.ReadDir(filepath.Join(s.dir, "tmp")); (len(entries) > 0) != c.spooled {
				t.Fatalf("tmp/ holds %d files while the import runs; want a spooled upload: %v", len(entries), c.spooled)
			}
			s.kill(syscall.SIGKILL)

			s.start()
			if entries, _ := os.ReadDir(filepath.Join(s.dir, "tmp")); len(entries) != 0 {
				t.Errorf("tmp/ after the restart holds %d files", len(entries))
			}
			if got := segBytes(t, segs); got != committed {
				t.Errorf("segment files hold %d bytes after the restart, %d committed", got, committed)
			}
			if file, live := s.metric("clusterd_segment_bytes"), s.metric("clusterd_segment_live_bytes"); file != committed || live != committed {
				t.Errorf("/metrics: segment bytes %v, live %v; want both %d", file, live, committed)
			}
			var got struct {
				DocumentCount int `json:"document_count"`
			}
			s.json("GET", "/v1/collections/docs", nil, &got)
			if got.DocumentCount != 2000 {
				t.Errorf("%d documents after the restart, want 2000", got.DocumentCount)
			}
			if code, raw := s.do("POST", "/v1/collections/docs/documents/import?feature=emb&id_prefix=big_", "application/x-npy", big); code != 200 {
				t.Fatalf("import after the restart: %d %s", code, raw)
			}
			s.json("GET", "/v1/collections/docs", nil, &got)
			if got.DocumentCount != 202000 {
				t.Errorf("%d documents after the second import, want 202000", got.DocumentCount)
			}
		})
	}
}

func npyBytes(t *testing.T, n, d int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := npy.WriteFloat32(&buf, bench.Blobs(n, d, 10, 3), n, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// segBytes sums the sizes of the segment files in dir.
func segBytes(t *testing.T, dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}
