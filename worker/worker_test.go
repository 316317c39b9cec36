package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/kernels"
)

// TestMain doubles as the worker process: with CLUSTERD_TEST_WORKER set,
// the test binary serves the protocol on the CPU (or with an injected fault)
// instead of running tests.
func TestMain(m *testing.M) {
	switch mode := os.Getenv("CLUSTERD_TEST_WORKER"); mode {
	case "":
		os.Exit(m.Run())
	default:
		be := kernels.Backend(cpu.New(cpu.Options{}))
		if mode != "cpu" {
			be = faulty{Backend: be, mode: mode}
		}
		err := Serve(os.Stdin, os.Stdout, ServeOptions{Backend: be, Classify: func(err error) string {
			switch {
			case errors.Is(err, errFakeOOM):
				return KindOutOfMemory
			case errors.Is(err, errFakeDevice):
				return KindDevice
			}
			return ""
		}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

var (
	errFakeOOM    = errors.New("cudaErrorMemoryAllocation: out of memory")
	errFakeDevice = errors.New("CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered")
)

// faulty is a backend whose SumByLabel fails the way a device might.
type faulty struct {
	kernels.Backend
	mode string
}

func (f faulty) Name() string { return "gpu:fake" }

func (f faulty) SumByLabel(ctx context.Context, x kernels.Dataset, labels []int32, k int, sums []float64, counts []int64) error {
	switch f.mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "CUDA error: an illegal memory access was encountered")
		os.Exit(3)
	case "oom":
		return errFakeOOM
	case "device":
		return errFakeDevice
	case "slow":
		time.Sleep(time.Hour)
	}
	return f.Backend.SumByLabel(ctx, x, labels, k, sums, counts)
}

func process(t *testing.T, mode string) *Process {
	p := NewProcess(t.TempDir(), "/usr/bin/env", "CLUSTERD_TEST_WORKER="+mode, os.Args[0], "-test.run=^$")
	t.Cleanup(func() { p.Close() })
	return p
}

func input() engine.Input {
	return engine.Input{X: bench.Blobs(3000, 12, 5, 3), N: 3000, D: 12}
}

// TestRoundTrip: a run through the worker equals the same run in-process,
// bit for bit, for a plain run and one with preprocessing and a hierarchy.
func TestRoundTrip(t *testing.T) {
	p := process(t, "cpu")
	specs := []engine.Spec{
		{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5,"n_init":2}`)},
		{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":4}`), Pipeline: engine.Pipeline{
			Preprocessing: []json.RawMessage{json.RawMessage(`{"method":"normalize"}`), json.RawMessage(`{"method":"pca","n_components":6}`)},
			Hierarchical:  true, MaxHierarchyDepth: 2}},
	}
	for i, spec := range specs {
		in := input()
		want, err := engine.Fit(context.Background(), in, spec, engine.Options{Backend: cpu.New(cpu.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		var events int
		got, err := p.Fit(context.Background(), in, spec, func(engine.Progress) { events++ })
		if err != nil {
			t.Fatalf("spec %d: %v", i, err)
		}
		if !slices.Equal(got.Labels, want.Labels) || !slices.Equal(got.Centroids, want.Centroids) || !slices.Equal(got.Distances, want.Distances) ||
			*got.Metrics != *want.Metrics || !slices.Equal(got.Leaf, want.Leaf) || len(got.SubClusters) != len(want.SubClusters) {
			t.Fatalf("spec %d: the worker's result differs from the in-process one", i)
		}
		if got.Vectors.D != want.Vectors.D || !slices.Equal(got.Vectors.X, want.Vectors.X) {
			t.Fatalf("spec %d: clustered vectors differ (%d vs %d wide)", i, got.Vectors.D, want.Vectors.D)
		}
		for j := range want.AllClusters() {
			a, b := got.AllClusters()[j], want.AllClusters()[j]
			if a.ID != b.ID || a.Members != b.Members || a.Parent != b.Parent || !slices.Equal(a.Centroid, b.Centroid) {
				t.Fatalf("spec %d: cluster %d differs: %+v vs %+v", i, j, a, b)
			}
		}
		if events == 0 {
			t.Errorf("spec %d: no progress events", i)
		}
	}
	if p.Name() != "cpu" || p.Starts() != 1 {
		t.Fatalf("name %q, %d starts", p.Name(), p.Starts())
	}
}

func TestErrors(t *testing.T) {
	in := input()
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5}`)}

	var we *Error
	_, err := process(t, "cpu").Fit(context.Background(), in, engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":3001}`)}, nil)
	if !errors.As(err, &we) || we.Kind != KindInput || we.Param != "n_clusters" || we.Retryable() {
		t.Fatalf("bad parameter: %v", err)
	}
	bad := input()
	bad.X[7*12+3] = float32(nanValue())
	_, err = process(t, "cpu").Fit(context.Background(), bad, spec, nil)
	if !errors.As(err, &we) || we.Kind != KindInput || we.Row != 7 {
		t.Fatalf("NaN row: %v", err)
	}

	_, err = process(t, "oom").Fit(context.Background(), in, spec, nil)
	if !errors.As(err, &we) || we.Kind != KindOutOfMemory || !we.Retryable() {
		t.Fatalf("out of memory: %v", err)
	}

	crash := process(t, "crash")
	_, err = crash.Fit(context.Background(), in, spec, nil)
	if !errors.As(err, &we) || we.Kind != KindCrash || !we.Retryable() || !strings.Contains(we.Message, "illegal memory access") {
		t.Fatalf("crash: %v", err)
	}
	_, err = crash.Fit(context.Background(), in, spec, nil) // restarted, crashes again
	if crash.Starts() != 2 || !errors.As(err, &we) || we.Kind != KindCrash {
		t.Fatalf("restart: %d starts, %v", crash.Starts(), err)
	}

	missing := NewProcess(t.TempDir(), "/nonexistent/clusterd-gpu", "worker")
	if _, err := missing.Fit(context.Background(), in, spec, nil); !errors.As(err, &we) || we.Kind != KindCrash {
		t.Fatalf("missing binary: %v", err)
	}
}

