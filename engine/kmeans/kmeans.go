// Package kmeans is scikit-learn's KMeans over a kernels.Backend: k-means++
// seeding (greedy on every point, or on a lightweight coreset for large
// data), Lloyd iterations with Hamerly-bounded assignment when the backend
// can assign a subset of rows, and n_clusters "auto" chosen by silhouette.
// It is also the seeding other algorithms start from (Labels, PlusPlusRows,
// SeedCoreset).
package kmeans

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/internal/parallel"

	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/schema"
)

// initShare is the part of a k-means restart's progress given to seeding.
const initShare = 0.2

// initSampleSize is the size of the coreset k-means++ seeds from, or n to
// seed on every point. Greedy k-means++ reads every point once per centre,
// so on large data it is bound by memory bandwidth and grows as n·k;
// init_size sets the coreset's size (n when it is at least n). By default
// the coreset is autoCoreset(k), used only when the data have more than
// twice as many points (below, seeding on every point costs about as much
// as on a coreset with its twice as many candidates).
func (p Params) initSampleSize(n int) int {
	if p.InitSize > 0 {
		return min(n, p.InitSize)
	}
	if m := AutoCoreset(p.NClusters); n > 2*m {
		return m
	}
	return n
}

// largeWork is n·d·k above which an omitted n_init defaults to 1 instead of
// scikit-learn's 10: ten restarts of a run that size cost minutes for a
// gain that is usually below 1% of the objective. The run's stats say so.
const largeWork = 1 << 32

// Params are k-means' parameters, named as scikit-learn's KMeans.
type Params struct {
	NClusters int     // n_clusters, default 8
	Init      string  // init: "k-means++" (default) or "random"
	NInit     int     // n_init: restarts, best by inertia; default 10, or "auto"
	MaxIter   int     // max_iter, default 300
	Tol       float64 // tol, default 1e-4, relative to the data's mean feature variance
	Seed      int64   // random_state, default 42
	Algorithm string  // algorithm: "lloyd" (default), "elkan" or "auto"; all run exact Lloyd iterations

	// InitSize (init_size, an extension: scikit-learn's KMeans seeds from
	// every point) is the size of the coreset k-means++ seeds from when the
	// data have more points; 0 (the default) means autoCoreset(k).
	InitSize int
	// Auto chooses n_clusters ("auto") in [KMin, KMax] by silhouette (see
	// fitAuto); k_min defaults to 2, k_max to 10.
	Auto       bool
	KMin, KMax int

	nInitGiven bool
	nInitAuto  bool
}

// Algorithm is k-means as the engine runs it (algo.Algorithm).
type Algorithm struct{ p Params }

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, given schema.Values, seed *int64) (algo.Algorithm, error) {
	kp := Params{
		Init:      v.Str("init"),
		MaxIter:   v.Int("max_iter"),
		Tol:       v.Float("tol"),
		Algorithm: v.Str("algorithm"),
	}
	if v.Has("init_size") {
		kp.InitSize = v.Int("init_size")
	}
	kp.NInit, kp.nInitGiven, kp.nInitAuto = algo.ReadNInit(v, given)
	if kp.nInitAuto {
		kp.NInit = 10
	}
	kp.Seed = algo.ReadSeed(v, seed)
	if v.IsString("n_clusters", "auto") {
		kp.Auto, kp.KMin, kp.KMax = true, 2, 10
		if k, ok := v.IntOK("k_min"); ok {
			kp.KMin = k
		}
		if k, ok := v.IntOK("k_max"); ok {
			kp.KMax = k
		}
		kp.NClusters = kp.KMin
	} else {
		kp.NClusters = v.Int("n_clusters")
	}
	return &Algorithm{p: kp}, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"n_clusters": m.p.NClusters, "init": m.p.Init, "n_init": m.nInitParam(),
		"max_iter": m.p.MaxIter, "tol": m.p.Tol, "random_state": m.p.Seed, "algorithm": m.p.Algorithm,
		"init_size": nil,
	}
	if m.p.InitSize > 0 {
		out["init_size"] = m.p.InitSize
	}
	if m.p.Auto {
		out["n_clusters"], out["k_min"], out["k_max"] = "auto", m.p.KMin, m.p.KMax
	}
	return out
}

