package kmeans

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/clusterd/clusterd/engine/algo"
)

// How a k-means restart was seeded (Stats.Seeding).
const (
	// SeedingGreedy is scikit-learn's greedy k-means++ on every point.
	SeedingGreedy = "greedy k-means++"
	// SeedingCoreset is greedy k-means++ on a lightweight coreset, refined
	// by weighted Lloyd iterations on the coreset (see seedCoreset).
	SeedingCoreset = "coreset k-means++"
)

// SeedInfo says how a restart was seeded.
type SeedInfo struct {
	Method     string
	Sample     int // points seeded from (the coreset's size, or n)
	Iterations int // weighted Lloyd iterations on the coreset
	// Mass is, per centre, the coreset weight of its points after the
	// refinement: an estimate of its cluster's size (nil for greedy).
	Mass []float64
}

// Coreset sizes: autoCoreset(k) = max(minCoreset, coresetPerCluster·k),
// chosen from measurements on the four workloads of the large-collections
// issue (see docs/DESIGN.md): with 16 candidates, 16–64 points per cluster
// gave objectives within 1% of greedy k-means++ on every point, and the
// floor keeps small k from seeding on a handful of points.
const (
	minCoreset        = 1 << 12
	coresetPerCluster = 32
)

func AutoCoreset(k int) int { return max(minCoreset, coresetPerCluster*k) }

// coresetTrials is the number of candidates per centre of greedy k-means++
// on a coreset: twice scikit-learn's 2+⌊ln k⌋, and at least 16. On a
// coreset a trial costs m/n of one on every point, and more trials are what
// keeps clusters from being missed once most are covered (measured on 1,000
// overlapping clusters in 128 dimensions, after 20 Lloyd iterations: 8
// trials ended about 1.3% above greedy k-means++ on every point, 16 trials
// 0–2% below it).
func coresetTrials(k int) int { return max(16, 2*GreedyTrials(k)) }

// SeedCoreset seeds k centres from a lightweight coreset of m points
// (Bachem, Lucic and Krause, "Scalable k-means clustering via lightweight
// coresets", KDD 2018): each point is drawn, with replacement, with
// probability q(x) = 1/(2n) + ‖x − μ‖²/(2·Σ‖x' − μ‖²) (μ the mean) and
// weighs 1/(m·q(x)), which makes the coreset's weighted cost of any set of
// centres an unbiased estimate of the data's, within ε·(cost + cost of μ)
// for m = O((d·k·log k + log 1/δ)/ε²) with probability 1 − δ. Greedy
// k-means++ (coresetTrials candidates per centre) runs on the weighted
// coreset, then weighted Lloyd iterations refine the centres on it until
// no label changes, the shift is at most tolAbs or maxIter iterations ran
// (Bradley and Fayyad's refinement of initial points on a subsample). A
// coreset with fewer than k distinct points seeds on every point instead.
func SeedCoreset(ctx context.Context, r *algo.State, k, m, maxIter int, tolAbs float64, rng *rand.Rand, report func(algo.Progress), info *SeedInfo) ([]float32, error) {
	idx, w, err := lightweightCoreset(ctx, r, m, rng)
	if err != nil {
		return nil, err
	}
	sub := algo.GatherRows(r.In, idx)
	if CountDistinct(sub, k) < k {
		return kmeansPlusPlus(ctx, r.Backend, r.DS, r.In, nil, k, GreedyTrials(k), rng, report)
	}
	ds, err := r.Backend.Upload(sub.X, sub.N, sub.D)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	centers, err := kmeansPlusPlus(ctx, r.Backend, ds, sub, w, k, coresetTrials(k), rng, report)
	if err != nil {
		return nil, err
	}
	sr := &algo.State{In: sub, DS: ds, Backend: r.Backend, Seed: r.Seed}
	its, mass, err := weightedLloyd(ctx, sr, w, centers, k, maxIter, tolAbs)
	if err != nil {
		return nil, err
	}
	info.Method, info.Sample, info.Iterations, info.Mass = SeedingCoreset, m, its, mass
	return centers, nil
}

// lightweightCoreset draws the m rows of a lightweight coreset (ascending,
// with repeats) and their weights (see seedCoreset).
func lightweightCoreset(ctx context.Context, r *algo.State, m int, rng *rand.Rand) ([]int, []float64, error) {
	n, d := r.In.N, r.In.D
	mean := make([]float64, d)
	algo.AddRows64(mean, r.In.X[:n*d])
	mu := make([]float32, d)
	for t := range mu {
		mu[t] = float32(mean[t] / float64(n))
	}
	dist := make([]float32, n)
	if err := r.Backend.Distances(ctx, r.DS, mu, 1, dist); err != nil {
		return nil, nil, err
	}
	total := algo.Sum64(dist)
	q := func(i int) float64 {
		if total == 0 {
			return 1 / float64(n)
		}
		return 0.5/float64(n) + 0.5*float64(dist[i])/total
	}
	cum := make([]float64, n)
	var acc float64
	for i := range cum {
		acc += q(i)
		cum[i] = acc
	}
	idx := make([]int, m)
	for s := range idx {
		i, _ := slices.BinarySearch(cum, rng.Float64()*acc)
		idx[s] = min(i, n-1)
	}
	slices.Sort(idx) // rows in file order: the gather reads forward
	w := make([]float64, m)
	for s, i := range idx {
		w[s] = 1 / (float64(m) * q(i))
	}
	return idx, w, nil
}

// weightedLloyd runs Lloyd iterations on the weighted points of r (weights
// w) from centers (k×d, updated in place): each centre moves to the
// weighted mean of its points (a centre without points stays). It stops
// when no label changed, the total squared shift is at most tolAbs, or
// after maxIter iterations, and returns the number of iterations and each
// centre's weight (the sum of its points' weights) under the last labels.
func weightedLloyd(ctx context.Context, r *algo.State, w []float64, centers []float32, k, maxIter int, tolAbs float64) (int, []float64, error) {
	d := r.In.D
	as := newAssigner(r, k)
	sums := make([]float64, k*d)
	mass := make([]float64, k)
	moved := make([]float64, k)
	it := 0
	for it < maxIter {
		changed, _, err := as.assign(ctx, centers, moved)
		if err != nil {
			return it, nil, err
		}
		if it > 0 && len(changed) == 0 {
			break
		}
		it++
		clear(sums)
		clear(mass)
		for i, l := range as.labels() {
			wi := w[i]
			mass[l] += wi
			row, s := r.In.X[i*d:(i+1)*d], sums[int(l)*d:(int(l)+1)*d]
			for t, v := range row {
				s[t] += wi * float64(v)
			}
		}
		var shift float64
		for j := 0; j < k; j++ {
			var mv float64
			if mass[j] > 0 {
				for t := 0; t < d; t++ {
					v := float32(sums[j*d+t] / mass[j])
					e := float64(v) - float64(centers[j*d+t])
					mv += e * e
					centers[j*d+t] = v
				}
			}
			moved[j] = math.Sqrt(mv)
			shift += mv
		}
		if shift <= tolAbs {
			break
		}
	}
	if it == maxIter { // the centres moved after the last labels: weigh them afresh
		if _, _, err := as.assign(ctx, centers, moved); err != nil {
			return it, nil, err
		}
	}
	clear(mass)
	for i, l := range as.labels() {
		mass[l] += w[i]
	}
	return it, mass, nil
}
