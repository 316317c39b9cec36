//go:build cudaemu

package gpu

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/gpu/internal/emu"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/kernels/conformance"
)

// counting is the backend with a count of the calls that chunk their rows.
type counting struct {
	*Backend
	calls int
}

func (c *counting) KNN(ctx context.Context, x kernels.Dataset, k int, idx []int32, dist2 []float32) error {
	c.calls++
	return c.Backend.KNN(ctx, x, k, idx, dist2)
}

func (c *counting) Distances(ctx context.Context, x kernels.Dataset, y []float32, m int, out []float32) error {
	c.calls++
	return c.Backend.Distances(ctx, x, y, m, out)
}

func (c *counting) ClusterDistanceSums(ctx context.Context, x kernels.Dataset, labels []int32, k int, out []float64) error {
	c.calls++
	return c.Backend.ClusterDistanceSums(ctx, x, labels, k, out)
}

// TestChunkedOnModel runs the calls that split their rows into chunks
// sized from free device memory (KNN, Distances, ClusterDistanceSums) with
// the model's memory cut to 324 MiB, which leaves a call 1–3 MiB for its
// chunk buffers (80% of free memory less the 256 MiB reserve, after the
// dataset's upload), so that they run in several chunks, and checks the
// results: KNN by the conformance suite, the other two against the cpu
// backend on shapes whose rows need kilobytes each. Each kind of call must
// have launched its per-chunk kernel more often than it was called.
func TestChunkedOnModel(t *testing.T) {
	prev := emu.SetMemory(324 << 20)
	defer emu.SetMemory(prev)
	free, _ := freeMemory()
	if rows, err := knnChunkRows(4099, 40, 3, free); err != nil || rows >= 4099 {
		t.Fatalf("the small_d KNN case would run in one chunk (%d rows, %v): the test would not test chunking", rows, err)
	}
	const n, d, m, k = 5003, 24, 700, 300
	x := conformance.Data(conformance.Case{N: n, D: d, K: 40}, 21)
	y := x[:m*d] // m points of the data
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32((i*7919)%(k+1)) - 1 // every cluster, and unlabelled rows (−1)
	}
	ref := cpu.New(cpu.Options{})
	for _, check := range []struct {
		name    string
		kernels []string // one launch of one of them per chunk
		run     func(t *testing.T, b kernels.Backend)
	}{
		{"KNN", []string{kKNNSelect}, func(t *testing.T, b kernels.Backend) {
			conformance.TestKNN(t, func(testing.TB) kernels.Backend { return b })
		}},
		{"Distances", []string{kDist, kDistNarrow}, func(t *testing.T, b kernels.Backend) {
			var out [2][]float32
			for i, be := range []kernels.Backend{b, ref} {
				out[i] = make([]float32, n*m)
				ds := uploadFor(t, be, x, n, d)
				if err := be.Distances(context.Background(), ds, y, m, out[i]); err != nil {
					t.Fatal(err)
				}
			}
			// kernels.Backend's tolerance, 1e-5·(‖x‖² + ‖y‖²), with a bound
			// on both norms from the data (its tf32 norms, within 2⁻¹⁰).
			_, xmax := tf32Norms(x, n, d)
			tol := 1e-5 * 2 * 1.001 * float64(xmax) * float64(xmax)
			for q := range out[0] {
				if math.Abs(float64(out[0][q]-out[1][q])) > tol {
					t.Fatalf("distance %d (row %d, point %d): gpu %g, cpu %g", q, q/m, q%m, out[0][q], out[1][q])
				}
			}
		}},
		{"ClusterDistanceSums", []string{kClusterDists}, func(t *testing.T, b kernels.Backend) {
			var out [2][]float64
			for i, be := range []kernels.Backend{b, ref} {
				out[i] = make([]float64, n*k)
				ds := uploadFor(t, be, x, n, d)
				if err := be.ClusterDistanceSums(context.Background(), ds, labels, k, out[i]); err != nil {
					t.Fatal(err)
				}
			}
			for q := range out[0] {
				if math.Abs(out[0][q]-out[1][q]) > 1e-6*out[1][q]+1e-9 {
					t.Fatalf("sum %d (row %d, cluster %d): gpu %.9g, cpu %.9g", q, q/k, q%k, out[0][q], out[1][q])
				}
			}
		}},
	} {
		t.Run(check.name, func(t *testing.T) {
			b, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			be := &counting{Backend: b}
			count := func() (n int) {
				for _, k := range check.kernels {
					n += emu.Launches(k)
				}
				return n
			}
			before := count()
			check.run(t, be)
			launched := count() - before
			if launched <= be.calls {
				t.Errorf("%d calls launched %v %d times: nothing was split into chunks", be.calls, check.kernels, launched)
			}
			t.Logf("%d calls, %d launches of %v", be.calls, launched, check.kernels)
		})
	}
}

