package ui_test

// The dashboard in a real browser: Debian's chromium, driven with chromedp,
// against a real server (the api package over a SQLite store in a temporary
// directory, with the runner executing real runs).
//
// Environment:
//   - CLUSTERD_CHROMIUM: the browser binary (default: chromium,
//     chromium-browser or google-chrome on PATH). Without one the tests skip.
//   - CLUSTERD_UI_SCREENSHOTS: a directory for the screenshots (default: the
//     test's temporary directory).
//   - CLUSTERD_UI_MIN_FPS: fail the frame-rate measurement below this many
//     frames per second (default: measure and report only, because a
//     timing on a shared 2-core CI machine is not a pass/fail criterion).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// chromium finds the browser or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CLUSTERD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("skipping the browser tests: chromium is not installed (Debian: apt-get install -y chromium; or set CLUSTERD_CHROMIUM)")
	return ""
}

// server is a running clusterd over a real store.
type server struct {
	t     *testing.T
	url   string
	store *store.Store
	key   string
}

func newServer(t *testing.T, keys string) *server {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := telemetry.New(reg)
	bm, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeCPU})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := runner.New(runner.Config{Store: st, Backends: bm, Metrics: m, Logger: log, Poll: 20 * time.Millisecond, ProgressEvery: 50 * time.Millisecond})
	if err := run.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ks, err := api.ParseAPIKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	// As `clusterd serve` does, the runs and queue-depth gauges are read
	// from the store on every scrape.
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		if byStatus, err := st.RunsByStatus(context.Background()); err == nil {
			for _, s := range []string{store.StatusPending, store.StatusProcessing, store.StatusCompleted, store.StatusFailed} {
				m.Runs.WithLabelValues(s).Set(float64(byStatus[s]))
			}
		}
		if q, r, err := st.QueueDepth(context.Background()); err == nil {
			m.QueueDepth.WithLabelValues("queued").Set(float64(q))
			m.QueueDepth.WithLabelValues("running").Set(float64(r))
		}
		return reg.Gather()
	})
	srv := api.New(api.Config{Store: st, Runner: run, Backends: bm, Metrics: m, Gatherer: gather, Logger: log, APIKeys: ks})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		run.Stop(context.Background())
		st.Close()
	})
	s := &server{t: t, url: hs.URL, store: st}
	if len(ks) > 0 {
		s.key = ks[0].Key
	}
	return s
}

// call does an API request that must succeed, decoding the answer into out.
func (s *server) call(method, path string, body, out any, headers ...string) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// collection stores docs in a new collection (through the store, which is
// what an upsert does without the JSON) and returns its id.
func (s *server) collection(name string, docs []store.DocumentInput, headers ...string) string {
	s.t.Helper()
	var c struct {
		ID string `json:"collection_id"`
	}
	s.call("POST", "/v1/collections", map[string]any{"collection_name": name}, &c, headers...)
	if _, err := s.store.Upsert(context.Background(), c.ID, &store.SliceSource{Docs: docs}); err != nil {
		s.t.Fatal(err)
	}
	return c.ID
}

// cluster creates a cluster over a collection and returns its id.
func (s *server) cluster(name, collection, method, params string, headers ...string) string {
	s.t.Helper()
	var c struct {
		ID string `json:"cluster_id"`
	}
	s.call("POST", "/v1/clusters", map[string]any{"cluster_name": name, "collection_ids": []string{collection},
		"vector_config": map[string]any{"clustering_method": method, "algorithm_params": json.RawMessage(params)}}, &c, headers...)
	return c.ID
}

// run is the part of an execution the tests read.
type run struct {
	RunID      string `json:"run_id"`
	Status     string `json:"status"`
	NumPoints  int    `json:"num_points"`
	NumCluster int    `json:"num_clusters"`
	Error      string `json:"error_message"`
	Centroids  []struct {
		ClusterID  string `json:"cluster_id"`
		NumMembers int    `json:"num_members"`
		Label      string `json:"label"`
	} `json:"centroids"`
	Stats struct {
		NoisePoints int `json:"noise_points"`
	} `json:"stats"`
}

// execute starts a run and waits until it has ended.
func (s *server) execute(clusterID string) run {
	s.t.Helper()
	s.call("POST", "/v1/clusters/"+clusterID+"/execute", nil, nil)
	return s.wait(clusterID)
}

