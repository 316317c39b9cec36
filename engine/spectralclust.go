package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/clusterd/clusterd/engine/spectral"
	"github.com/clusterd/clusterd/schema"
)

// spectralModel is scikit-learn's SpectralClustering.
type spectralModel struct{ p spectral.Params }

func parseSpectral(v, _ schema.Values, seed *int64) (Algorithm, error) {
	p := spectral.Params{
		NClusters: v.Int("n_clusters"), Affinity: v.Str("affinity"), Gamma: v.Float("gamma"), NNeighbors: v.Int("n_neighbors"),
		EigenTol: v.Float("eigen_tol"), AssignLabels: v.Str("assign_labels"), NInit: v.Int("n_init"), Seed: ReadSeed(v, seed),
	}
	if v.Has("n_components") {
		p.NComponents = v.Int("n_components")
	}
	return &spectralModel{p: p}, nil
}

func (m *spectralModel) Params() map[string]any {
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
// above spectral.MaxDenseBytes.
func (m *spectralModel) CheckShape(n, _ int) error {
	switch {
	case m.p.NClusters > n:
		return &ParamError{Param: "n_clusters", Msg: fmt.Sprintf("n_clusters = %d is more than the %d points to cluster", m.p.NClusters, n)}
	case m.p.NComponents > n:
		return &ParamError{Param: "n_components", Msg: fmt.Sprintf("n_components = %d is more than the %d points to cluster", m.p.NComponents, n)}
	case m.p.Affinity != spectral.RBF && m.p.NNeighbors > n:
		return &ParamError{Param: "n_neighbors", Msg: fmt.Sprintf("n_neighbors = %d is more than the %d points to cluster", m.p.NNeighbors, n)}
	}
	if err := m.p.Check(n); errors.Is(err, spectral.ErrTooLarge) {
		return &ParamError{Param: "affinity", Msg: err.Error()}
	}
	return nil
}

func (m *spectralModel) Check(in Input) error { return m.CheckShape(in.N, in.D) }

func (m *spectralModel) Fit(ctx context.Context, r *State) (*Fitted, error) {
	r.Report(Progress{Phase: "init"})
	res, err := spectral.Fit(ctx, r.Backend, r.DS, r.In.X, m.p, func(ctx context.Context, emb []float32, n, d, k, nInit int, seed int64) ([]int32, error) {
		ds, err := r.Backend.Upload(emb, n, d)
		if err != nil {
			return nil, err
		}
		defer ds.Close()
		sub := &State{In: Input{X: emb, N: n, D: d}, DS: ds, Backend: r.Backend, Seed: seed}
		km := &kmeansModel{p: KMeansParams{NClusters: k, Init: "k-means++", NInit: nInit, nInitGiven: true, MaxIter: 300, Tol: 1e-4, Seed: seed, Algorithm: "lloyd"}}
		f, err := km.Fit(ctx, sub)
		if err != nil {
			return nil, err
		}
		return f.Labels, nil
	})
	if err != nil {
		return nil, err
	}
	conv := res.Converged
	return &Fitted{Labels: res.Labels, K: m.p.NClusters, Iterations: res.Iterations, Converged: &conv}, nil
}

// child gives a sub-clustering min(n_clusters, ⌊members/10⌋) clusters.
func (m *spectralModel) Child(size int) (Algorithm, bool) {
	k, ok := ChildClusters(m.p.NClusters, size)
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
