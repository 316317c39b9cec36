package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/clusterd/clusterd/engine/gmm"
	paramModels "github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// mixtureModel is scikit-learn's GaussianMixture. Centroids are the
// component means; a point belongs to its most probable component, and
// Result.Probabilities holds that probability.
type mixtureModel struct {
	p gmm.Params
	// meansDim and precDim are the dimensions means_init and
	// precisions_init imply (0: not given or none implied).
	meansDim, precDim int
	// given keeps the initial parameters as the request sent them, for
	// the run's reported parameters.
	given map[string]any
}

func parseGaussianMixture(v, _ schema.Values, seed *int64) (Algorithm, error) {
	p := gmm.Params{
		NComponents: v.Int("n_components"), CovType: v.Str("covariance_type"), Tol: v.Float("tol"),
		RegCovar: v.Float("reg_covar"), MaxIter: v.Int("max_iter"), NInit: v.Int("n_init"), Init: v.Str("init_params"),
		Seed: ReadSeed(v, seed),
	}
	init, ps := paramModels.ReadGaussianInit(v, nil)
	if len(ps) > 0 {
		return nil, ps
	}
	m := &mixtureModel{p: p, given: map[string]any{}}
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

func (m *mixtureModel) Params() map[string]any {
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
func (m *mixtureModel) CheckShape(n, d int) error {
	switch {
	case m.p.NComponents > n:
		return &ParamError{Param: "n_components", Msg: fmt.Sprintf("n_components = %d is more than the %d points to cluster", m.p.NComponents, n)}
	case m.meansDim > 0 && m.meansDim != d:
		return &ParamError{Param: "means_init", Msg: fmt.Sprintf("means are %d-dimensional; the vectors are %d-dimensional", m.meansDim, d)}
	case m.precDim > 0 && m.precDim != d:
		return &ParamError{Param: "precisions_init", Msg: fmt.Sprintf("precisions are %d×%d; the vectors are %d-dimensional", m.precDim, m.precDim, d)}
	}
	return nil
}

func (m *mixtureModel) Check(in Input) error { return m.CheckShape(in.N, in.D) }

func (m *mixtureModel) Fit(ctx context.Context, r *State) (*Fitted, error) {
	r.Report(Progress{Phase: "init"})
	res, err := gmm.Fit(ctx, r.In.X, r.In.N, r.In.D, m.p, &mixtureSeeder{r: r})
	if errors.Is(err, gmm.ErrSingular) {
		return nil, &ParamError{Param: "reg_covar", Msg: err.Error() + fmt.Sprintf(" (now %g)", m.p.RegCovar)}
	}
	if err != nil {
		return nil, err
	}
	return mixtureFitted(res.Model, res.Labels, res.Probabilities, res.InitsRun), nil
}

func mixtureFitted(g *gmm.Model, labels []int32, probs []float64, inits int) *Fitted {
	cents := make([]float32, len(g.Means))
	for i, v := range g.Means {
		cents[i] = float32(v)
	}
	lb, conv := g.LowerBound, g.Converged
	return &Fitted{Labels: labels, K: g.K, Centroids: cents, Iterations: g.NIter, NInitUsed: inits,
		Probabilities: probs, Model: g, LowerBound: &lb, Converged: &conv}
}

// extend implements extender: every point, in the sample or not, takes its
// most probable component under the mixture fitted on the sample
// (scikit-learn's predict), with that probability.
func (m *mixtureModel) Extend(ctx context.Context, full, sample *State, rows []int, f *Fitted) (*Fitted, error) {
	x := make([]float64, len(full.In.X))
	for i, v := range full.In.X {
		x[i] = float64(v)
	}
	labels, probs := f.Model.Predict(x, full.In.N)
	out := mixtureFitted(f.Model, labels, probs, f.NInitUsed)
	return out, ctx.Err()
}

// child gives a sub-clustering min(n_components, ⌊members/10⌋) components
// and no initial parameters (they were for the whole data).
func (m *mixtureModel) Child(size int) (Algorithm, bool) {
	k, ok := ChildClusters(m.p.NComponents, size)
	if !ok {
		return nil, false
	}
	c := &mixtureModel{p: m.p, given: map[string]any{}}
	c.p.NComponents = k
	c.p.WeightsInit, c.p.MeansInit, c.p.PrecisionsInit = nil, nil, nil
	return c, true
}

// mixtureSeeder gives gmm the k-means initialisations on a run's data.
type mixtureSeeder struct{ r *State }

// KMeansLabels is scikit-learn's KMeans(n_clusters=k, n_init=1) labels:
// one k-means++ initialisation, Lloyd iterations to tol 1e-4.
func (s *mixtureSeeder) KMeansLabels(ctx context.Context, k int, seed int64) ([]int32, error) {
	km := &kmeansModel{p: KMeansParams{NClusters: k, Init: "k-means++", NInit: 1, nInitGiven: true, MaxIter: 300, Tol: 1e-4, Seed: seed, Algorithm: "lloyd"}}
	quiet := *s.r
	quiet.Progress = nil
	f, err := km.Fit(ctx, &quiet)
	if err != nil {
		return nil, err
	}
	return f.Labels, nil
}

// KMeansPlusPlus returns the rows k-means++ picks.
func (s *mixtureSeeder) KMeansPlusPlus(ctx context.Context, k int, seed int64) ([]int, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	_, rows, err := PlusPlusRows(ctx, s.r.Backend, s.r.DS, s.r.In, nil, k, GreedyTrials(k), rng, func(Progress) {})
	return rows, err
}
