package dbscan

import (
	"context"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/schema"
)

// Algorithm is DBSCAN as the engine runs it (algo.Algorithm), with
// scikit-learn's parameters.
type Algorithm struct{ p Params }

// Parse reads the validated parameters (params.DBSCANParams).
func Parse(v, _ schema.Values, _ *int64) (algo.Algorithm, error) {
	dp := DefaultParams()
	dp.Eps = v.Float("eps")
	dp.MinSamples = v.Int("min_samples")
	dp.Metric = Euclidean
	if v.IsString("metric", "cosine") {
		dp.Metric = Cosine
	}
	return &Algorithm{p: dp}, nil
}

// Params implements algo.Algorithm.
func (m *Algorithm) Params() map[string]any {
	return map[string]any{"eps": m.p.Eps, "min_samples": m.p.MinSamples, "metric": m.p.Metric}
}

// Check implements algo.Algorithm: any data will do.
func (m *Algorithm) Check(algo.Input) error { return nil }

// Fit implements algo.Algorithm. Outside a fitting sample, a point takes
// the label of its nearest core sample point when it lies within eps of it
// (in the run's metric), and is noise otherwise, as a DBSCAN border point
// would be: only core points extend a cluster, each within eps.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	reach := make([]float64, len(res.Core))
	for i, c := range res.Core {
		reach[i] = -1
		if c {
			reach[i] = m.p.Eps
		}
	}
	return &algo.Fitted{Labels: res.Labels, K: res.NumClusters, Reach: reach, ReachCosine: m.p.Metric == Cosine}, nil
}