func (m *Algorithm) nInitParam() any {
	if m.p.nInitAuto {
		return "auto"
	}
	return m.p.NInit
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error {
	if m.p.Auto {
		return CheckClusterCount(in, m.p.KMin)
	}
	return CheckClusterCount(in, m.p.NClusters)
}

// CheckClusterCount rejects n_clusters above the number of points or of
// distinct points: k-means would have to leave clusters empty or duplicate.
func CheckClusterCount(in algo.Input, k int) error {
	if k > in.N {
		return &algo.ParamError{Param: "n_clusters",
			Msg: fmt.Sprintf("n_clusters = %d is more than the %d points to cluster", k, in.N)}
	}
	if distinct := CountDistinct(in, k); distinct < k {
		return &algo.ParamError{Param: "n_clusters",
			Msg: fmt.Sprintf("n_clusters = %d is more than the %d distinct points to cluster", k, distinct)}
	}
	return nil
}

// CountDistinct counts distinct rows, stopping once it reaches limit.
func CountDistinct(in algo.Input, limit int) int {
	seed := maphash.MakeSeed()
	buckets := map[uint64][]int{}
	distinct := 0
	for i := 0; i < in.N && distinct < limit; i++ {
		row := in.X[i*in.D : (i+1)*in.D]
		h := maphash.Comparable(seed, hashRow(row))
		dup := false
		for _, j := range buckets[h] {
			if slices.Equal(row, in.X[j*in.D:(j+1)*in.D]) {
				dup = true
				break
			}
		}
		if !dup {
			buckets[h] = append(buckets[h], i)
			distinct++
		}
	}
	return distinct
}

// hashRow folds a row's bits into a comparable key (equal rows, equal keys).
func hashRow(row []float32) [2]uint64 {
	var a, b uint64 = 1469598103934665603, 7
	for _, v := range row {
		bits := uint64(math.Float32bits(v))
		if v == 0 { // +0 and −0 are the same point
			bits = 0
		}
		a = (a ^ bits) * 1099511628211
		b = b*31 + bits
	}
	return [2]uint64{a, b}
}

// Fit implements algo.Algorithm.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	if m.p.Auto {
		return m.fitAuto(ctx, r)
	}
	p := m.p
	n, d := r.In.N, r.In.D
	restarts, note := p.NInit, ""
	switch {
	case p.nInitAuto && p.Init == "k-means++":
		restarts = 1
	case !p.nInitGiven && float64(n)*float64(d)*float64(p.NClusters) > largeWork:
		restarts = 1
		note = fmt.Sprintf("n_init defaulted to 1 instead of 10 because n·d·k = %.3g exceeds %.3g; set n_init to override", float64(n)*float64(d)*float64(p.NClusters), float64(largeWork))
	}
	tolAbs := 0.0
	if p.Tol > 0 {
		tolAbs = p.Tol * MeanVariance(r.In)
	}
	var best *lloydResult
	var bestInfo SeedInfo
	for restart := 0; restart < restarts; restart++ {
		rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(restart)))
		r.Report(algo.Progress{Phase: "init", Restart: restart + 1, Restarts: restarts, MaxIter: p.MaxIter, Fraction: float64(restart) / float64(restarts)})
		var centers []float32
		var err error
		var info SeedInfo
		if p.Init == "random" {
			centers = RandomInit(r.In, p.NClusters, rng)
		} else {
			// Seeding is counted as the first fifth of each restart.
			seeding := func(ev algo.Progress) {
				ev.Fraction = (float64(restart) + initShare*float64(ev.Iteration)/float64(max(ev.MaxIter, 1))) / float64(restarts)
				r.Report(ev)
			}
			centers, err = seed(ctx, r, p, rng, seeding, tolAbs, &info)
			if err != nil {
				return nil, err
			}
		}
		res, err := lloyd(ctx, r, centers, p.NClusters, p.MaxIter, tolAbs, restart, restarts)
		if err != nil {
			return nil, err
		}
		if best == nil || res.inertia < best.inertia {
			best, bestInfo = res, info
		}
	}
	f := &algo.Fitted{Labels: best.labels, K: p.NClusters, Centroids: best.centers, Iterations: best.iterations, IterSeconds: best.iterSec,
		Inertia: &best.inertia, NInitUsed: restarts, NInitNote: note, Measured: best.measured}
	if p.Init == "k-means++" {
		f.InitSample, f.Seeding, f.SeedIterations = bestInfo.Sample, bestInfo.Method, bestInfo.Iterations
	}
	return f, nil
}

