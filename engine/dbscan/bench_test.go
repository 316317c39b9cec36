package dbscan

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/kernels"
)

func benchFit(b *testing.B, x []float32, n, d int, p Params) {
	reftest.BenchFit(b, x, n, d, "DBSCAN_BENCH_OUT", func(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32) (reftest.Fitted, error) {
		res, err := Fit(ctx, be, ds, x, p)
		if err != nil {
			return reftest.Fitted{}, err
		}
		return reftest.Fitted{Labels: res.Labels, Clusters: res.NumClusters, Noise: res.NoisePoints}, nil
	})
}

// BenchmarkFit times fits on generated blobs through the k-d tree (2 and
// 8 dimensions) and through backend distances (32 dimensions).
func BenchmarkFit(b *testing.B) {
	for _, c := range []struct {
		n, d int
		eps  float64
	}{{50000, 2, 0.1}, {50000, 8, 0.6}, {20000, 32, 4.5}} {
		b.Run(fmt.Sprintf("blobs_%dx%d", c.n, c.d), func(b *testing.B) {
			benchFit(b, reftest.Blobs(c.n, c.d, 10, 1), c.n, c.d, Params{Eps: c.eps, MinSamples: 10, Metric: Euclidean})
		})
	}
}

// BenchmarkFitFile times a fit on the .npy file named by DBSCAN_BENCH_FILE
// with DBSCAN_BENCH_EPS, DBSCAN_BENCH_MIN_SAMPLES and DBSCAN_BENCH_METRIC
// (defaults 0.5, 5, euclidean); it is skipped when the file is not set. The labels go to the .npy
// file named by DBSCAN_BENCH_OUT, when set.
func BenchmarkFitFile(b *testing.B) {
	path := os.Getenv("DBSCAN_BENCH_FILE")
	if path == "" {
		b.Skip("DBSCAN_BENCH_FILE not set")
	}
	p := Params{Eps: reftest.EnvFloat(b, "DBSCAN_BENCH_EPS", 0.5), MinSamples: int(reftest.EnvFloat(b, "DBSCAN_BENCH_MIN_SAMPLES", 5)), Metric: Euclidean}
	if m := os.Getenv("DBSCAN_BENCH_METRIC"); m != "" {
		p.Metric = m
	}
	x, n, d := reftest.Matrix(b, path)
	benchFit(b, x, n, d, p)
}
