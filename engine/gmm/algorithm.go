package gmm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/kmeans"

	paramModels "github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// Algorithm is scikit-learn's GaussianMixture. Centroids are the
// component means; a point belongs to its most probable component, and
// Result.Probabilities holds that probability.
type Algorithm struct {
	p Params
	// meansDim and precDim are the dimensions means_init and
	// precisions_init imply (0: not given or none implied).
	meansDim, precDim int
	// given keeps the initial parameters as the request sent them, for
	// the run's reported parameters.
	given map[string]any
}

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, _ schema.Values, seed *int64) (algo.Algorithm, error) {
	p := Params{
		NComponents: v.Int("n_components"), CovType: v.Str("covariance_type"), Tol: v.Float("tol"),
		RegCovar: v.Float("reg_covar"), MaxIter: v.Int("max_iter"), NInit: v.Int("n_init"), Init: v.Str("init_params"),
		Seed: algo.ReadSeed(v, seed),
	}
	init, ps := paramModels.ReadGaussianInit(v, nil)
	if len(ps) > 0 {
		return nil, ps
	}
	m := &Algorithm{p: p, given: map[string]any{}}
	for _, name := range []string{"weights_init", "means_init", "precisions_init"} {
		m.given[name] = v[name]
	}
	m.p.WeightsInit = init.Weights
	for _, row := range init.Means {
		m.p.MeansInit = append(m.p.MeansInit, row...)
		m.meansDim = len(row)
	}
	m.p.PrecisionsInit, m.precDim = init.Precisions, init.PrecisionDim
	return m, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"n_components": m.p.NComponents, "covariance_type": m.p.CovType, "tol": m.p.Tol, "reg_covar": m.p.RegCovar,
		"max_iter": m.p.MaxIter, "n_init": m.p.NInit, "init_params": m.p.Init, "random_state": m.p.Seed,
		"weights_init": m.given["weights_init"], "means_init": m.given["means_init"], "precisions_init": m.given["precisions_init"],
		"warm_start": false,
	}
	return out
}

// CheckShape rejects more components than points and initial parameters
// of another dimension than the vectors.
func (m *Algorithm) CheckShape(n, d int) error {
	switch {
	case m.p.NComponents > n:
		return &algo.ParamError{Param: "n_components", Msg: fmt.Sprintf("n_components = %d is more than the %d points to cluster", m.p.NComponents, n)}
	case m.meansDim > 0 && m.meansDim != d:
		return &algo.ParamError{Param: "means_init", Msg: fmt.Sprintf("means are %d-dimensional; the vectors are %d-dimensional", m.meansDim, d)}
	case m.precDim > 0 && m.precDim != d:
		return &algo.ParamError{Param: "precisions_init", Msg: fmt.Sprintf("precisions are %d×%d; the vectors are %d-dimensional", m.precDim, m.precDim, d)}
	}
	return nil
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error { return m.CheckShape(in.N, in.D) }

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	r.Report(algo.Progress{Phase: "init"})
	res, err := Fit(ctx, r.In.X, r.In.N, r.In.D, m.p, &mixtureSeeder{r: r})
	if errors.Is(err, ErrSingular) {
		return nil, &algo.ParamError{Param: "reg_covar", Msg: err.Error() + fmt.Sprintf(" (now %g)", m.p.RegCovar)}
	}
	if err != nil {
		return nil, err
	}
	return mixtureFitted(res.Model, res.Labels, res.Probabilities, res.InitsRun), nil
}

func mixtureFitted(g *Model, labels []int32, probs []float64, inits int) *algo.Fitted {
	cents := make([]float32, len(g.Means))
	for i, v := range g.Means {
		cents[i] = float32(v)
	}
	lb, conv := g.LowerBound, g.Converged
	return &algo.Fitted{Labels: labels, K: g.K, Centroids: cents, Iterations: g.NIter, NInitUsed: inits,
		Probabilities: probs, Model: g, LowerBound: &lb, Converged: &conv}
}

// Extend implements algo.Extender: every point, in the sample or not, takes its
// most probable component under the mixture fitted on the sample
// (scikit-learn's predict), with that probability.
func (m *Algorithm) Extend(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted) (*algo.Fitted, error) {
	x := make([]float64, len(full.In.X))
	for i, v := range full.In.X {
		x[i] = float64(v)
	}
	g := f.Model.(*Model)
	labels, probs := g.Predict(x, full.In.N)
	out := mixtureFitted(g, labels, probs, f.NInitUsed)
	return out, ctx.Err()
}

// Child gives a sub-clustering min(n_components, ⌊members/10⌋) components
// and no initial parameters (they were for the whole data).
func (m *Algorithm) Child(size int) (algo.Algorithm, bool) {
	k, ok := algo.ChildClusters(m.p.NComponents, size)
	if !ok {
		return nil, false
	}
	c := &Algorithm{p: m.p, given: map[string]any{}}
	c.p.NComponents = k
	c.p.WeightsInit, c.p.MeansInit, c.p.PrecisionsInit = nil, nil, nil
	return c, true
}

// mixtureSeeder gives gmm the k-means initialisations on a run's data.
type mixtureSeeder struct{ r *algo.State }

// KMeansLabels is scikit-learn's KMeans(n_clusters=k, n_init=1) labels:
// one k-means++ initialisation, Lloyd iterations to tol 1e-4.
func (s *mixtureSeeder) KMeansLabels(ctx context.Context, k int, seed int64) ([]int32, error) {
	return kmeans.Labels(ctx, s.r, k, 1, seed)
}

// KMeansPlusPlus returns the rows k-means++ picks.
func (s *mixtureSeeder) KMeansPlusPlus(ctx context.Context, k int, seed int64) ([]int, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	_, rows, err := kmeans.PlusPlusRows(ctx, s.r.Backend, s.r.DS, s.r.In, nil, k, kmeans.GreedyTrials(k), rng, func(algo.Progress) {})
	return rows, err
}
