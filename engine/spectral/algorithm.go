package spectral

import (
	"context"
	"errors"
	"fmt"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/kmeans"

	"github.com/clusterd/clusterd/schema"
)

// Algorithm is scikit-learn's SpectralClustering.
type Algorithm struct{ p Params }

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, _ schema.Values, seed *int64) (algo.Algorithm, error) {
	p := Params{
		NClusters: v.Int("n_clusters"), Affinity: v.Str("affinity"), Gamma: v.Float("gamma"), NNeighbors: v.Int("n_neighbors"),
		EigenTol: v.Float("eigen_tol"), AssignLabels: v.Str("assign_labels"), NInit: v.Int("n_init"), Seed: algo.ReadSeed(v, seed),
	}
	if v.Has("n_components") {
		p.NComponents = v.Int("n_components")
	}
	return &Algorithm{p: p}, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"n_clusters": m.p.NClusters, "affinity": m.p.Affinity, "gamma": m.p.Gamma, "n_neighbors": m.p.NNeighbors,
		"eigen_tol": m.p.EigenTol, "assign_labels": m.p.AssignLabels, "n_init": m.p.NInit, "random_state": m.p.Seed,
		"n_components": nil, "eigen_solver": "lobpcg",
	}
	if m.p.NComponents > 0 {
		out["n_components"] = m.p.NComponents
	}
	return out
}

// CheckShape names the parameter the data's size cannot honour: more
// clusters, components or neighbours than points, or a dense rbf affinity
// above MaxDenseBytes.
func (m *Algorithm) CheckShape(n, _ int) error {
	switch {
	case m.p.NClusters > n:
		return &algo.ParamError{Param: "n_clusters", Msg: fmt.Sprintf("n_clusters = %d is more than the %d points to cluster", m.p.NClusters, n)}
	case m.p.NComponents > n:
		return &algo.ParamError{Param: "n_components", Msg: fmt.Sprintf("n_components = %d is more than the %d points to cluster", m.p.NComponents, n)}
	case m.p.Affinity != RBF && m.p.NNeighbors > n:
		return &algo.ParamError{Param: "n_neighbors", Msg: fmt.Sprintf("n_neighbors = %d is more than the %d points to cluster", m.p.NNeighbors, n)}
	}
	if err := m.p.Check(n); errors.Is(err, ErrTooLarge) {
		return &algo.ParamError{Param: "affinity", Msg: err.Error()}
	}
	return nil
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error { return m.CheckShape(in.N, in.D) }

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"})
	res, err := Fit(ctx, r.Backend, r.DS, r.In.X, m.p, func(ctx context.Context, emb []float32, n, d, k, nInit int, seed int64) ([]int32, error) {
		ds, err := r.Backend.Upload(emb, n, d)
		if err != nil {
			return nil, err
		}
		defer ds.Close()
		sub := &algo.State{In: algo.Input{X: emb, N: n, D: d}, DS: ds, Backend: r.Backend, Seed: seed}
		return kmeans.Labels(ctx, sub, k, nInit, seed)
	})
	if err != nil {
		return nil, err
	}
	conv := res.Converged
	return &algo.Fitted{Labels: res.Labels, K: m.p.NClusters, Iterations: res.Iterations, Converged: &conv}, nil
}

// Child gives a sub-clustering min(n_clusters, ⌊members/10⌋) clusters.
func (m *Algorithm) Child(size int) (algo.Algorithm, bool) {
	k, ok := algo.ChildClusters(m.p.NClusters, size)
	if !ok {
		return nil, false
	}
	c := *m
	c.p.NClusters = k
	if c.p.NComponents > 0 {
		c.p.NComponents = min(c.p.NComponents, size)
	}
	return &c, true
}
