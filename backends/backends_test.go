package backends

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/worker"
)

// BuildFakeGPU builds testdata/fakegpu, a stand-in for clusterd-gpu.
func buildFakeGPU(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), WorkerBinary)
	if out, err := exec.Command("go", "build", "-o", path, "./testdata/fakegpu").CombinedOutput(); err != nil {
		t.Fatalf("building the fake worker: %v\n%s", err, out)
	}
	return path
}

func TestNoWorker(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m, err := New(Options{Mode: ModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if st.Chosen != "cpu" || !strings.Contains(st.GPUUnavailableReason, "no clusterd-gpu worker binary") {
		t.Fatalf("status %+v", st)
	}
	ex, reason, err := m.Choose("")
	if err != nil || ex.Name() != "cpu" || reason != st.GPUUnavailableReason {
		t.Fatalf("auto: %v %q %v", ex, reason, err)
	}
	if _, err := New(Options{Mode: ModeGPU}); !errors.Is(err, ErrNoGPU) {
		t.Fatalf("gpu mode without a worker: %v", err)
	}
	if _, err := New(Options{Mode: "tpu"}); err == nil {
		t.Fatal("mode tpu accepted")
	}
}

func TestWorkerWithoutDevice(t *testing.T) {
	path := buildFakeGPU(t)
	t.Setenv("FAKEGPU_NODEVICE", "1")
	m, err := New(Options{Mode: ModeAuto, WorkerPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Status().GPUUnavailableReason; !strings.Contains(r, "CUDA_ERROR_NO_DEVICE") {
		t.Fatalf("reason %q", r)
	}
	if _, err := New(Options{Mode: ModeGPU, WorkerPath: path}); !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "CUDA_ERROR_NO_DEVICE") {
		t.Fatalf("gpu mode: %v", err)
	}
}

// TestGPUWorker runs on the (fake) GPU worker and gets the CPU's result.
func TestGPUWorker(t *testing.T) {
	m, err := New(Options{Mode: ModeAuto, WorkerPath: buildFakeGPU(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st := m.Status()
	if st.Chosen != "gpu:0" || st.GPUUnavailableReason != "" || !slices.Equal(st.Available, []string{"gpu:0", "cpu"}) || st.Devices[0].Name != "Fake GPU" {
		t.Fatalf("status %+v", st)
	}
	ex, reason, err := m.Choose("")
	if err != nil || ex.Name() != "gpu:0" || reason != "" {
		t.Fatalf("auto: %v %q %v", ex, reason, err)
	}
	in := engine.Input{X: bench.Blobs(2000, 8, 4, 1), N: 2000, D: 8}
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":4}`)}
	got, err := ex.Run(context.Background(), in, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.CPU().Run(context.Background(), in, spec, nil)
	if !slices.Equal(got.Labels, want.Labels) {
		t.Fatal("worker and CPU results differ")
	}
	if cpu, _, _ := m.Choose("cpu"); cpu.Name() != "cpu" {
		t.Fatal("cpu not chosen")
	}
}

func TestGPUFaults(t *testing.T) {
	path := buildFakeGPU(t)
	in := engine.Input{X: bench.Blobs(500, 4, 3, 2), N: 500, D: 4}
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":3}`)}
	for _, fault := range []string{"crash", "oom"} {
		t.Run(fault, func(t *testing.T) {
			t.Setenv("FAKEGPU_FAULT", fault)
			m, err := New(Options{Mode: ModeGPU, WorkerPath: path})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ex, _, _ := m.Choose("gpu")
			_, err = ex.Run(context.Background(), in, spec, nil)
			var we *worker.Error
			if !errors.As(err, &we) || !we.Retryable() {
				t.Fatalf("%s: %v", fault, err)
			}
		})
	}
}
