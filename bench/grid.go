// Package bench holds the benchmark grid every kernels.Backend shares, so
// that CPU and GPU figures come from the same shapes and the same data.
//
// A backend's benchmark file calls Kernels with one line:
//
//	func BenchmarkCPU(b *testing.B) { bench.Kernels(b, func() kernels.Backend { return cpu.New(cpu.Options{}) }) }
//
// Each benchmark reports points/s (rows processed per second) and GFLOP/s
// counting 2·n·k·d floating-point operations for an assignment (one
// multiply-add per feature per row-centroid pair) and 2·n²·d for a pairwise
// reduction, whatever shortcuts the backend takes.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/clusterd/clusterd/kernels"
)

// Size is one shape of the grid.
type Size struct{ N, D, K int }

func (s Size) String() string { return fmt.Sprintf("n%d_d%d_k%d", s.N, s.D, s.K) }

// AssignGrid covers the k-means workloads: W1 and W2 of the CPU-speed issue
// (at full size), a low-dimensional one and a many-centroid one.
var AssignGrid = []Size{
	{N: 200000, D: 128, K: 256}, // W1
	{N: 100000, D: 768, K: 100}, // W2
	{N: 200000, D: 16, K: 20},
	{N: 20000, D: 768, K: 1000},
	W4, // the large collection of the large-collections issue
}

// W4 is the large-collections issue's large collection: 1,000,000 × 128
// with k = 1,000 (overlapping clusters, see BlobsScaled).
var W4 = Size{N: 1_000_000, D: 128, K: 1000}

// PairwiseGrid covers the silhouette reduction and k-nearest neighbours.
var PairwiseGrid = []Size{
	{N: 20000, D: 768, K: 100}, // the silhouette slice of W2
	{N: 20000, D: 128, K: 20},
	{N: 20000, D: 16, K: 15},
}

// Blobs returns n×d float32 Gaussian blobs around k centres (seeded):
// centres N(0, 1)·4, unit noise.
func Blobs(n, d, k int, seed uint64) []float32 { return BlobsScaled(n, d, k, 4, seed) }

// BlobsScaled is Blobs with centres N(0, 1)·scale: the distribution of
// bench/peers.py gen (W4: scale 1.5), from Go's generator rather than
// numpy's, so the points differ.
func BlobsScaled(n, d, k int, scale float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float32, k*d)
	for i := range centres {
		centres[i] = float32(r.NormFloat64() * scale)
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := r.IntN(k)
		for t := 0; t < d; t++ {
			x[i*d+t] = centres[c*d+t] + float32(r.NormFloat64())
		}
	}
	return x
}

func report(b *testing.B, points, flops float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(points/sec, "points/s")
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(0, "ns/op") // seconds per op are in the two rates
}

// Kernels runs every kernel benchmark of the grid on a backend.
func Kernels(b *testing.B, newBackend func() kernels.Backend) {
	ctx := context.Background()
	be := newBackend()
	for _, s := range AssignGrid {
		x := Blobs(s.N, s.D, s.K, 1)
		ds, err := be.Upload(x, s.N, s.D)
		if err != nil {
			b.Fatal(err)
		}
		c := make([]float32, s.K*s.D)
		copy(c, x) // the first k rows as centroids
		labels, dist := make([]int32, s.N), make([]float32, s.N)
		b.Run("Assign/"+s.String(), func(b *testing.B) {
			for b.Loop() {
				if err := be.Assign(ctx, ds, c, s.K, labels, dist); err != nil {
					b.Fatal(err)
				}
			}
			report(b, float64(s.N), 2*float64(s.N)*float64(s.K)*float64(s.D))
		})
		sums, counts := make([]float64, s.K*s.D), make([]int64, s.K)
		b.Run("SumByLabel/"+s.String(), func(b *testing.B) {
			for b.Loop() {
				if err := be.SumByLabel(ctx, ds, labels, s.K, sums, counts); err != nil {
					b.Fatal(err)
				}
			}
			report(b, float64(s.N), float64(s.N)*float64(s.D))
		})
		ds.Close()
	}
	for _, s := range PairwiseGrid {
		x := Blobs(s.N, s.D, s.K, 2)
		ds, err := be.Upload(x, s.N, s.D)
		if err != nil {
			b.Fatal(err)
		}
		labels := make([]int32, s.N)
		for i := range labels {
			labels[i] = int32(i % s.K)
		}
		out := make([]float64, s.N*s.K)
		b.Run("ClusterDistanceSums/"+s.String(), func(b *testing.B) {
			for b.Loop() {
				if err := be.ClusterDistanceSums(ctx, ds, labels, s.K, out); err != nil {
					b.Fatal(err)
				}
			}
			report(b, float64(s.N), 2*float64(s.N)*float64(s.N)*float64(s.D))
		})
		const knn = 15
		idx, dist := make([]int32, s.N*knn), make([]float32, s.N*knn)
		b.Run(fmt.Sprintf("KNN%d/%s", knn, s), func(b *testing.B) {
			for b.Loop() {
				if err := be.KNN(ctx, ds, knn, idx, dist); err != nil {
					b.Fatal(err)
				}
			}
			report(b, float64(s.N), 2*float64(s.N)*float64(s.N)*float64(s.D))
		})
		ds.Close()
	}
}