// seed picks the restart's initial centres with k-means++: scikit-learn's
// greedy k-means++ on every point when the data are small (at most
// p.initSampleSize(n) points), else on a coreset (see seedCoreset). It
// adds its time to the run's seeding phase and reports, through info, how
// it seeded.
func seed(ctx context.Context, r *algo.State, p Params, rng *rand.Rand, report func(algo.Progress), tolAbs float64, info *SeedInfo) ([]float32, error) {
	t0 := time.Now()
	defer r.Phases.AddSeeding(t0)
	m := p.initSampleSize(r.In.N)
	info.Sample, info.Method = r.In.N, SeedingGreedy
	if m >= r.In.N {
		return kmeansPlusPlus(ctx, r.Backend, r.DS, r.In, nil, p.NClusters, GreedyTrials(p.NClusters), rng, report)
	}
	return SeedCoreset(ctx, r, p.NClusters, m, p.MaxIter, tolAbs, rng, report, info)
}

// MeanVariance is the mean over features of each feature's population
// variance, the scale scikit-learn multiplies tol by.
func MeanVariance(in algo.Input) float64 {
	mean := make([]float64, in.D)
	algo.AddRows64(mean, in.X[:in.N*in.D])
	for t := range mean {
		mean[t] /= float64(in.N)
	}
	var s float64
	for i := 0; i < in.N; i++ {
		for t, v := range in.X[i*in.D : (i+1)*in.D] {
			e := float64(v) - mean[t]
			s += e * e
		}
	}
	return s / float64(in.N) / float64(in.D)
}

// RandomInit picks k distinct rows uniformly (a partial Fisher–Yates shuffle).
func RandomInit(in algo.Input, k int, rng *rand.Rand) []float32 {
	picked := map[int]int{}
	centers := make([]float32, k*in.D)
	for j := 0; j < k; j++ {
		s := j + rng.IntN(in.N-j)
		vs, ok := picked[s]
		if !ok {
			vs = s
		}
		vj, ok := picked[j]
		if !ok {
			vj = j
		}
		picked[s] = vj
		copy(centers[j*in.D:(j+1)*in.D], in.X[vs*in.D:(vs+1)*in.D])
	}
	return centers
}

// GreedyTrials is scikit-learn's number of candidates per centre of greedy
// k-means++: 2+⌊ln k⌋.
func GreedyTrials(k int) int { return 2 + int(math.Log(float64(k))) }

// kmeansPlusPlus is scikit-learn's greedy k-means++: the first centre is a
// uniformly drawn point; each next one is the best, by resulting potential
// (sum of squared distances to the nearest centre), of trials candidates
// drawn with probability proportional to the current squared distance.
// With weights w (nil: every point weighs 1) it is the same on a weighted
// set: the first centre is drawn proportionally to the weight, candidates
// proportionally to weight × squared distance, and potentials are weighted.
func kmeansPlusPlus(ctx context.Context, be kernels.Backend, ds kernels.Dataset, in algo.Input, w []float64, k, trials int, rng *rand.Rand, report func(algo.Progress)) ([]float32, error) {
	centers, _, err := PlusPlusRows(ctx, be, ds, in, w, k, trials, rng, report)
	return centers, err
}

