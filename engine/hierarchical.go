package engine

import (
	"context"
	"fmt"

	"github.com/clusterd/clusterd/engine/agglomerative"
)

// agglomerativeModel is scikit-learn's AgglomerativeClustering.
type agglomerativeModel struct{ p agglomerative.Params }

// parseAgglomerative reads n_clusters and distance_threshold as
// scikit-learn does, where exactly one is set: n_clusters defaults to 2
// unless distance_threshold is given; n_clusters: null with no
// distance_threshold, or both given, is a conflict.
func parseAgglomerative(p *paramReader, _ *int64) (model, error) {
	ap := agglomerative.DefaultParams()
	_, nullClusters := p.raw["n_clusters"]
	nullClusters = nullClusters && !p.has("n_clusters")
	threshold := p.optFloat("distance_threshold", 0, false)
	switch {
	case p.has("n_clusters") && threshold != nil:
		p.used["n_clusters"] = true
		p.fail("distance_threshold", "conflict", "cannot be set together with n_clusters; set exactly one of them")
	case threshold != nil:
		p.used["n_clusters"] = true
		ap.NClusters, ap.DistanceThreshold = 0, threshold
	case nullClusters:
		p.used["n_clusters"] = true
		p.fail("n_clusters", "conflict", "is null and distance_threshold is not set; set exactly one of them")
	default:
		ap.NClusters = p.intIn("n_clusters", ap.NClusters, 1, -1)
	}
	ap.Linkage = p.enum("linkage", ap.Linkage, agglomerative.Ward, agglomerative.Complete, agglomerative.Average, agglomerative.Single)
	ap.Metric = p.enum("metric", ap.Metric, agglomerative.Euclidean, agglomerative.Cosine)
	if ap.Linkage == agglomerative.Ward && ap.Metric != agglomerative.Euclidean {
		p.fail("metric", "conflict", "%q cannot be used with linkage %q, which needs %q", ap.Metric, ap.Linkage, agglomerative.Euclidean)
	}
	return &agglomerativeModel{p: ap}, nil
}

func (m *agglomerativeModel) params() map[string]any {
	out := map[string]any{"n_clusters": nil, "distance_threshold": nil, "linkage": m.p.Linkage, "metric": m.p.Metric}
	if m.p.DistanceThreshold != nil {
		out["distance_threshold"] = *m.p.DistanceThreshold
	} else {
		out["n_clusters"] = m.p.NClusters
	}
	return out
}

// check rejects more clusters than points, data too large for the
// distance matrix, and zero vectors under the cosine metric.
func (m *agglomerativeModel) check(in Input) error {
	if m.p.NClusters > in.N {
		return &ParamError{Param: "n_clusters", Kind: "range",
			Msg: fmt.Sprintf("n_clusters = %d is more than the %d points to cluster", m.p.NClusters, in.N)}
	}
	if m.p.NeedsMatrix() && in.N > agglomerative.MaxPoints {
		return &DataError{Row: -1, Msg: fmt.Sprintf("agglomerative clustering with %s linkage and the %s metric keeps all n(n−1)/2 pairwise distances "+
			"and is limited to %d points (%.1f GiB); got %d. Sample the data (sample_size) or use single linkage with the euclidean metric, which needs no matrix",
			m.p.Linkage, m.p.Metric, agglomerative.MaxPoints, agglomerative.MatrixGiB(agglomerative.MaxPoints), in.N)}
	}
	if m.p.Metric == agglomerative.Cosine {
		for i := 0; i < in.N; i++ {
			if sqNorm64(in.X[i*in.D:(i+1)*in.D]) == 0 {
				return &DataError{Row: i, Msg: "zero vector: its cosine distance to other points is undefined"}
			}
		}
	}
	return nil
}

func (m *agglomerativeModel) fit(ctx context.Context, r *run) (*fitted, error) {
	r.report(Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := agglomerative.Fit(ctx, r.be, r.ds, r.in.X, m.p)
	if err != nil {
		return nil, err
	}
	return &fitted{labels: res.Labels, k: res.NumClusters}, nil
}
