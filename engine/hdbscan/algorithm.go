package hdbscan

import (
	"context"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/schema"
)

// Algorithm is HDBSCAN as the engine runs it (algo.Algorithm), with the
// reference library's parameters (scikit-learn-contrib hdbscan 0.8.33),
// Euclidean metric.
type Algorithm struct{ p Params }

// Parse reads the validated parameters (params.HDBSCANParams).
func Parse(v, _ schema.Values, _ *int64) (algo.Algorithm, error) {
	hp := DefaultParams()
	hp.MinClusterSize = v.Int("min_cluster_size")
	if v.Has("min_samples") {
		hp.MinSamples = v.Int("min_samples")
	}
	hp.ClusterSelectionEpsilon = v.Float("cluster_selection_epsilon")
	if v.Has("max_cluster_size") {
		hp.MaxClusterSize = v.Int("max_cluster_size")
	}
	hp.Method = v.Str("cluster_selection_method")
	hp.AllowSingleCluster = v.Bool("allow_single_cluster")
	hp.Alpha = v.Float("alpha")
	return &Algorithm{p: hp}, nil
}

// Params implements algo.Algorithm.
func (m *Algorithm) Params() map[string]any {
	ms := m.p.MinSamples
	if ms == 0 {
		ms = m.p.MinClusterSize
	}
	return map[string]any{
		"min_cluster_size": m.p.MinClusterSize, "min_samples": ms,
		"cluster_selection_epsilon": m.p.ClusterSelectionEpsilon, "max_cluster_size": m.p.MaxClusterSize,
		"cluster_selection_method": m.p.Method, "allow_single_cluster": m.p.AllowSingleCluster,
		"alpha": m.p.Alpha, "metric": "euclidean",
	}
}

// Check implements algo.Algorithm: any data will do.
func (m *Algorithm) Check(algo.Input) error { return nil }

// Fit implements algo.Algorithm. Outside a fitting sample, a point takes
// the label of its nearest clustered sample point when it lies within that
// point's core distance (Fitted.Reach), and is noise otherwise.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	return &algo.Fitted{Labels: res.Labels, K: res.NumClusters, Reach: res.CoreDistances}, nil
}