// PlusPlusRows is kmeansPlusPlus that also returns the rows it picked
// (a Gaussian mixture's init_params "k-means++" starts from them).
func PlusPlusRows(ctx context.Context, be kernels.Backend, ds kernels.Dataset, in algo.Input, w []float64, k, trials int, rng *rand.Rand, report func(algo.Progress)) ([]float32, []int, error) {
	n, d := in.N, in.D
	rows := make([]int, 0, k)
	x := in.X
	centers := make([]float32, k*d)
	cum := make([]float64, n)
	first := 0
	if w == nil {
		first = rng.IntN(n)
	} else {
		var acc float64
		for i, v := range w {
			acc += v
			cum[i] = acc
		}
		first, _ = slices.BinarySearch(cum, rng.Float64()*acc)
		first = min(first, n-1)
	}
	rows = append(rows, first)
	copy(centers[:d], x[first*d:(first+1)*d])
	closest := make([]float32, n)
	if err := be.Distances(ctx, ds, centers[:d], 1, closest); err != nil {
		return nil, nil, err
	}
	pot := potential(closest, w)
	cand := make([]float32, trials*d)
	ids := make([]int, trials)
	// The candidates are measured in groups of at most candidateGroup, each
	// group's distances n×g in a buffer of its own.
	groups := (trials + candidateGroup - 1) / candidateGroup
	dcs := make([][]float32, groups)
	for g := range dcs {
		dcs[g] = make([]float32, n*groupSize(trials, g))
	}
	pots := make([]float64, trials)
	for c := 1; c < k; c++ {
		var acc float64
		if w == nil {
			for i, v := range closest {
				acc += float64(v)
				cum[i] = acc
			}
		} else {
			for i, v := range closest {
				acc += float64(v) * w[i]
				cum[i] = acc
			}
		}
		for t := range ids {
			target := rng.Float64() * pot
			id, _ := slices.BinarySearch(cum, target) // first i with cum[i] ≥ target
			ids[t] = min(id, n-1)
			copy(cand[t*d:(t+1)*d], x[ids[t]*d:(ids[t]+1)*d])
		}
		for g, dc := range dcs {
			lo, m := g*candidateGroup, groupSize(trials, g)
			if err := be.Distances(ctx, ds, cand[lo*d:(lo+m)*d], m, dc); err != nil {
				return nil, nil, err
			}
			potentials(closest, w, dc, m, pots[lo:lo+m])
		}
		best := 0
		for t := 1; t < trials; t++ {
			if pots[t] < pots[best] {
				best = t
			}
		}
		pot = pots[best]
		bestDC, bm, bj := dcs[best/candidateGroup], groupSize(trials, best/candidateGroup), best%candidateGroup
		for i := range closest {
			closest[i] = min(closest[i], bestDC[i*bm+bj])
		}
		copy(centers[c*d:(c+1)*d], cand[best*d:(best+1)*d])
		rows = append(rows, ids[best])
		if c%16 == 0 {
			report(algo.Progress{Phase: "init", Iteration: c, MaxIter: k, Inertia: pot})
		}
	}
	return centers, rows, nil
}

// candidateGroup is the most candidates measured in one Distances call:
// the CPU backend streams the rows through its skinny kernel for up to 8
// points, at twice the rate of its general path for 16 (measured on 16,384
// × 128 rows: 0.54 ms for 8 points, 2.1 ms for 16; running the skinny
// kernel twice per block of rows for 16 was no faster than two calls).
const candidateGroup = 8

// groupSize is the number of candidates in group g of trials.
func groupSize(trials, g int) int { return min(candidateGroup, trials-g*candidateGroup) }

// potChunk is the row chunk of potentials: fixed, so the float64 sums are
// added in the same order whatever the number of cores.
const potChunk = 8192

// potentials sets pots[t] = Σ_i w_i·min(closest[i], dc[i·trials + t]) (the
// potential if candidate t became a centre; w nil: w_i = 1), summing each
// chunk of rows as a task of internal/parallel and the chunks in order.
func potentials(closest []float32, w []float64, dc []float32, trials int, pots []float64) {
	n := len(closest)
	chunks := (n + potChunk - 1) / potChunk
	part := make([]float64, chunks*trials)
	parallel.For(context.Background(), 0, chunks, func(c int) {
		potentialsRows(part[c*trials:(c+1)*trials], closest, w, dc, c*potChunk, min(n, (c+1)*potChunk))
	})
	clear(pots)
	for c := 0; c < chunks; c++ {
		for t := range pots {
			pots[t] += part[c*trials+t]
		}
	}
}

// potentialsRows adds rows lo…hi−1's terms of potentials to p (one per
// candidate, len(p) of them), row after row: on AVX2 with 8 candidates
// (candidateGroup), all 8 in one register pair, with the same roundings in
// the same order as the loop, so the same bits.
func potentialsRows(p []float64, closest []float32, w []float64, dc []float32, lo, hi int) {
	trials := len(p)
	if potentialsAVX2 && trials == 8 && hi > lo {
		_, _ = closest[hi-1], dc[hi*8-1] // the assembly reads these ranges unchecked
		var wp *float64
		if w != nil {
			_ = w[hi-1]
			wp = &w[lo]
		}
		potentials8AVX2(&p[0], &closest[lo], wp, &dc[lo*8], hi-lo)
		return
	}
	for i := lo; i < hi; i++ {
		cl := closest[i]
		if w == nil {
			for t, v := range dc[i*trials : (i+1)*trials] {
				p[t] += float64(min(cl, v))
			}
			continue
		}
		wi := w[i]
		for t, v := range dc[i*trials : (i+1)*trials] {
			p[t] += wi * float64(min(cl, v))
		}
	}
}