func uploadFor(t *testing.T, b kernels.Backend, x []float32, n, d int) kernels.Dataset {
	t.Helper()
	ds, err := b.Upload(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// TestSchedulingIndependent runs every call twice, with the model's
// scheduling order flipped the second time (warps and lanes that ran
// ascending run descending), and demands the same bits: the kernels claim
// results that do not depend on how the device schedules them (no
// floating-point atomics, fixed summation orders, integer histograms).
func TestSchedulingIndependent(t *testing.T) {
	defer emu.FlipOrder(false)
	const n, d, k, nn = 3001, 37, 130, 12
	x := conformance.Data(conformance.Case{N: n, D: d, K: 40}, 31)
	cent := x[:k*d]
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32((i*7919)%(k+1)) - 1
	}
	type outputs struct {
		assign       []int32
		assignDist   []float32
		sums         []float64
		counts       []int64
		labelDist    []float32
		dists        []float32
		knnIdx       []int32
		knnDist      []float32
		clusterDists []float64
	}
	run := func(flip bool) outputs {
		emu.FlipOrder(flip)
		b, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx := context.Background()
		ds := uploadFor(t, b, x, n, d)
		o := outputs{
			assign: make([]int32, n), assignDist: make([]float32, n),
			sums: make([]float64, k*d), counts: make([]int64, k),
			labelDist: make([]float32, n), dists: make([]float32, n*k),
			knnIdx: make([]int32, n*nn), knnDist: make([]float32, n*nn),
			clusterDists: make([]float64, n*k),
		}
		for _, err := range []error{
			b.Assign(ctx, ds, cent, k, o.assign, o.assignDist),
			b.SumByLabel(ctx, ds, labels, k, o.sums, o.counts),
			b.LabelDistances(ctx, ds, cent, k, labels, o.labelDist),
			b.Distances(ctx, ds, cent, k, o.dists),
			b.KNN(ctx, ds, nn, o.knnIdx, o.knnDist),
			b.ClusterDistanceSums(ctx, ds, labels, k, o.clusterDists),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	a, b := run(false), run(true)
	same := func(name string, eq bool) {
		if !eq {
			t.Errorf("%s differs between the two scheduling orders", name)
		}
	}
	same("Assign labels", slices.Equal(a.assign, b.assign))
	same("Assign distances", slices.Equal(a.assignDist, b.assignDist))
	same("SumByLabel sums", slices.Equal(a.sums, b.sums))
	same("SumByLabel counts", slices.Equal(a.counts, b.counts))
	same("LabelDistances", slices.Equal(a.labelDist, b.labelDist))
	same("Distances", slices.Equal(a.dists, b.dists))
	same("KNN indices", slices.Equal(a.knnIdx, b.knnIdx))
	same("KNN distances", slices.Equal(a.knnDist, b.knnDist))
	same("ClusterDistanceSums", slices.Equal(a.clusterDists, b.clusterDists))
}

// TestTF32GapMatchesKernel compares the tests' mirror of the tie bound
// (tf32Gap, which TestTF32GapAdversarial and TestTF32TieBound check) with
// tf32_gap compiled from gpu/cuda/assign_tc.cu, so that the bound the
// device applies is the one that was tested.
func TestTF32GapMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for range 1000 {
		xr := float32(math.Exp(r.NormFloat64() * 5))
		cmax := float32(math.Exp(r.NormFloat64() * 3))
		a := float32(r.NormFloat64()) * (xr + cmax*cmax)
		b := a + float32(math.Abs(r.NormFloat64()))*(xr+cmax*cmax)
		d := 1 + r.IntN(4096)
		got := emu.TF32Gap(float64(a), float64(b), float64(xr), float64(cmax), d)
		want := tf32Gap(a, b, xr, cmax, d)
		if math.Abs(got-want) > 1e-12*want {
			t.Fatalf("tf32_gap(%g, %g, xr %g, cmax %g, d %d) = %.17g in the kernel, %.17g in the mirror", a, b, xr, cmax, d, got, want)
		}
	}
}