func (s *server) wait(clusterID string) run {
	s.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var r *run
		s.call("GET", "/v1/clusters/"+clusterID+"/executions", nil, &r)
		if r != nil && (r.Status == "completed" || r.Status == "failed") {
			if r.Status == "failed" {
				s.t.Fatalf("run %s failed: %s", r.RunID, r.Error)
			}
			return *r
		}
	}
	s.t.Fatal("the run did not end in 60 s")
	return run{}
}

// topics are the words of each blob's texts, so that the runs' labels
// read like labels.
var topics = [][]string{
	{"espresso", "roast", "beans", "grinder", "crema", "brew"},
	{"marathon", "pace", "training", "shoes", "tempo", "stride"},
	{"compiler", "parser", "syntax", "tokens", "grammar", "codegen"},
	{"sourdough", "starter", "flour", "crumb", "proofing", "oven"},
	{"telescope", "nebula", "orbit", "galaxy", "comet", "eclipse"},
	{"garden", "tomatoes", "compost", "seedlings", "mulch", "soil"},
	{"guitar", "chords", "tuning", "frets", "strings", "amplifier"},
	{"mortgage", "interest", "savings", "budget", "loans", "credit"},
	{"glacier", "summit", "crampons", "ridge", "altitude", "rope"},
	{"chess", "opening", "endgame", "gambit", "rook", "checkmate"},
	{"sailing", "harbour", "keel", "mast", "tide", "anchor"},
	{"vaccine", "antibody", "immune", "trial", "dose", "virus"},
}

// blobs makes n documents in d dimensions around k centres (document i in
// blob i%k), each with a two-line text whose first line is three words of
// its blob's topic and "note I". noise documents more are spread
// uniformly over the whole box, with words of any topic.
func blobs(n, d, k, noise int, seed uint64) []store.DocumentInput {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float32, k)
	for j := range centres {
		centres[j] = make([]float32, d)
		for t := range centres[j] {
			centres[j][t] = float32(r.NormFloat64() * 10)
		}
	}
	docs := make([]store.DocumentInput, 0, n+noise)
	for i := range n + noise {
		v := make([]float32, d)
		topic := topics[r.IntN(len(topics))]
		for t := range v {
			if i < n {
				v[t] = centres[i%k][t] + float32(r.NormFloat64())
			} else {
				v[t] = float32(r.Float64()*60 - 30)
			}
		}
		if i < n {
			topic = topics[(i%k)%len(topics)]
		}
		text := fmt.Sprintf("%s %s %s, note %d\nsecond line of %d", topic[r.IntN(6)], topic[r.IntN(6)], topic[r.IntN(6)], i, i)
		payload, _ := json.Marshal(map[string]any{"text": text})
		docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("doc_%d", i), Features: map[string][]float32{"emb": v}, Payload: payload})
	}
	return docs
}

// firstLine is a document's first line of text, as blobs wrote it.
func firstLine(d store.DocumentInput) string {
	var p struct{ Text string }
	json.Unmarshal(d.Payload, &p)
	line, _, _ := strings.Cut(p.Text, "\n")
	return line
}

// browser is one chromium for the whole test; each page gets its own tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	dir := os.Getenv("CLUSTERD_UI_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, dir: dir}
}

// tab is one browser tab with what its pages wrote to the console.
type tab struct {
	t   *testing.T
	ctx context.Context
	b   *browser
	mu  sync.Mutex
	log []chromedp.ConsoleMessage
}

// tab opens a tab; it is closed when the (sub)test ends, after checking
// that nothing but what allowed accepts was written to the console as an
// error or thrown.
func (b *browser) tab(t *testing.T, allowed func(chromedp.ConsoleMessage) bool) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb := &tab{t: t, ctx: ctx, b: b}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.log = append(tb.log, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		tb.mu.Lock()
		for _, m := range tb.log {
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException) && (allowed == nil || !allowed(m)) {
				t.Errorf("console %s at %s:%d: %s", m.Type, m.URL, m.Line, m.Text)
			}
		}
		tb.mu.Unlock()
		cancel()
	})
	return tb
}

// do runs actions with a time limit.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%v (page %s)", err, tb.eval(`location.hash + " " + document.body.dataset.state + ": " + document.querySelector("main").innerText.slice(0, 300)`))
	}
}

// eval evaluates an expression and returns its value as JSON text.
func (tb *tab) eval(expr string) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](`JSON.stringify(`+expr+`)`))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	var s string
	json.Unmarshal(v, &s)
	return s
}

