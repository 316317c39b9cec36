package runner

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
)

// learned is the outcome of a weight learning.
type learned struct {
	best  []float64 // the weights of the best evaluation, in feature order
	score *float64  // its metric value (nil when no evaluation had one)
	stats *model.WeightLearningStats
}

// Bayesian optimisation settings (see learnWeights).
const (
	bayesCandidates = 2000 // random candidates per step, plus bayesLocal around the best
	bayesLocal      = 200
	bayesLocalSD    = 0.1  // spread of the local candidates
	bayesXi         = 0.01 // exploration margin of the expected improvement, in standard deviations of the scores
	bayesNoise      = 1e-4 // GP noise variance on the standardised scores: clusterings jump with the weights
)

// learnWeights learns the feature weights of a "weighted" run as
// weight_learning_config says. Each evaluation clusters the joined
// features (each normalised when normalize_features is set, then scaled by
// its weight) with the run's algorithm and parameters, without the
// hierarchy, on a seeded sample of sample_size documents when the data are
// larger, and scores the clustering with metric (silhouette and
// calinski_harabasz: higher is better; davies_bouldin: lower is better; a
// clustering of fewer than 2 clusters has no score and ranks last).
//
// grid_search evaluates every combination of the max_iterations weights
// 1/m, 2/m, …, 1 per feature (m = max_iterations; at most
// model.MaxGridEvaluations combinations), the first feature varying
// slowest; the first best combination wins.
//
// bayesian evaluates max_iterations weight vectors in [0, 1]^F: equal
// weights (all 1) first, then seeded uniform ones until max(2, min(F+1,
// max_iterations/2)) are known, then each next one where the expected
// improvement of a Gaussian process fitted to the scores so far is largest
// (among bayesCandidates uniform candidates and bayesLocal perturbations
// of the best). Equal weights are always evaluated, so the learned weights
// score at least as well.
func (r *Runner) learnWeights(ctx context.Context, exec *executor, data *dataset, vc *model.VectorConfig, spec engine.Spec, res *model.ExecutionResult, progress func(engine.Progress), log *slog.Logger) (*learned, error) {
	cfg := vc.Learning()
	feats := len(data.Blocks)
	m := cfg.MaxIterations
	total := m
	if cfg.Method == model.LearnGridSearch {
		if total = model.GridEvaluations(m, feats); total > model.MaxGridEvaluations {
			return nil, &userError{fmt.Sprintf("grid_search weight learning would evaluate %d^%d combinations, more than %d; lower weight_learning_config.max_iterations or use method bayesian",
				m, feats, model.MaxGridEvaluations)}
		}
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.RandomState), 0x3e1647))
	sample := data
	if cfg.SampleSize != nil && *cfg.SampleSize < data.N {
		sample = data.subset(sampleIndices(rng, data.N, *cfg.SampleSize))
	}
	learnSpec := spec
	learnSpec.Pipeline.Hierarchical = false
	st := &model.WeightLearningStats{Method: cfg.Method, Metric: cfg.Metric, MaxIterations: m, RandomState: cfg.RandomState,
		SampleSize: sample.N, Trials: []model.WeightTrial{}}
	uris := make([]string, feats)
	for i, b := range data.Blocks {
		uris[i] = b.URI
	}
	var xs [][]float64
	var ys []float64 // oriented scores (higher is better), NaN when undefined
	bestAt := -1
	evaluate := func(w []float64) error {
		t := len(xs)
		d := &dataset{N: sample.N, IDs: sample.IDs, Blocks: sample.Blocks}
		d.join(vc.NormalizeFeatures, w)
		result, err := r.cluster(ctx, exec, d, learnSpec, res, scaled(progress, float64(t)/float64(total), float64(t+1)/float64(total)), log)
		if err != nil {
			return err
		}
		raw, oriented := metricScore(result.Metrics, cfg.Metric)
		trial := model.WeightTrial{Weights: map[string]float64{}}
		for i, u := range uris {
			trial.Weights[u] = w[i]
		}
		if !math.IsNaN(raw) {
			trial.Score = &raw
		}
		st.Trials = append(st.Trials, trial)
		xs, ys = append(xs, slices.Clone(w)), append(ys, oriented)
		if !math.IsNaN(oriented) && (bestAt < 0 || oriented > ys[bestAt]) {
			bestAt = t
		}
		return nil
	}
	switch cfg.Method {
	case model.LearnGridSearch:
		w := make([]float64, feats)
		for c := 0; c < total; c++ {
			for i, rest := feats-1, c; i >= 0; i-- {
				w[i] = float64(rest%m+1) / float64(m)
				rest /= m
			}
			if err := evaluate(w); err != nil {
				return nil, err
			}
		}
	default:
		initial := max(2, min(feats+1, m/2))
		for t := 0; t < m; t++ {
			var w []float64
			switch {
			case t == 0:
				w = slices.Repeat([]float64{1}, feats)
			case t < initial || bestAt < 0:
				w = uniformPoint(rng, feats)
			default:
				var err error
				if w, err = nextByExpectedImprovement(rng, xs, ys, bestAt); err != nil {
					return nil, fmt.Errorf("weight learning: %w", err)
				}
			}
			if err := evaluate(w); err != nil {
				return nil, err
			}
		}
	}
	out := &learned{best: xs[0], stats: st}
	if bestAt >= 0 {
		out.best, out.score = xs[bestAt], st.Trials[bestAt].Score
	}
	log.Info("feature weights learned", "method", cfg.Method, "metric", cfg.Metric, "evaluations", len(xs), "sample", sample.N, "weights", out.best)
	return out, nil
}

