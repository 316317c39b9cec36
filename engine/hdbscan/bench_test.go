package hdbscan

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/kernels"
)

func benchFit(b *testing.B, x []float32, n, d int, p Params) {
	reftest.BenchFit(b, x, n, d, "HDBSCAN_BENCH_OUT", func(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32) (reftest.Fitted, error) {
		res, err := Fit(ctx, be, ds, x, p)
		if err != nil {
			return reftest.Fitted{}, err
		}
		return reftest.Fitted{Labels: res.Labels, Clusters: res.NumClusters, Noise: res.NoisePoints}, nil
	})
}

// BenchmarkFit times whole fits on generated blobs, through the k-d tree
// (d ≤ 60) and through Prim (d > 60).
func BenchmarkFit(b *testing.B) {
	for _, c := range []struct{ n, d, k, mcs int }{
		{20000, 2, 10, 25}, {20000, 16, 20, 25}, {5000, 128, 20, 15},
	} {
		b.Run(fmt.Sprintf("blobs_%dx%d", c.n, c.d), func(b *testing.B) {
			p := DefaultParams()
			p.MinClusterSize = c.mcs
			benchFit(b, reftest.Blobs(c.n, c.d, c.k, 1), c.n, c.d, p)
		})
	}
}

// BenchmarkFitFile times a fit on the .npy file named by HDBSCAN_BENCH_FILE
// with min_cluster_size HDBSCAN_BENCH_MCS (default 5); it is skipped when
// the variable is unset. The labels go to the .npy file named by
// HDBSCAN_BENCH_OUT, when set.
func BenchmarkFitFile(b *testing.B) {
	path := os.Getenv("HDBSCAN_BENCH_FILE")
	if path == "" {
		b.Skip("HDBSCAN_BENCH_FILE not set")
	}
	p := DefaultParams()
	p.MinClusterSize = int(reftest.EnvFloat(b, "HDBSCAN_BENCH_MCS", 5))
	x, n, d := reftest.Matrix(b, path)
	benchFit(b, x, n, d, p)
}
