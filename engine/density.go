package engine

import (
	"context"

	"github.com/clusterd/clusterd/engine/dbscan"
	"github.com/clusterd/clusterd/engine/hdbscan"
	"github.com/clusterd/clusterd/schema"
)

// hdbscanModel is HDBSCAN with the reference library's parameters
// (scikit-learn-contrib hdbscan 0.8.33), Euclidean metric.
type hdbscanModel struct{ p hdbscan.Params }

func parseHDBSCAN(v, _ schema.Values, _ *int64) (Algorithm, error) {
	hp := hdbscan.DefaultParams()
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
	return &hdbscanModel{p: hp}, nil
}

func (m *hdbscanModel) Params() map[string]any {
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

func (m *hdbscanModel) Check(Input) error { return nil }

func (m *hdbscanModel) Fit(ctx context.Context, r *State) (*Fitted, error) {
	r.Report(Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := hdbscan.Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	return &Fitted{Labels: res.Labels, K: res.NumClusters, Reach: res.CoreDistances}, nil
}

// dbscanModel is DBSCAN with scikit-learn's parameters.
type dbscanModel struct{ p dbscan.Params }

func parseDBSCAN(v, _ schema.Values, _ *int64) (Algorithm, error) {
	dp := dbscan.DefaultParams()
	dp.Eps = v.Float("eps")
	dp.MinSamples = v.Int("min_samples")
	dp.Metric = dbscan.Euclidean
	if v.IsString("metric", "cosine") {
		dp.Metric = dbscan.Cosine
	}
	return &dbscanModel{p: dp}, nil
}

func (m *dbscanModel) Params() map[string]any {
	return map[string]any{"eps": m.p.Eps, "min_samples": m.p.MinSamples, "metric": m.p.Metric}
}

func (m *dbscanModel) Check(Input) error { return nil }

func (m *dbscanModel) Fit(ctx context.Context, r *State) (*Fitted, error) {
	r.Report(Progress{Phase: "init"}) // no "iterate" events: they carry k-means work counters
	res, err := dbscan.Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	// Only core points extend a cluster, each within eps.
	reach := make([]float64, len(res.Core))
	for i, c := range res.Core {
		reach[i] = -1
		if c {
			reach[i] = m.p.Eps
		}
	}
	return &Fitted{Labels: res.Labels, K: res.NumClusters, Reach: reach}, nil
}

// extend implements extender for HDBSCAN: a point outside the sample takes
// the label of its nearest clustered sample point when it lies within that
// point's core distance, and is noise otherwise.
func (m *hdbscanModel) Extend(ctx context.Context, full, sample *State, rows []int, f *Fitted) (*Fitted, error) {
	return extendWithinReach(ctx, full, sample, rows, f, false)
}

// extend implements extender for DBSCAN: a point outside the sample takes
// the label of its nearest core sample point when it lies within eps of it
// (in the run's metric), and is noise otherwise, as a DBSCAN border point
// would be.
func (m *dbscanModel) Extend(ctx context.Context, full, sample *State, rows []int, f *Fitted) (*Fitted, error) {
	return extendWithinReach(ctx, full, sample, rows, f, m.p.Metric == dbscan.Cosine)
}