// potential is Σ_i w_i·closest[i] (w nil: w_i = 1).
func potential(closest []float32, w []float64) float64 {
	if w == nil {
		return algo.Sum64(closest)
	}
	var s float64
	for i, v := range closest {
		s += w[i] * float64(v)
	}
	return s
}

type lloydResult struct {
	labels     []int32
	centers    []float32
	inertia    float64
	iterations int
	iterSec    float64
	measured   int // rows measured against every centre, over all iterations
}

// lloyd runs scikit-learn's Lloyd loop: assign, recompute means (moving an
// empty cluster's centre to the point farthest from its own centre), and
// stop after max_iter iterations, when no label changed ("strict
// convergence") or when the total squared centre shift is ≤ tolAbs. If it
// stopped for another reason than strict convergence, the labels are
// recomputed for the final centres, so labels and centres agree.
//
// The assignment is an assigner (bounded when the backend can assign a
// subset of rows), and the per-cluster sums are updated incrementally from
// the rows whose label changed, in row order; they are summed afresh on the
// first iteration and after an empty cluster was relocated.
func lloyd(ctx context.Context, r *algo.State, centers []float32, k, maxIter int, tolAbs float64, restart, restarts int) (*lloydResult, error) {
	n, d := r.In.N, r.In.D
	as := newAssigner(r, k)
	prev := make([]int32, n)
	sums := make([]float64, k*d)
	counts := make([]int64, k)
	next := make([]float32, k*d)
	moved := make([]float64, k)
	fresh := true // sums must be recomputed from the labels
	strict := false
	iters, measuredTotal := 0, 0
	iterSec := 0.0
	for it := 0; it < maxIter; it++ {
		t0 := time.Now()
		changed, measured, err := as.assign(ctx, centers, moved)
		if err != nil {
			return nil, err
		}
		measuredTotal += measured
		labels := as.labels()
		if it > 0 && len(changed) == 0 {
			strict = true
			iters = it + 1
			iterSec += time.Since(t0).Seconds()
			break
		}
		if fresh {
			if err := r.Backend.SumByLabel(ctx, r.DS, labels, k, sums, counts); err != nil {
				return nil, err
			}
			fresh = false
		} else {
			moveMembers(r.In, changed, prev, labels, sums, counts)
		}
		for _, i := range changed {
			prev[i] = labels[i]
		}
		if hasEmpty(counts) {
			dist := make([]float32, n)
			if err := r.Backend.LabelDistances(ctx, r.DS, centers, k, labels, dist); err != nil {
				return nil, err
			}
			relocateEmpty(r.In, labels, dist, sums, counts, k)
			fresh = true // the relocation moved a point's contribution, not its label
		}
		shift := updateCenters(centers, next, sums, counts, k, d, moved)

		centers, next = next, centers
		iters = it + 1
		el := time.Since(t0).Seconds()
		iterSec += el
		r.Report(algo.Progress{Phase: "iterate", Restart: restart + 1, Restarts: restarts, Iteration: iters, MaxIter: maxIter,
			Inertia: as.inertia(), PointsPerSecond: float64(n) / math.Max(el, 1e-9),
			Points: measured, FLOPs: 2 * float64(measured) * float64(k) * float64(d), Seconds: el,
			Fraction: (float64(restart) + initShare + (1-initShare)*float64(iters)/float64(maxIter)) / float64(restarts)})
		if shift <= tolAbs {
			break
		}
	}
	if !strict {
		_, measured, err := as.assign(ctx, centers, moved)
		if err != nil {
			return nil, err
		}
		measuredTotal += measured
	}
	labels := as.labels()
	dist := make([]float32, n)
	if err := r.Backend.LabelDistances(ctx, r.DS, centers, k, labels, dist); err != nil {
		return nil, err
	}
	return &lloydResult{labels: labels, centers: centers, inertia: algo.Sum64(dist), iterations: iters, iterSec: iterSec, measured: measuredTotal}, nil
}