// metricScore returns the metric's value (NaN when the clustering has
// none) and the same oriented so that higher is better.
func metricScore(m *engine.Metrics, metric string) (raw, oriented float64) {
	if m == nil {
		return math.NaN(), math.NaN()
	}
	switch metric {
	case model.LearnDaviesBouldin:
		raw, oriented = m.DaviesBouldin, -m.DaviesBouldin
	case model.LearnCalinskiHarabasz:
		raw, oriented = m.CalinskiHarabasz, m.CalinskiHarabasz
	default:
		raw, oriented = m.Silhouette, m.Silhouette
	}
	if math.IsInf(raw, 0) {
		return math.NaN(), math.NaN()
	}
	return raw, oriented
}

// nextByExpectedImprovement fits a GP to the scores so far (an undefined
// score counts as the worst defined one) and returns the candidate point
// of largest expected improvement over the best score, not already
// evaluated.
func nextByExpectedImprovement(rng *rand.Rand, xs [][]float64, ys []float64, bestAt int) ([]float64, error) {
	worst := math.Inf(1)
	for _, y := range ys {
		if !math.IsNaN(y) {
			worst = math.Min(worst, y)
		}
	}
	obs := make([]float64, len(ys))
	for i, y := range ys {
		obs[i] = y
		if math.IsNaN(y) {
			obs[i] = worst
		}
	}
	g, err := fitGP(xs, obs, bayesNoise)
	if err != nil {
		return nil, err
	}
	feats := len(xs[0])
	bestY := obs[bestAt]
	var best []float64
	bestEI := -1.0
	try := func(c []float64) {
		for _, x := range xs {
			if sqDist(x, c) < 1e-12 {
				return
			}
		}
		mu, sd := g.predict(c)
		if ei := expectedImprovement(mu, sd, bestY, bayesXi*g.std); ei > bestEI {
			best, bestEI = c, ei
		}
	}
	for i := 0; i < bayesCandidates; i++ {
		try(uniformPoint(rng, feats))
	}
	for i := 0; i < bayesLocal; i++ {
		c := make([]float64, feats)
		for f := range c {
			c[f] = math.Min(1, math.Max(0, xs[bestAt][f]+rng.NormFloat64()*bayesLocalSD))
		}
		try(c)
	}
	if best == nil { // every candidate was evaluated already (cannot happen with continuous draws)
		best = uniformPoint(rng, feats)
	}
	return best, nil
}

func uniformPoint(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.Float64()
	}
	return out
}

func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return s
}

// sampleIndices returns k distinct rows of n drawn uniformly, in ascending
// order.
func sampleIndices(rng *rand.Rand, n, k int) []int {
	p := rng.Perm(n)[:k]
	slices.Sort(p)
	return p
}
