package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	if st.Chosen != "cpu" || !strings.Contains(st.GPUUnavailableReason, "no clusterd-gpu worker binary") || st.GPUUnavailableKind != UnavailableNoWorker {
		t.Fatalf("status %+v", st)
	}
	ex, why, err := m.Choose("")
	if err != nil || ex.Name() != "cpu" || why == nil || *why != (Unavailable{Kind: UnavailableNoWorker, Reason: st.GPUUnavailableReason}) {
		t.Fatalf("auto: %v %+v %v", ex, why, err)
	}
	if _, err := New(Options{Mode: ModeGPU}); !errors.Is(err, ErrNoGPU) {
		t.Fatalf("gpu mode without a worker: %v", err)
	}
	if _, err := New(Options{Mode: "tpu"}); err == nil {
		t.Fatal("mode tpu accepted")
	}
}

// TestProbeKinds: Probe classifies a failed device query by the worker's
// exit status (the table clusterd-gpu and package dispatch share), not by
// its message, and passes the last line of standard error on as the reason.
func TestProbeKinds(t *testing.T) {
	for _, tc := range []struct {
		name, script, kind, reason string
	}{
		{"not built", "echo 'clusterd-gpu: built without CUDA' >&2; exit 3", UnavailableNotBuilt, "clusterd-gpu devices failed: clusterd-gpu: built without CUDA"},
		{"no device", "echo 'cuInit: CUDA_ERROR_NO_DEVICE' >&2; exit 4", UnavailableNoDevice, "clusterd-gpu devices failed: cuInit: CUDA_ERROR_NO_DEVICE"},
		{"no driver", "echo 'error while loading shared libraries: libcuda.so.1' >&2; exit 127", UnavailableNoDriver, "clusterd-gpu devices failed: error while loading shared libraries: libcuda.so.1"},
		{"other failure", "echo first >&2; echo 'no device, but status 1' >&2; exit 1", UnavailableProbeFailed, "clusterd-gpu devices failed: no device, but status 1"},
		{"silent failure", "exit 3", UnavailableNotBuilt, "clusterd-gpu devices failed: exit status 3"},
		{"not JSON", "echo 'gpu:0 H200'", UnavailableProbeFailed, "clusterd-gpu devices: unreadable output: invalid character 'g' looking for beginning of value"},
		{"no devices", "echo '[]'", UnavailableNoDevice, "the GPU worker reports no devices"},
		{"hangs", "exec sleep 30", UnavailableProbeFailed, "clusterd-gpu devices failed: signal: killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), WorkerBinary)
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			m, err := New(Options{Mode: ModeAuto, WorkerPath: path, ProbeTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			st := m.Status()
			if st.GPUUnavailableKind != tc.kind || st.GPUUnavailableReason != tc.reason {
				t.Errorf("kind %q, reason %q; want %q, %q", st.GPUUnavailableKind, st.GPUUnavailableReason, tc.kind, tc.reason)
			}
			if _, err := New(Options{Mode: ModeGPU, WorkerPath: path, ProbeTimeout: 2 * time.Second}); !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("gpu mode: %v", err)
			}
		})
	}
}

func TestWorkerWithoutDevice(t *testing.T) {
	path := buildFakeGPU(t)
	t.Setenv("FAKEGPU_NODEVICE", "1")
	m, err := New(Options{Mode: ModeAuto, WorkerPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); !strings.Contains(st.GPUUnavailableReason, "CUDA_ERROR_NO_DEVICE") || st.GPUUnavailableKind != UnavailableNoDevice {
		t.Fatalf("reason %q, kind %q", st.GPUUnavailableReason, st.GPUUnavailableKind)
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
	ex, why, err := m.Choose("")
	if err != nil || ex.Name() != "gpu:0" || why != nil {
		t.Fatalf("auto: %v %+v %v", ex, why, err)
	}
	in := engine.Input{X: bench.Blobs(2000, 8, 4, 1), N: 2000, D: 8}
	spec := engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":4}`)}
	got, err := ex.Fit(context.Background(), in, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.CPU().Fit(context.Background(), in, spec, nil)
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
			_, err = ex.Fit(context.Background(), in, spec, nil)
			var we *worker.Error
			if !errors.As(err, &we) || !we.Retryable() {
				t.Fatalf("%s: %v", fault, err)
			}
		})
	}
}
