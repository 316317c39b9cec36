// Command soak runs a clusterd serve child for a while under imports,
// executes and cancels, kills it with SIGKILL at random moments, restarts
// it, and checks after every restart that nothing was lost or left behind:
//
//   - every collection holds exactly the documents of the imports that
//     committed (an import cut by a kill counts whole or not at all);
//   - a replacing import (same ids) is visible whole or not at all;
//   - tmp/ is empty (no spooled upload survives), and runs/ holds only
//     directories of runs that exist;
//   - the segment files hold exactly the live vectors plus the rows that
//     committed replacements superseded (clusterd_segment_bytes and
//     clusterd_segment_live_bytes from /metrics);
//
// and at the end, with no more kills, that every run it can see ends
// (completed or failed). It prints minutes, operations, kills and
// invariant violations.
//
//	go run ./bench/soak -minutes 10
//
// Not a test and not in CI: it takes as long as it is told to.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/bench/internal/child"
	"github.com/clusterd/clusterd/internal/npy"
)

const dim = 16

func main() {
	minutes := flag.Float64("minutes", 10, "how long to run")
	bin := flag.String("clusterd", "", "clusterd binary (default: go build ./cmd/clusterd)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	work, err := os.MkdirTemp("", "soak-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	if *bin == "" {
		if *bin, err = child.Build(work); err != nil {
			log.Fatal(err)
		}
	}
	s := &soak{r: rand.New(rand.NewPCG(*seed, 7)), imports: map[string][]importRec{}}
	if s.srv, err = child.New(*bin, filepath.Join(work, "data")); err != nil {
		log.Fatal(err)
	}
	if err := s.run(time.Duration(*minutes * float64(time.Minute))); err != nil {
		log.Fatal(err)
	}
}

// importRec is an import whose outcome is known.
type importRec struct {
	prefix string
	rows   int
	marker float32 // the first value of every vector it wrote
}

type soak struct {
	srv *child.Server
	r   *rand.Rand
	mu  sync.Mutex
	// imports holds, per collection, the imports that committed.
	imports map[string][]importRec
	// pending is an import whose answer a kill cut off: it committed
	// whole or not at all, which the next check finds out.
	pending  *pendingImport
	replaced int64 // segment bytes superseded by committed replacements
	runs     map[string]string
	ops      atomic.Int64
	kills    int
	viol     int
	seq      int
}

type pendingImport struct {
	col     string
	rec     importRec
	replace bool // same ids as an earlier import: a replacement
}

var collections = []string{"alpha", "beta"}

func (s *soak) violation(format string, args ...any) {
	s.viol++
	log.Printf("VIOLATION: "+format, args...)
}

func (s *soak) run(d time.Duration) error {
	s.runs = map[string]string{}
	if err := s.srv.Start(); err != nil {
		return err
	}
	defer s.srv.Kill(syscall.SIGTERM)
	clusters := map[string]string{}
	for _, c := range collections {
		if err := s.srv.JSON("POST", "/v1/collections", map[string]any{"collection_name": c}, nil); err != nil {
			return err
		}
		// A first import, so that clusters have something to run on.
		if err := s.importOnce(c, false); err != nil {
			return err
		}
		var cl struct {
			ClusterID string `json:"cluster_id"`
		}
		if err := s.srv.JSON("POST", "/v1/clusters", map[string]any{"collection_ids": []string{c},
			"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 8, "n_init": 3}}}, &cl); err != nil {
			return err
		}
		clusters[c] = cl.ClusterID
	}
	start := time.Now()
	end := start.Add(d)
	for time.Now().Before(end) {
		// A stretch of load, then a kill at a random moment of it.
		stretch := time.Duration(5+s.r.IntN(20)) * time.Second
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s.importer(stop) }()
		go func() { defer wg.Done(); s.executor(stop, clusters) }()
		time.Sleep(min(stretch, time.Until(end)))
		last := !time.Now().Before(end)
		if last {
			close(stop)
			wg.Wait()
			break
		}
		s.srv.Kill(syscall.SIGKILL)
		s.kills++
		close(stop)
		wg.Wait()
		if err := s.srv.Start(); err != nil {
			return err
		}
		s.check()
	}
	loaded := time.Since(start)
	s.srv.Kill(syscall.SIGTERM)
	if err := s.srv.Start(); err != nil {
		return err
	}
	s.check()
	s.waitRunsEnd(clusters)
	fmt.Printf("soak: %.1f minutes under load (%.1f with the wait for the last runs), %d operations, %d kills, %d runs, %d invariant violations\n",
		loaded.Minutes(), time.Since(start).Minutes(), s.ops.Load(), s.kills, len(s.runs), s.viol)
	if s.viol > 0 {
		os.Exit(1)
	}
	return nil
}

// importer imports .npy files one after another until stop: new ids
// mostly, sometimes the ids of an earlier import again (a replacement).
func (s *soak) importer(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		s.mu.Lock()
		col := collections[s.r.IntN(len(collections))]
		replace := s.r.IntN(4) == 0 && len(s.imports[col]) > 1
		s.mu.Unlock()
		if err := s.importOnce(col, replace); err != nil {
			return // the server is being killed
		}
	}
}

