package agglomerative

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/clusterd/clusterd/engine/internal/reftest"
	"github.com/clusterd/clusterd/kernels"
)

func benchFit(b *testing.B, x []float32, n, d int, p Params) {
	reftest.BenchFit(b, x, n, d, "AGGLO_BENCH_OUT", func(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32) (reftest.Fitted, error) {
		res, err := Fit(ctx, be, ds, x, p)
		if err != nil {
			return reftest.Fitted{}, err
		}
		return reftest.Fitted{Labels: res.Labels, Clusters: res.NumClusters}, nil
	})
}

// BenchmarkFit times each linkage on generated blobs.
func BenchmarkFit(b *testing.B) {
	const n, d = 5000, 16
	x := reftest.Blobs(n, d, 10, 1)
	for _, c := range []struct{ linkage, metric string }{
		{Ward, Euclidean}, {Complete, Euclidean}, {Average, Cosine}, {Single, Euclidean}, {Single, Cosine},
	} {
		b.Run(fmt.Sprintf("%s_%s_%dx%d", c.linkage, c.metric, n, d), func(b *testing.B) {
			benchFit(b, x, n, d, Params{NClusters: 10, Linkage: c.linkage, Metric: c.metric})
		})
	}
}

// BenchmarkFitFile times a fit on the .npy file named by AGGLO_BENCH_FILE
// with AGGLO_BENCH_LINKAGE, AGGLO_BENCH_METRIC and AGGLO_BENCH_N_CLUSTERS
// (defaults ward, euclidean, 2); it is skipped when the file is not set. The labels go to the .npy
// file named by AGGLO_BENCH_OUT, when set.
func BenchmarkFitFile(b *testing.B) {
	path := os.Getenv("AGGLO_BENCH_FILE")
	if path == "" {
		b.Skip("AGGLO_BENCH_FILE not set")
	}
	p := Params{NClusters: int(reftest.EnvFloat(b, "AGGLO_BENCH_N_CLUSTERS", 2)), Linkage: Ward, Metric: Euclidean}
	if v := os.Getenv("AGGLO_BENCH_LINKAGE"); v != "" {
		p.Linkage = v
	}
	if v := os.Getenv("AGGLO_BENCH_METRIC"); v != "" {
		p.Metric = v
	}
	x, n, d := reftest.Matrix(b, path)
	benchFit(b, x, n, d, p)
}