// moveMembers moves the changed rows' contributions from their previous
// cluster's sums to their new one's, in row order.
func moveMembers(in algo.Input, changed, prev, labels []int32, sums []float64, counts []int64) {
	d := in.D
	for _, i := range changed {
		from, to := int(prev[i]), int(labels[i])
		row := in.X[int(i)*d : (int(i)+1)*d]
		for t, v := range row {
			sums[from*d+t] -= float64(v)
			sums[to*d+t] += float64(v)
		}
		counts[from]--
		counts[to]++
	}
}

func hasEmpty(counts []int64) bool {
	for _, c := range counts {
		if c == 0 {
			return true
		}
	}
	return false
}

// relocateEmpty gives every empty cluster the point farthest from its own
// centre (as scikit-learn does), moving that point's contribution from its
// old cluster's sums to the empty one's. dist are the squared distances of
// the rows to their assigned centres. Labels are not changed: the next
// assignment step settles them.
func relocateEmpty(in algo.Input, labels []int32, dist []float32, sums []float64, counts []int64, k int) {
	var empty []int
	for j := 0; j < k; j++ {
		if counts[j] == 0 {
			empty = append(empty, j)
		}
	}
	if len(empty) == 0 {
		return
	}
	far := farthest(dist, len(empty))
	d := in.D
	for e, j := range empty {
		i := far[e]
		old := int(labels[i])
		row := in.X[i*d : (i+1)*d]
		for t, v := range row {
			sums[old*d+t] -= float64(v)
			sums[j*d+t] = float64(v)
		}
		counts[old]--
		counts[j] = 1
	}
}

// farthest returns the indices of the m largest values of dist, largest
// first, ties by lower index.
func farthest(dist []float32, m int) []int {
	idx := make([]int, 0, m+1)
	for i, v := range dist {
		if len(idx) == m && v <= dist[idx[m-1]] {
			continue
		}
		pos, _ := slices.BinarySearchFunc(idx, v, func(j int, v float32) int {
			if dist[j] >= v {
				return -1 // equal values keep the earlier index first
			}
			return 1
		})
		idx = slices.Insert(idx, pos, i)
		if len(idx) > m {
			idx = idx[:m]
		}
	}
	return idx
}

// updateCenters writes the means sums/counts into next (centres of clusters
// with no members keep their old position), sets moved[j] = ‖next_j − cur_j‖
// and returns the total squared shift Σ_j ‖next_j − cur_j‖².
func updateCenters(cur, next []float32, sums []float64, counts []int64, k, d int, moved []float64) float64 {
	var shift float64
	for j := 0; j < k; j++ {
		var m float64
		for t := 0; t < d; t++ {
			v := cur[j*d+t]
			if counts[j] > 0 {
				v = float32(sums[j*d+t] / float64(counts[j]))
			}
			next[j*d+t] = v
			e := float64(v) - float64(cur[j*d+t])
			m += e * e
		}
		moved[j] = math.Sqrt(m)
		shift += m
	}
	return shift
}

// Extend implements algo.Extender for k-means: every point goes to its nearest
// fitted centre, and the inertia is measured on all points.
func (m *Algorithm) Extend(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted) (*algo.Fitted, error) {
	return algo.ExtendCentroids(ctx, full, f)
}

// Child gives k-means algo.ChildClusters' n_clusters.
func (m *Algorithm) Child(size int) (algo.Algorithm, bool) {
	k, ok := algo.ChildClusters(m.p.NClusters, size)
	if !ok {
		return nil, false
	}
	c := *m
	c.p.NClusters = k
	return &c, true
}

// Labels is scikit-learn's KMeans(n_clusters=k, n_init=nInit,
// random_state=seed).fit(X).labels_ on s's data: k-means++ seeding, Lloyd
// iterations to tol 1e-4 (at most 300). It reports no progress. Gaussian
// mixtures (init_params "kmeans") and spectral clustering (assign_labels
// "kmeans") start from it.
func Labels(ctx context.Context, s *algo.State, k, nInit int, seed int64) ([]int32, error) {
	km := &Algorithm{p: Params{NClusters: k, Init: "k-means++", NInit: nInit, nInitGiven: true, MaxIter: 300, Tol: 1e-4, Seed: seed, Algorithm: "lloyd"}}
	quiet := *s
	quiet.Progress = nil
	f, err := km.Fit(ctx, &quiet)
	if err != nil {
		return nil, err
	}
	return f.Labels, nil
}
