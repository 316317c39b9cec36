package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/internal/seedschema"
	"github.com/clusterd/clusterd/internal/syncbuf"
)

// server is a clusterd serve child process on a data directory.
type server struct {
	t       *testing.T
	dir     string
	addr    string
	cmd     *exec.Cmd
	log     *syncbuf.Buffer // the child's standard error
	env     []string
	args    []string // more flags (a later one wins over the defaults above)
	started int
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newServer(t *testing.T, env ...string) *server {
	return &server{t: t, dir: t.TempDir(), addr: freeAddr(t), env: env}
}

// start launches the process and waits until it answers /readyz.
func (s *server) start() {
	s.t.Helper()
	s.log = &syncbuf.Buffer{}
	s.cmd = exec.Command(binary, append([]string{"serve", "--data-dir", s.dir, "--addr", s.addr, "--backend", "cpu", "--drain-delay", "0"}, s.args...)...)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.started++
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("clusterd did not become ready:\n%s", s.log)
}

// kill sends sig and waits for the process to exit.
func (s *server) kill(sig syscall.Signal) {
	s.t.Helper()
	s.cmd.Process.Signal(sig)
	s.cmd.Wait()
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		s.kill(syscall.SIGTERM)
	}
}

func (s *server) do(method, path, ct string, body []byte) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.addr+path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (s *server) json(method, path string, in, out any) {
	s.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	code, raw := s.do(method, path, "application/json", body)
	if code != 200 {
		s.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

type execution struct {
	RunID        string  `json:"run_id"`
	Status       string  `json:"status"`
	ErrorMessage *string `json:"error_message"`
	NumPoints    int     `json:"num_points"`
	raw          []byte
}

func (s *server) execution(cluster, run string) execution {
	s.t.Helper()
	code, raw := s.do("GET", "/v1/clusters/"+cluster+"/executions/"+run, "", nil)
	if code != 200 {
		s.t.Fatalf("run %s: %d %s", run, code, raw)
	}
	if err := seedschema.Validate("ClusterExecutionResult", raw); err != nil {
		s.t.Fatalf("run %s does not match the seed: %v", run, err)
	}
	var e execution
	json.Unmarshal(raw, &e)
	e.raw = raw
	return e
}

// waitFor polls a run until cond holds.
func (s *server) waitFor(cluster, run string, what string, cond func(execution) bool) execution {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if e := s.execution(cluster, run); cond(e) {
			return e
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("run %s never became %s; log:\n%s", run, what, s.log)
	return execution{}
}

func finished(e execution) bool { return e.Status == "completed" || e.Status == "failed" }

// load creates a collection from blobs and a cluster whose runs take
// seconds (many k-means restarts, no early stop).
func (s *server) load(name string, n int, params string) string {
	s.t.Helper()
	s.json("POST", "/v1/collections", map[string]any{"collection_name": name}, nil)
	x := bench.Blobs(n, 16, 40, 9)
	var buf bytes.Buffer
	if err := npy.WriteFloat32(&buf, x, n, 16); err != nil {
		s.t.Fatal(err)
	}
	if code, raw := s.do("POST", "/v1/collections/"+name+"/documents/import?feature=emb", "application/x-npy", buf.Bytes()); code != 200 {
		s.t.Fatalf("import: %d %s", code, raw)
	}
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	s.json("POST", "/v1/clusters", map[string]any{"collection_ids": []string{name},
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": json.RawMessage(params)}}, &cl)
	return cl.ClusterID
}

func (s *server) execute(cluster string) string {
	var task struct {
		Data map[string]string `json:"additional_data"`
	}
	s.json("POST", "/v1/clusters/"+cluster+"/execute", nil, &task)
	return task.Data["run_id"]
}

const slowRun = `{"n_clusters":40,"n_init":150,"max_iter":300,"tol":0}`

// TestKillNothingIsLost kills the service with SIGKILL while one run is
// processing and two are queued: after a restart every run completes, the
// run finished before the kill is unchanged, and the collection is intact.
func TestKillNothingIsLost(t *testing.T) {
	s := newServer(t)
	s.start()
	defer s.stop()
	cluster := s.load("docs", 20000, slowRun)
	quick := s.load("quick", 2000, `{"n_clusters":5}`)
	done := s.execute(quick)
	before := s.waitFor(quick, done, "finished", finished)
	if before.Status != "completed" {
		t.Fatalf("quick run: %s", before.raw)
	}
	runs := []string{s.execute(cluster), s.execute(cluster), s.execute(cluster)}
	s.waitFor(cluster, runs[0], "processing", func(e execution) bool { return e.Status == "processing" })
	if e := s.execution(cluster, runs[1]); e.Status != "pending" {
		t.Fatalf("second run is %s, want pending", e.Status)
	}
	s.kill(syscall.SIGKILL)

	s.start()
	for _, r := range runs {
		e := s.waitFor(cluster, r, "finished", finished)
		if e.Status != "completed" || e.NumPoints != 20000 {
			t.Errorf("run %s after the restart: %s", r, e.raw)
		}
	}
	if after := s.execution(quick, done); !bytes.Equal(after.raw, before.raw) {
		t.Errorf("a finished run changed across the kill:\nbefore %s\nafter  %s", before.raw, after.raw)
	}
	var col struct {
		DocumentCount int `json:"document_count"`
	}
	s.json("GET", "/v1/collections/docs", nil, &col)
	if col.DocumentCount != 20000 {
		t.Errorf("collection has %d documents after the kill", col.DocumentCount)
	}
	if !strings.Contains(s.log.String(), "requeued runs left processing by a previous process") {
		t.Errorf("the restart did not report the requeued run:\n%s", s.log)
	}
}

// TestKillRepeatedly: a run whose worker is killed on every attempt ends
// failed with the reason once the attempts are used up, instead of being
// retried forever or staying processing.
func TestKillRepeatedly(t *testing.T) {
	s := newServer(t, "CLUSTERD_MAX_ATTEMPTS=2")
	s.start()
	defer s.stop()
	cluster := s.load("docs", 20000, slowRun)
	run := s.execute(cluster)
	for attempt := 1; attempt <= 2; attempt++ {
		s.waitFor(cluster, run, "processing", func(e execution) bool { return e.Status == "processing" })
		s.kill(syscall.SIGKILL)
		s.start()
	}
	e := s.waitFor(cluster, run, "finished", finished)
	if e.Status != "failed" || e.ErrorMessage == nil || !strings.Contains(*e.ErrorMessage, "abandoned after 2 attempts") {
		t.Fatalf("run after 2 killed attempts: %s", e.raw)
	}
}

// TestGracefulShutdownRequeues: SIGTERM during a run puts it back in the
// queue; the next start finishes it.
// TestDrainDelay: after SIGTERM, /readyz answers 503 while requests are
// still served for the drain delay, then the listener closes.
func TestDrainDelay(t *testing.T) {
	s := newServer(t)
	s.args = []string{"--drain-delay", "1500ms"}
	s.start()
	defer s.stop()
	s.cmd.Process.Signal(syscall.SIGTERM)
	sawDraining := false
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			t.Fatalf("the listener closed during the drain delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			sawDraining = true
			if code, _ := s.do("GET", "/healthz", "", nil); code != 200 {
				t.Fatalf("requests are not served while draining: %d", code)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawDraining {
		t.Fatal("/readyz never answered 503 after SIGTERM")
	}
	s.cmd.Wait()
	if _, err := http.Get("http://" + s.addr + "/readyz"); err == nil {
		t.Fatal("still listening after the drain delay and shutdown")
	}
}

func TestGracefulShutdownRequeues(t *testing.T) {
	s := newServer(t)
	s.start()
	defer s.stop()
	cluster := s.load("docs", 20000, slowRun)
	run := s.execute(cluster)
	s.waitFor(cluster, run, "processing", func(e execution) bool { return e.Status == "processing" })
	start := time.Now()
	s.kill(syscall.SIGTERM)
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("graceful shutdown took %v", el)
	}
	if !strings.Contains(s.log.String(), "run requeued for the next start") {
		t.Fatalf("no requeue on SIGTERM:\n%s", s.log)
	}
	s.start()
	if e := s.waitFor(cluster, run, "finished", finished); e.Status != "completed" {
		t.Fatalf("requeued run: %s", e.raw)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "clusterd.db")); err != nil {
		t.Fatal(err)
	}
}