// value evaluates an expression into out.
func (tb *tab) value(expr string, out any) {
	tb.t.Helper()
	raw := tb.eval(expr)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		tb.t.Fatalf("%s = %s: %v", expr, raw, err)
	}
}

// poll waits until a JavaScript expression is truthy.
func (tb *tab) poll(expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second))); err != nil {
		tb.t.Fatalf("waiting for %s: %v (page %s)", expr, err, tb.eval(`location.hash + " " + document.body.dataset.state + ": " + document.querySelector("main").innerText.slice(0, 300)`))
	}
}

// open navigates to a dashboard route and waits for the page to be ready.
func (tb *tab) open(url, state string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url))
	tb.poll(fmt.Sprintf(`document.body.dataset.state === %q`, state))
}

func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	var png []byte
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	path := filepath.Join(tb.b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	return path
}

func (tb *tab) mouse(typ input.DispatchMouseEventType, x, y float64, opts ...chromedp.MouseOption) chromedp.Action[chromedp.Void] {
	return chromedp.MouseEvent(typ, x, y, opts...)
}

func TestDashboard(t *testing.T) {
	chromium(t)
	s := newServer(t, "")
	start := time.Now()
	bigDocs := blobs(100000, 8, 12, 0, 1)
	big := s.collection("big", bigDocs)
	bigCluster := s.cluster("big-topics", big, "kmeans", `{"n_clusters": 12, "n_init": 1, "max_iter": 50}`)
	s.call("POST", "/v1/clusters/"+bigCluster+"/execute", nil, nil)
	noisy := s.collection("noisy", blobs(2700, 8, 5, 300, 2))
	noisyCluster := s.cluster("noisy-topics", noisy, "hdbscan", `{"min_cluster_size": 25}`)
	b := newBrowser(t) // starts while the run goes
	bigRun := s.wait(bigCluster)
	noisyRuns := []run{s.execute(noisyCluster), s.execute(noisyCluster)}
	t.Logf("setup: 103,000 documents stored, 3 runs, a browser started in %v", time.Since(start).Round(time.Millisecond))
	if bigRun.NumPoints != 100000 || noisyRuns[0].Stats.NoisePoints == 0 {
		t.Fatalf("big run %d points; noisy run %d noise points", bigRun.NumPoints, noisyRuns[0].Stats.NoisePoints)
	}
	ui := s.url + "/ui/"

	t.Run("pages", func(t *testing.T) {
		tb := b.tab(t, nil)
		tb.open(s.url+"/", "ready") // / redirects to /ui/, which shows the clusters
		var n int
		tb.value(`document.querySelectorAll("#clusters tbody tr").length`, &n)
		if n != 2 {
			t.Errorf("clusters list: %d rows, want 2", n)
		}
		tb.screenshot("clusters")
		// Search: typing narrows the list through the API's search.
		tb.do(chromedp.SendKeys("#clusters input.search", "noisy"))
		tb.poll(`document.querySelector("#clusters").dataset.query === "noisy" && document.querySelectorAll("#clusters tbody tr").length === 1`)

		tb.open(ui+"#/collections", "ready")
		tb.value(`document.querySelectorAll("#collections tbody tr").length`, &n)
		if n != 4 { // big, noisy and the runs' output collections
			t.Errorf("collections list: %d rows, want 4", n)
		}
		tb.do(chromedp.SendKeys("#collections input.search", "big"))
		tb.poll(`document.querySelector("#collections").dataset.query === "big" && document.querySelectorAll("#collections tbody tr").length === 2`)
		tb.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#collections tbody a")].find(a => a.textContent === "big").click()`))
		tb.poll(`location.hash.startsWith("#/collections/col_") && document.body.dataset.state === "ready" && document.querySelector("#documents").dataset.total === "100000"`)
		tb.do(chromedp.SendKeys("#documents input.search", "doc_54242"))
		tb.poll(`document.querySelector("#documents").dataset.total === "1" && document.querySelector("#documents tbody td").textContent === "doc_54242"`)
		tb.screenshot("collection")

		// The cluster page: definition, latest execution, sortable centroids.
		tb.open(ui+"#/clusters/"+bigCluster, "ready")
		var metric string
		tb.value(`document.querySelector('#latest [data-metric="silhouette_score"]').textContent`, &metric)
		if metric == "—" || metric == "" {
			t.Errorf("silhouette shown as %q", metric)
		}
		tb.value(`document.querySelectorAll("#centroids tbody tr").length`, &n)
		if n != 12 {
			t.Errorf("centroid table: %d rows, want 12", n)
		}
		for _, tc := range []struct{ click, sort, col string }{
			{"num_members", "num_members:asc", "4"}, // descending by default, so a click sorts ascending
			{"num_members", "num_members:desc", "4"},
			{"label", "label:asc", "1"},
			{"variance", "variance:desc", "7"},
		} {
			tb.do(chromedp.Click(fmt.Sprintf(`#centroids th[data-key=%q]`, tc.click)))
			var got struct {
				Sort  string   `json:"sort"`
				Cells []string `json:"cells"`
			}
			tb.value(fmt.Sprintf(`({sort: document.querySelector("#centroids").dataset.sort,
				cells: [...document.querySelectorAll("#centroids tbody td:nth-child(%s)")].map(td => td.textContent)})`, tc.col), &got)
			if got.Sort != tc.sort || len(got.Cells) != 12 {
				t.Fatalf("after a click on %s: sort %q with %d rows, want %q", tc.click, got.Sort, len(got.Cells), tc.sort)
			}
			for i := 1; i < len(got.Cells); i++ {
				a, b := got.Cells[i-1], got.Cells[i]
				var ordered bool
				if tc.click == "label" {
					ordered = strings.Compare(strings.ToLower(a), strings.ToLower(b)) <= 0
				} else {
					x, _ := strconv.ParseFloat(strings.ReplaceAll(a, ",", ""), 64)
					y, _ := strconv.ParseFloat(strings.ReplaceAll(b, ",", ""), 64)
					ordered = (strings.HasSuffix(tc.sort, "asc") && x <= y) || (strings.HasSuffix(tc.sort, "desc") && x >= y)
				}
				if !ordered {
					t.Errorf("sorted by %s: %q before %q", tc.sort, a, b)
				}
			}
		}
		tb.screenshot("cluster")

		tb.open(ui+"#/system", "ready")
		tb.poll(`document.querySelector("#throughput").dataset.samples >= 2`)
		var sys struct {
			Chosen, Reason, Rate, Queued, Running string
			Points                                string
		}
		tb.value(`({chosen: document.querySelector("#backends strong").textContent,
			reason: document.querySelector("#fallback-reason").textContent,
			rate: document.querySelector('#backend-rates tr[data-backend="cpu"] .rate').textContent,
			points: document.querySelector('#backend-rates tr[data-backend="cpu"] td:nth-child(2)').textContent,
			queued: document.querySelector("#queue-depth").dataset.queued, running: document.querySelector("#queue-depth").dataset.running})`, &sys)
		if sys.Chosen != "cpu" || sys.Reason == "" || sys.Queued != "0" || sys.Running != "0" {
			t.Errorf("system page: %+v", sys)
		}
		// The points the runs assigned, as /metrics counts them.
		var want float64
		func() {
			resp, err := http.Get(s.url + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			for _, line := range strings.Split(string(raw), "\n") {
				if v, ok := strings.CutPrefix(line, `clusterd_points_assigned_total{backend="cpu"} `); ok {
					want, _ = strconv.ParseFloat(v, 64)
				}
			}
		}()
		if got, _ := strconv.ParseFloat(strings.ReplaceAll(sys.Points, ",", ""), 64); want == 0 || got != want {
			t.Errorf("points assigned on the system page %q, /metrics says %v", sys.Points, want)
		}
		tb.screenshot("system")
	})

	t.Run("scatter", func(t *testing.T) {
		tb := b.tab(t, nil)
		tb.open(ui+"#/clusters/"+bigCluster+"/scatter", "ready")
		tb.poll(`document.querySelector("#scatter-status").dataset.drawn !== undefined && window.__scatter && window.__scatter.frames > 0`)
		var st struct {
			Drawn, Total, Sample string
			Text                 string
		}
		tb.value(`(e => ({drawn: e.dataset.drawn, total: e.dataset.total, sample: e.dataset.sample, text: e.textContent}))(document.querySelector("#scatter-status"))`, &st)
		if st.Drawn != "100000" || st.Total != "100000" || st.Text != "100,000 of 100,000 points" {
			t.Fatalf("scatter status %+v, want all 100,000 points of the run drawn", st)
		}
		var labels int
		tb.value(`document.querySelectorAll("#legend li[data-cluster]").length`, &labels)
		if labels != bigRun.NumCluster {
			t.Errorf("legend: %d clusters, want %d", labels, bigRun.NumCluster)
		}
		tb.screenshot("scatter")
		var load struct {
			Bytes, Ms, Ready float64
		}
		tb.value(`(r => ({bytes: r.encodedBodySize, ms: r.duration, ready: window.__scatter.firstFrameAt}))(performance.getEntriesByType("resource").find(e => e.name.includes("/artifacts?")))`, &load)
		t.Logf("the scatter's points: %.1f MB of JSON in %.0f ms; first frame %.0f ms after the page started loading", load.Bytes/1e6, load.Ms, load.Ready)

		// Hover: the tooltip names the document under the cursor, its
		// cluster's label and its text's first line.
		var p struct{ X, Y float64 }
		tb.value(`window.__scatter.screenPoint(window.__scatter.ids.indexOf("doc_4321"))`, &p)
		tb.do(tb.mouse(chromedp.MouseMoved, p.X, p.Y))
		tb.poll(`document.querySelector("#tooltip").dataset.loaded === "true" && !document.querySelector("#tooltip").hidden`)
		var tip struct{ Doc, Cluster, Label, Text string }
		tb.value(`(t => ({doc: t.dataset.document, cluster: t.dataset.cluster, label: t.querySelector(".tip-label").textContent, text: t.querySelector(".tip-text").textContent}))(document.querySelector("#tooltip"))`, &tip)
		num, _ := strings.CutPrefix(tip.Doc, "doc_")
		i, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("tooltip document %q", tip.Doc)
		}
		if want := firstLine(bigDocs[i]); tip.Text != want {
			t.Errorf("tooltip text %q, want %q (the first line of %s)", tip.Text, want, tip.Doc)
		}
		var labelOf = map[string]string{}
		for _, c := range bigRun.Centroids {
			labelOf[c.ClusterID] = c.Label
		}
		var member struct {
			Members []struct {
				ClusterID string `json:"cluster_id"`
			} `json:"members"`
		}
		s.call("POST", "/v1/clusters/"+bigCluster+"/executions/"+bigRun.RunID+"/data", map[string]any{"document_ids": []string{tip.Doc}}, &member)
		if len(member.Members) != 1 || member.Members[0].ClusterID != tip.Cluster || tip.Label != labelOf[tip.Cluster] {
			t.Errorf("tooltip of %s: cluster %s labelled %q; the run has %+v labelled %q", tip.Doc, tip.Cluster, tip.Label, member.Members, labelOf[tip.Cluster])
		}
		tb.screenshot("scatter-hover")

		// Click: the point's cluster is highlighted and its members listed,
		// paged through …/data.
		tb.do(chromedp.MouseClickXY(p.X, p.Y))
		tb.poll(fmt.Sprintf(`document.querySelector("#members").dataset.cluster === %q && document.querySelectorAll("#members li").length === 20`, tip.Cluster))
		var size int
		for _, c := range bigRun.Centroids {
			if c.ClusterID == tip.Cluster {
				size = c.NumMembers
			}
		}
		var listed struct {
			Total string
			IDs   []string
			Sel   int
		}
		tb.value(`({total: document.querySelector("#members .member-count").dataset.total, ids: [...document.querySelectorAll("#members li")].map(li => li.dataset.document), sel: window.__scatter.selected})`, &listed)
		var page struct {
			Members []struct {
				DocumentID string `json:"document_id"`
			} `json:"members"`
		}
		s.call("POST", "/v1/clusters/"+bigCluster+"/executions/"+bigRun.RunID+"/data", map[string]any{"cluster_ids": []string{tip.Cluster}, "offset": 20, "limit": 20}, &page)
		if listed.Total != strconv.Itoa(size) || listed.Sel < 0 {
			t.Errorf("member list: total %s, want %d; selection %d", listed.Total, size, listed.Sel)
		}
		tb.do(chromedp.Click("#members button.next"))
		tb.poll(`document.querySelector("#members").dataset.offset === "20"`)
		var second []string
		tb.value(`[...document.querySelectorAll("#members li")].map(li => li.dataset.document)`, &second)
		var want []string
		for _, m := range page.Members {
			want = append(want, m.DocumentID)
		}
		if strings.Join(second, ",") != strings.Join(want, ",") {
			t.Errorf("second page of members %v, want %v", second, want)
		}
		tb.screenshot("scatter-selected")

		// Pan and zoom with real input events, counting the frames drawn.
		tb.do(tb.mouse(chromedp.MouseMoved, 200, 300))
		tb.value(`(window.__scatter.mark(), 0)`, new(int))
		steps := 0
		began := time.Now()
		cx, cy := 450.0, 450.0
		tb.do(tb.mouse(chromedp.MousePressed, cx, cy, chromedp.ButtonLeft))
		for time.Since(began) < 1500*time.Millisecond {
			steps++
			a := float64(steps) * 0.08
			tb.do(tb.mouse(chromedp.MouseMoved, cx+120*math.Cos(a), cy+80*math.Sin(a), chromedp.ButtonLeft))
		}
		tb.do(tb.mouse(chromedp.MouseReleased, cx, cy, chromedp.ButtonLeft))
		for time.Since(began) < 3000*time.Millisecond {
			steps++
			dy := 40.0
			if (steps/30)%2 == 1 {
				dy = -40
			}
			tb.do(tb.mouse(chromedp.MouseWheel, cx, cy, func(p *input.DispatchMouseEventParams) {
				// The protocol wants both deltas, and cdproto leaves a zero
				// out: a millionth of a pixel sideways stands for none.
				p.DeltaX, p.DeltaY = 1e-6, dy
			}))
		}
		type frameStats struct {
			Frames   int       `json:"frames"`
			Seconds  float64   `json:"seconds"`
			FPS      float64   `json:"fps"`
			DrawMean float64   `json:"draw_ms_mean"`
			DrawP95  float64   `json:"draw_ms_p95"`
			Drawn    int       `json:"drawn"`
			Canvas   []float64 `json:"canvas"`
		}
		var inputFPS, animFPS frameStats
		tb.value(`window.__scatter.stats()`, &inputFPS)
		// The same, driven by the page on every animation frame: what the
		// browser can draw when the input events do not limit it.
		ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__scatter.animate(2000).then(s => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(raw), &animFPS)
		// And in a full-HD viewport (the page is at most 1,500 pixels wide: a
		// canvas of about 1,130 × 870).
		var bigFPS frameStats
		tb.do(chromedp.EmulateViewport(1920, 1080))
		tb.poll(`window.__scatter.base.width > 1000`)
		ctx, cancel = context.WithTimeout(tb.ctx, 20*time.Second)
		raw, err = chromedp.Run(ctx, chromedp.Evaluate[string](`window.__scatter.animate(2000).then(s => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(raw), &bigFPS)
		tb.do(chromedp.ResetViewport())
		var agent string
		tb.value(`navigator.userAgent`, &agent)
		t.Logf("%s, canvas %v device pixels", agent, inputFPS.Canvas)
		t.Logf("pan and zoom by input events at %d points: %.1f frames/s (%d frames in %.2f s for %d events); a frame drew in %.2f ms on average, %.2f ms at the 95th percentile",
			inputFPS.Drawn, inputFPS.FPS, inputFPS.Frames, inputFPS.Seconds, steps, inputFPS.DrawMean, inputFPS.DrawP95)
		t.Logf("pan and zoom on every animation frame at %d points: %.1f frames/s (%d frames in %.2f s); a frame drew in %.2f ms on average, %.2f ms at the 95th percentile",
			animFPS.Drawn, animFPS.FPS, animFPS.Frames, animFPS.Seconds, animFPS.DrawMean, animFPS.DrawP95)
		t.Logf("the same in a 1920 × 1080 viewport (canvas %v): %.1f frames/s (%d frames in %.2f s); a frame drew in %.2f ms on average, %.2f ms at the 95th percentile",
			bigFPS.Canvas, bigFPS.FPS, bigFPS.Frames, bigFPS.Seconds, bigFPS.DrawMean, bigFPS.DrawP95)
		if inputFPS.Drawn != 100000 || animFPS.Drawn != 100000 || inputFPS.Frames < 10 || animFPS.Frames < 10 || bigFPS.Frames < 10 {
			t.Errorf("pan and zoom drew %d and %d frames of %d and %d points", inputFPS.Frames, animFPS.Frames, inputFPS.Drawn, animFPS.Drawn)
		}
		report, _ := json.MarshalIndent(map[string]any{"browser": agent, "input_events": steps, "input": inputFPS, "animation": animFPS, "animation_1920x1080": bigFPS}, "", "  ")
		os.WriteFile(filepath.Join(b.dir, "fps.json"), report, 0o644)
		if min := os.Getenv("CLUSTERD_UI_MIN_FPS"); min != "" {
			if m, _ := strconv.ParseFloat(min, 64); inputFPS.FPS < m || animFPS.FPS < m || bigFPS.FPS < m {
				t.Errorf("%.1f, %.1f and %.1f frames/s, below CLUSTERD_UI_MIN_FPS=%s", inputFPS.FPS, animFPS.FPS, bigFPS.FPS, min)
			}
		}
	})

	t.Run("sample_and_noise", func(t *testing.T) {
		tb := b.tab(t, nil)
		run := noisyRuns[1]
		tb.open(ui+"#/clusters/"+noisyCluster+"/scatter?max=500&seed=3", "ready")
		tb.poll(`document.querySelector("#scatter-status").dataset.drawn !== undefined`)
		var st struct{ Drawn, Total, Noise, Text string }
		tb.value(`(e => ({drawn: e.dataset.drawn, total: e.dataset.total, noise: e.dataset.noise, text: e.textContent}))(document.querySelector("#scatter-status"))`, &st)
		// The page draws exactly the API's seeded sample.
		var sample struct {
			Members []struct {
				PointID   string `json:"point_id"`
				ClusterID string `json:"cluster_id"`
			} `json:"members"`
		}
		s.call("GET", "/v1/clusters/"+noisyCluster+"/executions/"+run.RunID+"/artifacts?include_members=true&sample=500&seed=3", nil, &sample)
		noise := 0
		var ids []string
		for _, m := range sample.Members {
			ids = append(ids, m.PointID)
			if m.ClusterID == "cl_-1" {
				noise++
			}
		}
		var drawnIDs []string
		tb.value(`window.__scatter.ids`, &drawnIDs)
		if strings.Join(drawnIDs, ",") != strings.Join(ids, ",") {
			t.Errorf("the scatter's points are not the API's seeded sample")
		}
		wantText := fmt.Sprintf("500 of 3,000 points (a seeded sample, seed 3); %d noise", noise)
		if st.Drawn != "500" || st.Total != "3000" || st.Noise != strconv.Itoa(noise) || noise == 0 || st.Text != wantText {
			t.Errorf("status %+v, want %q", st, wantText)
		}
		var legendNoise string
		tb.value(`document.querySelector("#legend li.noise .muted").textContent`, &legendNoise)
		if legendNoise != fmt.Sprintf("%d", run.Stats.NoisePoints) {
			t.Errorf("legend: noise %s, want the run's %d", legendNoise, run.Stats.NoisePoints)
		}
		tb.do(chromedp.Click("#show-noise"))
		tb.poll(fmt.Sprintf(`document.querySelector("#scatter-status").dataset.drawn === "%d"`, 500-noise))
		tb.screenshot("scatter-sample")

		// 3-D: the same sample on the first three principal components,
		// rotated by a drag.
		tb.open(ui+"#/clusters/"+noisyCluster+"/scatter?max=500&seed=3&projection=3d", "ready")
		tb.poll(`window.__scatter && window.__scatter.is3D && window.__scatter.frames > 0 && document.querySelector("#scatter-status").dataset.drawn === "500"`)
		var yaw0, yaw1 float64
		tb.value(`window.__scatter.view.yaw`, &yaw0)
		tb.do(tb.mouse(chromedp.MousePressed, 300, 400, chromedp.ButtonLeft), tb.mouse(chromedp.MouseMoved, 340, 400, chromedp.ButtonLeft),
			tb.mouse(chromedp.MouseMoved, 380, 410, chromedp.ButtonLeft), tb.mouse(chromedp.MouseReleased, 380, 410, chromedp.ButtonLeft))
		tb.value(`window.__scatter.view.yaw`, &yaw1)
		if yaw1 == yaw0 {
			t.Error("a drag did not rotate the 3-D view")
		}
	})

	t.Run("runs", func(t *testing.T) {
		tb := b.tab(t, nil)
		tb.open(ui+"#/clusters/"+noisyCluster+"/runs", "ready")
		tb.poll(`document.querySelector("#charts").dataset.runs === "2"`)
		var pts int
		tb.value(`document.querySelectorAll("#charts svg circle").length`, &pts)
		if pts != 6 { // 3 metrics × 2 runs
			t.Errorf("charts: %d points, want 6", pts)
		}
		for _, r := range noisyRuns {
			tb.do(chromedp.Click(fmt.Sprintf(`tr[data-run=%q] input.compare`, r.RunID)))
		}
		tb.poll(fmt.Sprintf(`document.querySelector("#compare").dataset.runs === %q`, noisyRuns[0].RunID+","+noisyRuns[1].RunID))
		var bars int
		tb.value(`document.querySelectorAll("#compare .size-row").length`, &bars)
		if bars != 2*len(noisyRuns[0].Centroids) {
			t.Errorf("side by side: %d size bars, want %d", bars, 2*len(noisyRuns[0].Centroids))
		}
		tb.screenshot("runs")

		// A long run: execute from the page, watch its progress move, cancel it.
		// n_init is the most allowed so the run outlasts the 1 s list refresh
		// several times over on any machine (20 restarts took 2.9 s on CI).
		slowCol := s.collection("slow", blobs(60000, 32, 400, 0, 3))
		slow := s.cluster("slow", slowCol, "kmeans", `{"n_clusters": 300, "n_init": 1000, "max_iter": 300, "tol": 0, "init": "random"}`)
		tb.open(ui+"#/clusters/"+slow+"/runs", "ready")
		tb.do(chromedp.Click("#execute"))
		tb.poll(`document.querySelector("tr[data-status=processing] .progress")`)
		seen := map[string]bool{}
		for deadline := time.Now().Add(20 * time.Second); len(seen) < 3 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var p string
			tb.value(`(e => e ? e.dataset.progress : "")(document.querySelector("tr[data-status=processing] .progress"))`, &p)
			if p != "" {
				seen[p] = true
			}
		}
		if len(seen) < 3 {
			t.Errorf("progress shown: %v; want it to move (3 values)", seen)
		}
		tb.screenshot("runs-progress")
		tb.do(chromedp.Click("tr[data-status=processing] button.cancel"))
		tb.poll(`document.querySelector("tr[data-status=failed]") && document.querySelector("tr[data-status=failed] .error-text").textContent === "canceled"`)
		var r *run
		s.call("GET", "/v1/clusters/"+slow+"/executions", nil, &r)
		if r == nil || r.Status != "failed" || r.Error != "canceled" {
			t.Errorf("after Cancel the run is %+v", r)
		}
	})

	t.Run("auth", func(t *testing.T) {
		ks := newServer(t, "dashboard-key-1=team|other")
		col := ks.collection("secret", blobs(300, 4, 3, 0, 4), "X-Namespace", "team")
		ks.cluster("team-topics", col, "kmeans", `{"n_clusters": 3}`, "X-Namespace", "team")
		// Chromium logs each 401 and 403 the page receives as a failed load.
		tb := b.tab(t, func(m chromedp.ConsoleMessage) bool {
			return m.Source == "network" && (strings.Contains(m.Text, "401") || strings.Contains(m.Text, "403"))
		})
		kui := ks.url + "/ui/"
		tb.open(kui+"#/clusters", "login")
		var msg string
		tb.value(`document.querySelector("#login-message").textContent`, &msg)
		if !strings.Contains(msg, "missing API key") {
			t.Errorf("login message %q", msg)
		}
		tb.screenshot("login")
		tb.do(chromedp.SendKeys("#api-key", "wrong-key-123"), chromedp.Click(`#login button[type=submit]`))
		tb.poll(`document.body.dataset.state === "login" && document.querySelector("#login-message").textContent.includes("invalid API key")`)
		tb.do(chromedp.SendKeys("#api-key", "dashboard-key-1"), chromedp.SendKeys("#login-namespace", "team"), chromedp.Click(`#login button[type=submit]`))
		tb.poll(`document.body.dataset.state === "ready" && location.hash === "#/clusters" && document.querySelectorAll("#clusters tbody tr").length === 1`)
		var got struct{ Key, Namespace, Name string }
		tb.value(`({key: sessionStorage.getItem("clusterd.api_key"), namespace: sessionStorage.getItem("clusterd.namespace"), name: document.querySelector("#clusters tbody a").textContent})`, &got)
		if got.Key != "dashboard-key-1" || got.Namespace != "team" || got.Name != "team-topics" {
			t.Errorf("after signing in: %+v", got)
		}
		// The key stays in this tab (sessionStorage) and is not in localStorage.
		var local int
		tb.value(`localStorage.length`, &local)
		if local != 0 {
			t.Errorf("localStorage holds %d items", local)
		}
		// A namespace the key may not use: the API's 403 message, not a login.
		tb.do(chromedp.SetValue("#namespace", "elsewhere"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#namespace").dispatchEvent(new Event("change"))`))
		tb.poll(`document.body.dataset.state === "error" && document.querySelector(".error").textContent.includes("may not use namespace")`)
		// A new tab has its own sessionStorage: the login again.
		other := b.tab(t, func(m chromedp.ConsoleMessage) bool { return m.Source == "network" && strings.Contains(m.Text, "401") })
		other.open(kui+"#/system", "login")
	})
}