// importOnce imports one file; an error means the answer was lost (the
// import is then pending until the next check).
func (s *soak) importOnce(col string, replace bool) error {
	s.mu.Lock()
	s.seq++
	rec := importRec{prefix: fmt.Sprintf("i%d_", s.seq), rows: 2000 + s.r.IntN(60000), marker: float32(s.seq)}
	if replace {
		old := s.imports[col][1+s.r.IntN(len(s.imports[col])-1)] // never the first: the clusters need it as it is
		rec.prefix, rec.rows = old.prefix, old.rows
	}
	s.mu.Unlock()
	x := bench.Blobs(rec.rows, dim, 8, uint64(rec.marker))
	for i := 0; i < rec.rows; i++ {
		x[i*dim] = rec.marker
	}
	var buf bytes.Buffer
	npy.WriteFloat32(&buf, x, rec.rows, dim)
	s.mu.Lock()
	s.pending = &pendingImport{col: col, rec: rec, replace: replace}
	s.mu.Unlock()
	code, body, err := s.srv.Do("POST", "/v1/collections/"+col+"/documents/import?feature=emb&id_prefix="+rec.prefix, "application/x-npy", buf.Bytes())
	s.ops.Add(1)
	if err != nil {
		return err // pending stays for the check
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = nil
	if code != 200 {
		s.violation("import into %s: %d %s", col, code, body)
		return nil
	}
	s.commit(col, rec, replace)
	return nil
}

// commit records a committed import (s.mu held).
func (s *soak) commit(col string, rec importRec, replace bool) {
	if !replace {
		s.imports[col] = append(s.imports[col], rec)
		return
	}
	for i, old := range s.imports[col] {
		if old.prefix == rec.prefix {
			s.imports[col][i] = rec
		}
	}
	s.replaced += int64(rec.rows) * dim * 4
}

// executor executes the clusters and cancels some runs until stop.
func (s *soak) executor(stop <-chan struct{}, clusters map[string]string) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(1000+s.r.IntN(2000)) * time.Millisecond):
		}
		s.mu.Lock()
		col := collections[s.r.IntN(len(collections))]
		cancel := s.r.IntN(3) == 0
		s.mu.Unlock()
		cl := clusters[col]
		var task struct {
			Data map[string]string `json:"additional_data"`
		}
		code, body, err := s.srv.Do("POST", "/v1/clusters/"+cl+"/execute", "", nil)
		s.ops.Add(1)
		if err != nil {
			return
		}
		if code != 200 {
			s.violation("execute: %d %s", code, body)
			continue
		}
		json.Unmarshal(body, &task)
		run := task.Data["run_id"]
		s.mu.Lock()
		s.runs[run] = cl
		s.mu.Unlock()
		if cancel {
			time.Sleep(time.Duration(s.r.IntN(500)) * time.Millisecond)
			code, body, err := s.srv.Do("POST", "/v1/clusters/"+cl+"/executions/"+run+"/cancel", "", nil)
			s.ops.Add(1)
			if err != nil {
				return
			}
			if code != 200 && code != 409 {
				s.violation("cancel: %d %s", code, body)
			}
		}
	}
}

