package optics

import (
	"context"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/engine/algo"

	paramModels "github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// Algorithm is scikit-learn's OPTICS.
type Algorithm struct{ p Params }

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, _ schema.Values, _ *int64) (algo.Algorithm, error) {
	p := DefaultParams()
	p.MinSamples = v.Int("min_samples")
	if v.Has("max_eps") {
		p.MaxEps = v.Float("max_eps")
	}
	p.Metric = paramModels.OPTICSMetric(v)
	p.Method = v.Str("cluster_method")
	if v.Has("eps") {
		p.Eps = v.Float("eps")
	}
	p.Xi = v.Float("xi")
	p.PredecessorCorrection = v.Bool("predecessor_correction")
	if v.Has("min_cluster_size") {
		p.MinClusterSize = v.Float("min_cluster_size")
	}
	return &Algorithm{p: p}, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"min_samples": m.p.MinSamples, "max_eps": nil, "metric": m.p.Metric, "cluster_method": m.p.Method, "eps": nil,
		"xi": m.p.Xi, "predecessor_correction": m.p.PredecessorCorrection, "min_cluster_size": nil,
	}
	if !math.IsInf(m.p.MaxEps, 1) {
		out["max_eps"] = m.p.MaxEps
	}
	if m.p.Eps > 0 {
		out["eps"] = m.p.Eps
	}
	if m.p.MinClusterSize > 0 {
		out["min_cluster_size"] = m.p.MinClusterSize
	}
	return out
}

// CheckShape implements algo.ShapeChecker.
func (m *Algorithm) CheckShape(n, _ int) error {
	switch {
	case m.p.MinSamples > n:
		return &algo.ParamError{Param: "min_samples", Msg: fmt.Sprintf("min_samples = %d is more than the %d points to cluster", m.p.MinSamples, n)}
	case m.p.MinClusterSize > float64(n):
		return &algo.ParamError{Param: "min_cluster_size", Msg: fmt.Sprintf("min_cluster_size = %g is more than the %d points to cluster", m.p.MinClusterSize, n)}
	}
	return nil
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error { return m.CheckShape(in.N, in.D) }

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"})
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if err != nil {
		return nil, err
	}
	// A clustered point extends its cluster within its core distance.
	reach := make([]float64, len(res.CoreDistances))
	for i, c := range res.CoreDistances {
		reach[i] = c
		if math.IsInf(c, 1) {
			reach[i] = -1
		}
	}
	// Outside a fitting sample, a point takes the label of its nearest
	// clustered sample point (in the run's metric) when it lies within that
	// point's core distance, and is noise otherwise.
	return &algo.Fitted{Labels: res.Labels, K: res.NumClusters, Reach: reach, ReachCosine: m.p.Metric == Cosine}, nil
}