func TestCancelKillsTheWorker(t *testing.T) {
	p := process(t, "slow")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Fit(ctx, input(), engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5}`)}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("canceled run: %v after %v", err, time.Since(start))
	}
}

func nanValue() float64 { return math.NaN() }

// TestCancelWithEventsQueued: a run canceled while its progress callback is
// slow and the worker's events fill the queue returns, and the next run gets
// a fresh worker. (The reader used to block on the full queue, so killing
// the worker waited for ever and the process stayed locked.)
func TestCancelWithEventsQueued(t *testing.T) {
	p := process(t, "cpu")
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5,"n_init":40}`)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Fit(ctx, input(), spec, func(engine.Progress) {
			cancel()
			time.Sleep(time.Second) // hundreds of events pile up meanwhile
		})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the canceled run did not return")
	}
	if _, err := p.Fit(context.Background(), input(), spec, nil); err != nil || p.Starts() != 2 {
		t.Fatalf("next run: %v after %d starts", err, p.Starts())
	}
}

// TestWaitingRunHonoursItsContext: a run queued behind another gives up when
// its context ends, without touching the busy worker; one whose context has
// already ended does not restart an idle worker.
func TestWaitingRunHonoursItsContext(t *testing.T) {
	p := process(t, "slow")
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5}`)}
	busy, stopBusy := context.WithCancel(context.Background())
	defer stopBusy()
	go p.Fit(busy, input(), spec, nil)
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.Fit(ctx, input(), spec, nil); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("queued run: %v after %v", err, time.Since(start))
	}

	idle := process(t, "cpu")
	if _, err := idle.Fit(context.Background(), input(), spec, nil); err != nil {
		t.Fatal(err)
	}
	canceled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := idle.Fit(canceled, input(), spec, nil); !errors.Is(err, context.Canceled) || idle.Starts() != 1 {
		t.Fatalf("run with an ended context: %v, %d starts", err, idle.Starts())
	}
}

// TestDeviceErrorRestartsTheWorker: after a device error the CUDA context
// may be unusable, so the next run gets a new process.
func TestDeviceErrorRestartsTheWorker(t *testing.T) {
	p := process(t, "device")
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5}`)}
	for run := 1; run <= 2; run++ {
		var we *Error
		if _, err := p.Fit(context.Background(), input(), spec, nil); !errors.As(err, &we) || we.Kind != KindDevice || !we.Retryable() {
			t.Fatalf("run %d: %v", run, err)
		}
		if p.Starts() != run {
			t.Fatalf("after run %d: %d starts", run, p.Starts())
		}
	}
}

// TestNonFiniteResults: results JSON cannot hold (a NaN silhouette when the
// sample puts every point in its own cluster, the NaNs of a k-selection
// curve) come back exactly, and the worker stays up; every "iterate" event
// reaches the client, as in-process, so the metrics they feed add up.
func TestNonFiniteResults(t *testing.T) {
	p := process(t, "cpu")
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	seed := int64(0)
	for _, spec := range []engine.Spec{
		{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":5}`), Seed: &seed, SilhouetteSampleSize: 3},
		{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":"auto"}`), Seed: &seed, SilhouetteSampleSize: 3},
	} {
		in := input()
		var local, remote struct{ points, events int }
		want, err := engine.Fit(context.Background(), in, spec, engine.Options{Backend: cpu.New(cpu.Options{}), Progress: func(e engine.Progress) {
			if e.Phase == "iterate" {
				local.events++
				local.points += e.Points
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Fit(context.Background(), in, spec, func(e engine.Progress) {
			if e.Phase == "iterate" {
				remote.events++
				remote.points += e.Points
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", spec.Params, err)
		}
		if !math.IsNaN(want.Metrics.Silhouette) {
			t.Fatalf("%s: silhouette %v, want NaN for this case to test anything", spec.Params, want.Metrics.Silhouette)
		}
		if !same(got.Metrics.Silhouette, want.Metrics.Silhouette) || got.Metrics.DaviesBouldin != want.Metrics.DaviesBouldin ||
			got.Metrics.CalinskiHarabasz != want.Metrics.CalinskiHarabasz {
			t.Errorf("%s: metrics %+v, want %+v", spec.Params, *got.Metrics, *want.Metrics)
		}
		if (got.Stats.KSelection == nil) != (want.Stats.KSelection == nil) ||
			want.Stats.KSelection != nil && !slices.EqualFunc(got.Stats.KSelection.Silhouette, want.Stats.KSelection.Silhouette, same) {
			t.Errorf("%s: k selection %+v, want %+v", spec.Params, got.Stats.KSelection, want.Stats.KSelection)
		}
		if remote != local || local.events == 0 {
			t.Errorf("%s: iterate events through the worker %+v, in-process %+v", spec.Params, remote, local)
		}
	}
	if p.Starts() != 1 {
		t.Errorf("%d starts: the worker died on a result", p.Starts())
	}
}
