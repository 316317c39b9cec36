package agglomerative

import (
	"context"
	"fmt"

	"github.com/clusterd/clusterd/engine/algo"

	paramModels "github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// Algorithm is scikit-learn's AgglomerativeClustering.
type Algorithm struct{ p Params }

// Parse reads n_clusters and distance_threshold as
// scikit-learn does, where exactly one is set (params.AgglomerativeParams
// has the rules): a distance_threshold makes n_clusters unused.
func Parse(v, _ schema.Values, _ *int64) (algo.Algorithm, error) {
	ap := DefaultParams()
	if v.Has("distance_threshold") {
		t := v.Float("distance_threshold")
		ap.NClusters, ap.DistanceThreshold = 0, &t
	} else {
		ap.NClusters = v.Int("n_clusters")
	}
	ap.Linkage = v.Str("linkage")
	ap.Metric = paramModels.AgglomerativeMetric(v)
	return &Algorithm{p: ap}, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{"n_clusters": nil, "distance_threshold": nil, "linkage": m.p.Linkage, "metric": m.p.Metric}
	if m.p.DistanceThreshold != nil {
		out["distance_threshold"] = *m.p.DistanceThreshold
	} else {
		out["n_clusters"] = m.p.NClusters
	}
	return out
}

// Check rejects more clusters than points, data too large for the
// distance matrix.
func (m *Algorithm) Check(in algo.Input) error {
	if m.p.NClusters > in.N {
		return &algo.ParamError{Param: "n_clusters",
			Msg: fmt.Sprintf("n_clusters = %d is more than the %d points to cluster", m.p.NClusters, in.N)}
	}
	if m.p.NeedsMatrix() && in.N > MaxPoints {
		return &algo.DataError{Row: -1, Msg: fmt.Sprintf("agglomerative clustering with %s linkage and the %s metric keeps all n(n−1)/2 pairwise distances "+
			"and is limited to %d points (%.1f GiB); got %d. Sample the data (sample_size) or use single linkage with the euclidean metric, which needs no matrix",
			m.p.Linkage, m.p.Metric, MaxPoints, MatrixGiB(MaxPoints), in.N)}
	}
	return nil
}

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	return &algo.Fitted{Labels: res.Labels, K: res.NumClusters}, nil
}
