//go:build cuda || cudaemu

package gpu_test

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/gpu"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/kernels/conformance"
)

// newBackend opens the device named by CLUSTERD_GPU_DEVICE (default 0) or
// skips the test when it cannot. (A machine without any CUDA device does not
// get this far: the test binary exits at start-up, see gpu/internal/cuinit.)
func newBackend(tb testing.TB, precision string) *gpu.Backend {
	tb.Helper()
	dev := 0
	if s := os.Getenv("CLUSTERD_GPU_DEVICE"); s != "" {
		var err error
		if dev, err = strconv.Atoi(s); err != nil {
			tb.Fatalf("CLUSTERD_GPU_DEVICE=%q: %v", s, err)
		}
	}
	b, err := gpu.New(gpu.Options{Device: dev, Precision: precision})
	if err != nil {
		tb.Skipf("no usable CUDA device %d: %v", dev, err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

// TestConformance runs the shared suite with the default precision (tf32
// with fp32 re-checks on compute capability ≥ 8.0).
func TestConformance(t *testing.T) {
	conformance.Run(t, func(tb testing.TB) kernels.Backend { return newBackend(tb, gpu.PrecisionAuto) })
}

// TestConformanceFP32 runs the shared suite on the exact fp32 kernels. In
// the CPU model, which is slow at the KNN and reductions (the same code
// whatever the precision, and run by TestConformance), it runs only the
// checks whose kernels the precision changes.
func TestConformanceFP32(t *testing.T) {
	f := func(tb testing.TB) kernels.Backend { return newBackend(tb, gpu.PrecisionFP32) }
	if gpu.Emulated {
		t.Run("Assign", func(t *testing.T) { conformance.TestAssign(t, f) })
		t.Run("AssignSubset", func(t *testing.T) { conformance.TestAssignSubset(t, f) })
		return
	}
	conformance.Run(t, f)
}

// TestTF32LabelsEqualFP32 checks the claim of the tf32 path: after the
// re-check of near ties, every label equals the fp32 kernel's.
func TestTF32LabelsEqualFP32(t *testing.T) {
	tc, fp := newBackend(t, gpu.PrecisionAuto), newBackend(t, gpu.PrecisionFP32)
	if !tc.TensorCores() {
		t.Skip("device has no tf32 tensor cores")
	}
	const n, d, k = 30011, 200, 517
	x := bench.Blobs(n, d, k, 7)
	c := slices.Clone(x[:k*d])
	labels := [2][]int32{make([]int32, n), make([]int32, n)}
	dist := [2][]float32{make([]float32, n), make([]float32, n)}
	for i, b := range []*gpu.Backend{tc, fp} {
		ds, err := b.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		if err := b.Assign(context.Background(), ds, c, k, labels[i], dist[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if labels[0][i] != labels[1][i] {
			t.Fatalf("row %d: tf32 label %d (dist %g), fp32 label %d (dist %g)", i, labels[0][i], dist[0][i], labels[1][i], dist[1][i])
		}
		// The tf32 path measures the chosen distance from differences, the
		// fp32 kernel in the GEMM form, which cancels: compare within the
		// kernels.Backend contract's 1e-5·(‖x‖² + ‖c‖²).
		l := int(labels[0][i])
		tol := 1e-5 * (sqNorm64(x[i*d:(i+1)*d]) + sqNorm64(c[l*d:(l+1)*d]))
		if math.Abs(float64(dist[0][i]-dist[1][i])) > tol {
			t.Fatalf("row %d: tf32 dist2 %g, fp32 %g, tol %g", i, dist[0][i], dist[1][i], tol)
		}
	}
	s := tc.Stats()
	t.Logf("tf32: %d rows; near ties settled by an exact pair comparison: %d, by the fp32 kernel: %d",
		s.TF32Rows, s.PairRechecks, s.FullRechecks)
}

// TestKNNHostSort covers k > gpu.KNNSortMax, where the host sorts the
// neighbours the device selected and measured, against the cpu backend.
func TestKNNHostSort(t *testing.T) {
	b := newBackend(t, gpu.PrecisionAuto)
	const n, d, k = 2100, 24, gpu.KNNSortMax + 77
	x := bench.Blobs(n, d, 9, 3)
	idx := [2][]int32{make([]int32, n*k), make([]int32, n*k)}
	dist := [2][]float32{make([]float32, n*k), make([]float32, n*k)}
	for i, be := range []kernels.Backend{b, cpu.New(cpu.Options{})} {
		ds, err := be.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		if err := be.KNN(context.Background(), ds, k, idx[i], dist[i]); err != nil {
			t.Fatal(err)
		}
	}
	for r := range n {
		got, want := dist[0][r*k:(r+1)*k], dist[1][r*k:(r+1)*k]
		if got[0] != 0 {
			t.Fatalf("row %d: nearest neighbour %d at %g, want itself at 0", r, idx[0][r*k], got[0])
		}
		for q := range k {
			if q > 0 && got[q] < got[q-1] {
				t.Fatalf("row %d: neighbours not sorted at %d", r, q)
			}
			if tol := 1e-5 * float64(want[q]+1); math.Abs(float64(got[q]-want[q])) > tol {
				t.Fatalf("row %d, neighbour %d: dist2 %g, cpu %g", r, q, got[q], want[q])
			}
		}
	}
}

// TestMeasureFMAPeak checks that the probe runs and reports a plausible
// rate (between 100 GFMA/s and 1 PFMA/s).
func TestMeasureFMAPeak(t *testing.T) {
	if gpu.Emulated {
		t.Skip("the CPU model measures nothing about a device's speed")
	}
	b := newBackend(t, gpu.PrecisionAuto)
	rate, err := b.MeasureFMAPeak(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rate < 1e11 || rate > 1e15 {
		t.Fatalf("peak %g FMA/s", rate)
	}
	t.Logf("%s (%s): fp32 peak %.1f TFLOP/s", b.Device().Name, b.Device().ComputeCapability(), 2*rate/1e12)
}

func sqNorm64(v []float32) float64 {
	var s float64
	for _, e := range v {
		s += float64(e) * float64(e)
	}
	return s
}
