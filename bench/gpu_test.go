//go:build cuda || cudaemu

package bench

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/gpu"
	"github.com/clusterd/clusterd/kernels"
)

// openGPU opens the device named by CLUSTERD_GPU_DEVICE (default 0) with
// the given precision, closed when the benchmark ends.
func openGPU(b *testing.B, precision string) *gpu.Backend {
	b.Helper()
	dev, _ := strconv.Atoi(os.Getenv("CLUSTERD_GPU_DEVICE"))
	be, err := gpu.New(gpu.Options{Device: dev, Precision: precision})
	if err != nil {
		b.Skipf("no usable CUDA device %d: %v", dev, err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// BenchmarkGPU runs the shared grid on the gpu backend:
//
//	go test -tags cuda ./bench -run '^$' -bench '^BenchmarkGPU$' -benchtime 10x
//
// CLUSTERD_GPU_PRECISION picks Assign's precision (auto, fp32, tf32;
// default auto: tf32 with exact re-checks on compute capability ≥ 8.0).
func BenchmarkGPU(b *testing.B) {
	p := os.Getenv("CLUSTERD_GPU_PRECISION")
	Kernels(b, func() kernels.Backend { return openGPU(b, p) })
}

// lloydSize is the headline k-means workload: n = 1,000,000 points of
// d = 768 (an embedding model's width), k = 1000, 20 Lloyd iterations.
// CLUSTERD_LLOYD_N overrides n (for smaller devices).
func lloydSize() Size {
	s := Size{N: 1_000_000, D: 768, K: 1000}
	if v, err := strconv.Atoi(os.Getenv("CLUSTERD_LLOYD_N")); err == nil && v >= s.K {
		s.N = v
	}
	return s
}

const lloydIters = 20

// lloyd runs iters Lloyd iterations from the centroids c (updated in
// place): Assign, SumByLabel, and the new means on the host (an empty
// cluster keeps its centroid).
func lloyd(be kernels.Backend, ds kernels.Dataset, c []float32, s Size, iters int) ([]int32, error) {
	ctx := context.Background()
	labels, dist := make([]int32, s.N), make([]float32, s.N)
	sums, counts := make([]float64, s.K*s.D), make([]int64, s.K)
	for range iters {
		if err := be.Assign(ctx, ds, c, s.K, labels, dist); err != nil {
			return nil, err
		}
		if err := be.SumByLabel(ctx, ds, labels, s.K, sums, counts); err != nil {
			return nil, err
		}
		for j := range s.K {
			if counts[j] == 0 {
				continue
			}
			for t := range s.D {
				c[j*s.D+t] = float32(sums[j*s.D+t] / float64(counts[j]))
			}
		}
	}
	return labels, nil
}

// BenchmarkLloyd measures the headline workload (see lloydSize) and the
// targets it is held to, on the device and on the CPU, in sub-benchmarks:
//
//   - assign-fp32: one fused fp32 Assign; FMA/s and the fraction of the
//     device's fp32 FMA peak, measured in the same run (gpu.MeasureFMAPeak);
//   - assign-tf32: the same on tensor cores; the speed-up over fp32 and the
//     number of labels that differ from fp32's (0 expected: near ties are
//     re-checked exactly), with how the near ties were settled;
//   - run-fp32, run-tf32: 20 Lloyd iterations (Assign + SumByLabel + the
//     means), seconds per run;
//   - assign-cpu: one Assign on the cpu backend, with the 20-iteration
//     time it implies, for the GPU-over-CPU ratio.
//
// Run it with
//
//	go test -tags cuda ./bench -run '^$' -bench '^BenchmarkLloyd$' -benchtime 3x
func BenchmarkLloyd(b *testing.B) {
	s := lloydSize()
	x := Blobs(s.N, s.D, s.K, 5)
	init := slices.Clone(x[:s.K*s.D]) // the first k points
	fma := float64(s.N) * float64(s.K) * float64(s.D)
	ctx := context.Background()

	fp := openGPU(b, gpu.PrecisionFP32)
	peak, err := fp.MeasureFMAPeak(ctx)
	if err != nil {
		b.Fatal(err)
	}
	backends := []*gpu.Backend{fp}
	names := []string{"fp32"}
	if tc := openGPU(b, gpu.PrecisionAuto); tc.TensorCores() {
		backends, names = append(backends, tc), append(names, "tf32")
	}
	labels := make([][]int32, len(backends))
	secs := make([]float64, len(backends))
	for i, be := range backends {
		ds, err := be.Upload(x, s.N, s.D)
		if err != nil {
			b.Fatal(err)
		}
		defer ds.Close()
		labels[i] = make([]int32, s.N)
		dist := make([]float32, s.N)
		b.Run("assign-"+names[i], func(b *testing.B) {
			before := be.Stats()
			for b.Loop() {
				if err := be.Assign(ctx, ds, init, s.K, labels[i], dist); err != nil {
					b.Fatal(err)
				}
			}
			secs[i] = b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(fma/secs[i]/1e12, "TFMA/s")
			b.ReportMetric(100*fma/secs[i]/peak, "%fp32-peak")
			b.ReportMetric(2*peak/1e12, "peak-TFLOP/s")
			if i > 0 {
				b.ReportMetric(secs[0]/secs[i], "x-fp32")
				diff := 0
				for r := range labels[i] {
					if labels[i][r] != labels[0][r] {
						diff++
					}
				}
				b.ReportMetric(float64(diff), "labels≠fp32")
				after := be.Stats()
				rows := float64(after.TF32Rows - before.TF32Rows)
				b.ReportMetric(100*float64(after.PairRechecks-before.PairRechecks)/rows, "%pair-rechecked")
				b.ReportMetric(100*float64(after.FullRechecks-before.FullRechecks)/rows, "%fp32-rechecked")
			}
			b.ReportMetric(0, "ns/op")
		})
		b.Run("run-"+names[i], func(b *testing.B) {
			for b.Loop() {
				if _, err := lloyd(be, ds, slices.Clone(init), s, lloydIters); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
			b.ReportMetric(0, "ns/op")
		})
	}
	b.Run("assign-cpu", func(b *testing.B) {
		be := cpu.New(cpu.Options{})
		ds, err := be.Upload(x, s.N, s.D)
		if err != nil {
			b.Fatal(err)
		}
		defer ds.Close()
		cl, dist := make([]int32, s.N), make([]float32, s.N)
		for b.Loop() {
			if err := be.Assign(ctx, ds, init, s.K, cl, dist); err != nil {
				b.Fatal(err)
			}
		}
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(fma/sec/1e12, "TFMA/s")
		b.ReportMetric(sec*lloydIters, "s/run-assign-only")
		b.ReportMetric(sec/secs[len(secs)-1], "x-slower-than-gpu")
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkKMeansW4 runs whole k-means fits of W4 (BlobsScaled, scale 1.5;
// 20 iterations, n_init 1, tol 0, as the large-collections issue's table)
// through engine.Fit on the device and on the CPU backend, reporting
// seconds per fit, the objective and the phases (stats.phase_seconds):
//
//	go test -tags cuda ./bench -run '^$' -bench '^BenchmarkKMeansW4$' -benchtime 1x
func BenchmarkKMeansW4(b *testing.B) {
	x := BlobsScaled(W4.N, W4.D, W4.K, 1.5, 10)
	in := engine.Input{X: x, N: W4.N, D: W4.D}
	spec := engine.Spec{Algorithm: engine.KMeans, Params: []byte(`{"n_clusters":1000,"n_init":1,"max_iter":20,"tol":0,"random_state":1}`)}
	for _, c := range []struct {
		name string
		be   func() kernels.Backend
	}{
		{"gpu", func() kernels.Backend { return openGPU(b, os.Getenv("CLUSTERD_GPU_PRECISION")) }},
		{"cpu", func() kernels.Backend { return cpu.New(cpu.Options{}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			be := c.be()
			var res *engine.Result
			for b.Loop() {
				var err error
				if res, err = engine.Fit(context.Background(), in, spec, engine.Options{Backend: be}); err != nil {
					b.Fatal(err)
				}
			}
			p := res.Stats.PhaseSeconds
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/fit")
			b.ReportMetric(*res.Stats.Inertia, "objective")
			b.ReportMetric(p.Seeding, "seeding-s")
			b.ReportMetric(p.Iterations, "iterations-s")
			b.ReportMetric(p.Metrics, "metrics-s")
			b.ReportMetric(float64(res.Stats.RowsMeasured)/float64(W4.N), "rows-measured/n")
			b.ReportMetric(0, "ns/op")
		})
	}
}
