package meanshift

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/engine/algo"

	"github.com/clusterd/clusterd/schema"
)

// Algorithm is scikit-learn's MeanShift. Centroids are the cluster
// centres (the modes found), not the members' means.
type Algorithm struct {
	p        Params
	seedsDim int
}

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, _ schema.Values, _ *int64) (algo.Algorithm, error) {
	p := DefaultParams()
	if v.Has("bandwidth") {
		p.Bandwidth = v.Float("bandwidth")
	}
	p.Quantile = v.Float("quantile")
	p.BinSeeding = v.Bool("bin_seeding")
	p.MinBinFreq = v.Int("min_bin_freq")
	p.ClusterAll = v.Bool("cluster_all")
	p.MaxIter = v.Int("max_iter")
	m := &Algorithm{p: p}
	for i, s := range v.List("seeds") {
		row := schema.AsValues(map[string]any{"s": s}).List("s")
		if i > 0 && len(row) != m.seedsDim {
			return nil, schema.Problems{{Loc: schema.Path{"seeds", i}, Type: "value_error", Msg: fmt.Sprintf("has %d coordinates; the first seed has %d", len(row), m.seedsDim)}}
		}
		m.seedsDim = len(row)
		for _, e := range row {
			f, _ := schema.AsValues(map[string]any{"v": e}).FloatOK("v")
			m.p.Seeds = append(m.p.Seeds, f)
		}
	}
	return m, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"bandwidth": nil, "quantile": m.p.Quantile, "seeds": nil, "bin_seeding": m.p.BinSeeding,
		"min_bin_freq": m.p.MinBinFreq, "cluster_all": m.p.ClusterAll, "max_iter": m.p.MaxIter,
	}
	if m.p.Bandwidth > 0 {
		out["bandwidth"] = m.p.Bandwidth
	}
	if m.p.Seeds != nil {
		out["seeds"] = len(m.p.Seeds) / m.seedsDim
	}
	return out
}

// CheckShape implements algo.ShapeChecker.
func (m *Algorithm) CheckShape(_, d int) error {
	if m.seedsDim > 0 && m.seedsDim != d {
		return &algo.ParamError{Param: "seeds", Msg: fmt.Sprintf("seeds are %d-dimensional; the vectors are %d-dimensional", m.seedsDim, d)}
	}
	return nil
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error { return m.CheckShape(in.N, in.D) }

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"})
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p)
	if errors.Is(err, ErrNoCentre) {
		return nil, &algo.ParamError{Param: "bandwidth", Msg: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	cents := make([]float32, len(res.Centers))
	for i, v := range res.Centers {
		cents[i] = float32(v)
	}
	return &algo.Fitted{Labels: res.Labels, K: res.NumClusters, Centroids: cents, Iterations: res.Iterations,
		Bandwidth: res.Bandwidth, ClusterAll: m.p.ClusterAll}, nil
}

// Extend implements algo.Extender: a point outside the sample takes its nearest
// centre, as MeanShift.predict does; with cluster_all false, only within
// the bandwidth (noise otherwise).
func (m *Algorithm) Extend(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted) (*algo.Fitted, error) {
	out := *f
	out.Labels = make([]int32, full.In.N)
	dist := make([]float32, full.In.N)
	if err := full.Backend.Assign(ctx, full.DS, f.Centroids, f.K, out.Labels, dist); err != nil {
		return nil, err
	}
	if !f.ClusterAll {
		for i, e := range dist {
			if math.Sqrt(math.Max(float64(e), 0)) > f.Bandwidth {
				out.Labels[i] = -1
			}
		}
	}
	for p, i := range rows {
		out.Labels[i] = f.Labels[p]
	}
	return &out, nil
}