// check verifies the invariants after a restart.
func (s *soak) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending; p != nil {
		// Did the cut import commit? Its first document tells.
		var doc struct {
			Features map[string][]float32 `json:"features"`
		}
		code, body, err := s.srv.Do("GET", "/v1/collections/"+p.col+"/documents/"+p.rec.prefix+"0", "", nil)
		switch {
		case err != nil:
			s.violation("reading %s: %v", p.rec.prefix, err)
		case code == 200:
			json.Unmarshal(body, &doc)
			if v := doc.Features["emb"]; len(v) > 0 && v[0] == p.rec.marker {
				s.commit(p.col, p.rec, p.replace)
			}
		case code != 404:
			s.violation("reading %s: %d %s", p.rec.prefix, code, body)
		}
		s.pending = nil
	}
	var live int64
	for _, col := range collections {
		want := 0
		for _, rec := range s.imports[col] {
			want += rec.rows
			live += int64(rec.rows) * dim * 4
			// All or nothing: the last document of each import holds its marker.
			var doc struct {
				Features map[string][]float32 `json:"features"`
			}
			code, body, err := s.srv.Do("GET", fmt.Sprintf("/v1/collections/%s/documents/%s%d", col, rec.prefix, rec.rows-1), "", nil)
			if err == nil && code == 200 {
				json.Unmarshal(body, &doc)
			}
			if v := doc.Features["emb"]; len(v) == 0 || v[0] != rec.marker {
				s.violation("%s: last document of import %s is not that import's (%d %s)", col, rec.prefix, code, body)
			}
		}
		var c struct {
			DocumentCount int `json:"document_count"`
		}
		if err := s.srv.JSON("GET", "/v1/collections/"+col, nil, &c); err != nil {
			s.violation("%v", err)
		} else if c.DocumentCount != want {
			s.violation("%s holds %d documents, the committed imports %d", col, c.DocumentCount, want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(s.srv.Dir, "tmp")); len(entries) != 0 {
		s.violation("tmp/ holds %d files after the restart", len(entries))
	}
	entries, _ := os.ReadDir(filepath.Join(s.srv.Dir, "runs"))
	for _, e := range entries {
		cl, ok := s.runs[e.Name()]
		if !ok {
			// A run whose execute answer the kill cut off: it must exist.
			found := false
			for _, c := range s.runs {
				if code, _, err := s.srv.Do("GET", "/v1/clusters/"+c+"/executions/"+e.Name(), "", nil); err == nil && code == 200 {
					found = true
					break
				}
			}
			if !found {
				s.violation("runs/%s belongs to no run", e.Name())
			}
			continue
		}
		if code, body, err := s.srv.Do("GET", "/v1/clusters/"+cl+"/executions/"+e.Name(), "", nil); err != nil || code != 200 {
			s.violation("runs/%s: its run reads %d %s %v", e.Name(), code, body, err)
		}
	}
	file, lv := s.metric("clusterd_segment_bytes"), s.metric("clusterd_segment_live_bytes")
	if int64(lv) != live || int64(file) != live+s.replaced {
		s.violation("segments: %v bytes, %v live; want %d live and %d superseded", file, lv, live, s.replaced)
	}
	log.Printf("check after kill %d: %d live vector bytes, %d superseded, %d runs seen, %d operations, %d violations",
		s.kills, live, s.replaced, len(s.runs), s.ops.Load(), s.viol)
}

func (s *soak) metric(name string) float64 {
	_, raw, err := s.srv.Do("GET", "/metrics", "", nil)
	if err != nil {
		s.violation("/metrics: %v", err)
		return -1
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		var v float64
		if f := bytes.Fields(line); len(f) == 2 && string(f[0]) == name {
			fmt.Sscan(string(f[1]), &v)
			return v
		}
	}
	s.violation("/metrics has no %s", name)
	return -1
}

// waitRunsEnd waits until every run of the clusters is completed or failed.
func (s *soak) waitRunsEnd(clusters map[string]string) {
	deadline := time.Now().Add(10 * time.Minute)
	for _, cl := range clusters {
		for {
			var page struct {
				Results []struct {
					RunID  string `json:"run_id"`
					Status string `json:"status"`
				} `json:"results"`
				Pagination struct {
					Total int `json:"total"`
				} `json:"pagination"`
			}
			// Unfinished runs first: a filter on status.
			err := s.srv.JSON("POST", "/v1/clusters/"+cl+"/executions/list?limit=1000", map[string]any{
				"filters": map[string]any{"AND": []any{map[string]any{"field": "status", "operator": "in", "value": []string{"pending", "processing"}}}}}, &page)
			if err != nil {
				s.violation("listing runs: %v", err)
				break
			}
			if page.Pagination.Total == 0 {
				break
			}
			if time.Now().After(deadline) {
				s.violation("cluster %s: %d runs never ended", cl, page.Pagination.Total)
				break
			}
			time.Sleep(time.Second)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for run, cl := range s.runs {
		var e struct {
			Status string `json:"status"`
		}
		if err := s.srv.JSON("GET", "/v1/clusters/"+cl+"/executions/"+run, nil, &e); err != nil {
			s.violation("run %s: %v", run, err)
		} else if e.Status != "completed" && e.Status != "failed" {
			s.violation("run %s ended %s", run, e.Status)
		}
	}
}
