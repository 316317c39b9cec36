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

func parseGaussianMixture(v, _ schema.Values, seed *int64) (algorithm, error) {
	p := gmm.Params{
		NComponents: v.Int("n_components"), CovType: v.Str("covariance_type"), Tol: v.Float("tol"),
		RegCovar: v.Float("reg_covar"), MaxIter: v.Int("max_iter"), NInit: v.Int("n_init"), Init: v.Str("init_params"),
		Seed: readSeed(v, seed),
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

func (m *mixtureModel) params() map[string]any {
	out := map[string]any{
		"n_components": m.p.NComponents, "covariance_type": m.p.CovType, "tol": m.p.Tol, "reg_covar": m.p.RegCovar,
		"max_iter": m.p.MaxIter, "n_init": m.p.NInit, "init_params": m.p.Init, "random_state": m.p.Seed,
		"weights_init": m.given["weights_init"], "means_init": m.given["means_init"], "precisions_init": m.given["precisions_init"],
		"warm_start": false,
	}
	return out
}

// checkShape rejects more components than points and initial parameters
// of another dimension than the vectors.
func (m *mixtureModel) checkShape(n, d int) error {
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

func (m *mixtureModel) check(in Input) error { return m.checkShape(in.N, in.D) }

func (m *mixtureModel) fit(ctx context.Context, r *fitState) (*fitted, error) {
	r.report(Progress{Phase: "init"})
	res, err := gmm.Fit(ctx, r.in.X, r.in.N, r.in.D, m.p, &mixtureSeeder{r: r})
	if errors.Is(err, gmm.ErrSingular) {
		return nil, &ParamError{Param: "reg_covar", Msg: err.Error() + fmt.Sprintf(" (now %g)", m.p.RegCovar)}
	}
	if err != nil {
		return nil, err
	}
	return mixtureFitted(res.Model, res.Labels, res.Probabilities, res.InitsRun), nil
}

func mixtureFitted(g *gmm.Model, labels []int32, probs []float64, inits int) *fitted {
	cents := make([]float32, len(g.Means))
	for i, v := range g.Means {
		cents[i] = float32(v)
	}
	lb, conv := g.LowerBound, g.Converged
	return &fitted{labels: labels, k: g.K, centroids: cents, iterations: g.NIter, nInitUsed: inits,
		probabilities: probs, mixture: g, lowerBound: &lb, converged: &conv}
}

// extend implements extender: every point, in the sample or not, takes its
// most probable component under the mixture fitted on the sample
// (scikit-learn's predict), with that probability.
func (m *mixtureModel) extend(ctx context.Context, full, sample *fitState, rows []int, f *fitted) (*fitted, error) {
	x := make([]float64, len(full.in.X))
	for i, v := range full.in.X {
		x[i] = float64(v)
	}
	labels, probs := f.mixture.Predict(x, full.in.N)
	out := mixtureFitted(f.mixture, labels, probs, f.nInitUsed)
	return out, ctx.Err()
}

// child gives a sub-clustering min(n_components, ⌊members/10⌋) components
// and no initial parameters (they were for the whole data).
func (m *mixtureModel) child(size int) (algorithm, bool) {
	k, ok := childClusters(m.p.NComponents, size)
	if !ok {
		return nil, false
	}
	c := &mixtureModel{p: m.p, given: map[string]any{}}
	c.p.NComponents = k
	c.p.WeightsInit, c.p.MeansInit, c.p.PrecisionsInit = nil, nil, nil
	return c, true
}

// mixtureSeeder gives gmm the k-means initialisations on a run's data.
type mixtureSeeder struct{ r *fitState }

// KMeansLabels is scikit-learn's KMeans(n_clusters=k, n_init=1) labels:
// one k-means++ initialisation, Lloyd iterations to tol 1e-4.
func (s *mixtureSeeder) KMeansLabels(ctx context.Context, k int, seed int64) ([]int32, error) {
	km := &kmeansModel{p: KMeansParams{NClusters: k, Init: "k-means++", NInit: 1, nInitGiven: true, MaxIter: 300, Tol: 1e-4, Seed: seed, Algorithm: "lloyd"}}
	quiet := *s.r
	quiet.progress = nil
	f, err := km.fit(ctx, &quiet)
	if err != nil {
		return nil, err
	}
	return f.labels, nil
}

// KMeansPlusPlus returns the rows k-means++ picks.
func (s *mixtureSeeder) KMeansPlusPlus(ctx context.Context, k int, seed int64) ([]int, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	_, rows, err := kmeansPlusPlusRows(ctx, s.r.be, s.r.ds, s.r.in, nil, k, greedyTrials(k), rng, func(Progress) {})
	return rows, err
}
