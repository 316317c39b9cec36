// Package minibatch is scikit-learn's MiniBatchKMeans over a
// kernels.Backend, seeded as package kmeans seeds large data.
package minibatch

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/kmeans"

	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/internal/prefetch"
	"github.com/clusterd/clusterd/internal/sqdist"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/schema"
)

// Params are mini-batch k-means' parameters, named as
// scikit-learn's MiniBatchKMeans (1.2) with its defaults.
type Params struct {
	NClusters         int     // n_clusters, default 8
	Init              string  // init: "k-means++" (default) or "random"
	MaxIter           int     // max_iter: passes over the data, default 100
	BatchSize         int     // batch_size, default 1024
	Tol               float64 // tol, default 0 (off), relative to the mean feature variance
	MaxNoImprovement  *int    // max_no_improvement, default 10; null disables
	InitSize          *int    // init_size: points k-means++ runs on; default 3·batch_size (≥ 3·k)
	NInit             int     // n_init: initialisations compared on a validation sample, default 3
	ReassignmentRatio float64 // reassignment_ratio, default 0.01
	Seed              int64   // random_state
	nInitAuto         bool
}

// Algorithm is mini-batch k-means as the engine runs it (algo.Algorithm).
type Algorithm struct{ p Params }

// Parse builds the algorithm from its parameters, validated and completed
// by the algorithm's model in package params (given: as the request sent
// them); seed, when set, overrides random_state.
func Parse(v, given schema.Values, seed *int64) (algo.Algorithm, error) {
	mp := Params{
		NClusters:         v.Int("n_clusters"),
		Init:              v.Str("init"),
		MaxIter:           v.Int("max_iter"),
		BatchSize:         v.Int("batch_size"),
		Tol:               v.Float("tol"),
		InitSize:          v.IntPtr("init_size"),
		ReassignmentRatio: v.Float("reassignment_ratio"),
		MaxNoImprovement:  v.IntPtr("max_no_improvement"),
	}
	mp.NInit, _, mp.nInitAuto = algo.ReadNInit(v, given)
	if mp.nInitAuto {
		mp.NInit = 3
		if mp.Init == "k-means++" {
			mp.NInit = 1
		}
	}
	mp.Seed = algo.ReadSeed(v, seed)
	return &Algorithm{p: mp}, nil
}

// Params implements algo.Algorithm: the parameters as the run uses them.
func (m *Algorithm) Params() map[string]any {
	out := map[string]any{
		"n_clusters": m.p.NClusters, "init": m.p.Init, "max_iter": m.p.MaxIter, "batch_size": m.p.BatchSize,
		"tol": m.p.Tol, "n_init": m.p.NInit, "reassignment_ratio": m.p.ReassignmentRatio, "random_state": m.p.Seed,
		"max_no_improvement": nil, "init_size": nil,
	}
	if m.p.MaxNoImprovement != nil {
		out["max_no_improvement"] = *m.p.MaxNoImprovement
	}
	if m.p.InitSize != nil {
		out["init_size"] = *m.p.InitSize
	}
	return out
}

// Check implements algo.Algorithm.
func (m *Algorithm) Check(in algo.Input) error { return kmeans.CheckClusterCount(in, m.p.NClusters) }

func randInts(rng *rand.Rand, n, size int) []int {
	return fillRandInts(rng, n, make([]int, size))
}

// fillRandInts sets every element of out to a random row below n.
func fillRandInts(rng *rand.Rand, n int, out []int) []int {
	for i := range out {
		out[i] = rng.IntN(n)
	}
	return out
}

// batchMeasurer assigns a mini-batch's rows (drawn with replacement) to
// their nearest centres: on the dataset itself through SubsetAssigner when
// the backend has it (each distinct row once), else on a copy of the rows.
type batchMeasurer struct {
	r            *algo.State
	sa           kernels.SubsetAssigner
	vb           *visitBounds // nil: every row is measured
	slot         []int32      // per row of the data: its place in rows during assign, −1 otherwise
	rows         []int32
	lab          []int32
	dist, second []float32
	measure      []int32 // positions in rows of the rows to measure
	mRows, mLab  []int32 // the rows to measure and their labels
	mDist        []float32
	kept         []bool
	xb           []float32 // the distinct rows of the last batch, copied (len(rows)×d)
	pos          []int32   // per batch position: its row's place in rows and xb
}

func newBatchMeasurer(r *algo.State, batch int) *batchMeasurer {
	bm := &batchMeasurer{r: r, rows: make([]int32, 0, batch),
		lab: make([]int32, batch), dist: make([]float32, batch), second: make([]float32, batch)}
	bm.sa, _ = r.Backend.(kernels.SubsetAssigner)
	return bm
}

// assign sets labels[p] and dist[p] (squared) for the rows idx[p].
func (bm *batchMeasurer) assign(ctx context.Context, idx []int, centers []float32, k int, labels []int32, dist []float32) error {
	if bm.sa == nil || k < 2 {
		bm.pos = nil // the centre update reads the data
		b, err := newSubset(bm.r.Backend, bm.r.In, idx)
		if err != nil {
			return err
		}
		defer b.ds.Close()
		return bm.r.Backend.Assign(ctx, b.ds, centers, k, labels, dist)
	}
	// The distinct rows, in the order drawn (SubsetAssigner takes distinct
	// rows; each row's result depends on nothing else): slot[i] is row i's
	// place among them during the call, −1 otherwise.
	if bm.slot == nil {
		bm.slot = make([]int32, bm.r.In.N)
		for i := range bm.slot {
			bm.slot[i] = -1
		}
	}
	rows := bm.rows[:0]
	for _, i := range idx {
		if bm.slot[i] < 0 {
			bm.slot[i] = int32(len(rows))
			rows = append(rows, int32(i))
		}
	}
	err := bm.measureRows(ctx, rows, centers, k, bm.lab, bm.dist)
	bm.pos = algo.Grow(bm.pos, len(idx))
	for p, i := range idx {
		u := bm.slot[i]
		labels[p], dist[p] = bm.lab[u], bm.dist[u]
		bm.pos[p] = u
	}
	for _, i := range rows {
		bm.slot[i] = -1
	}
	return err
}

// rowOf returns the vector of the batch's position p (rows idx): from the
// copy assign made, or from the data.
func (bm *batchMeasurer) rowOf(idx []int) func(p int) []float32 {
	d := bm.r.In.D
	if bm.pos == nil {
		return func(p int) []float32 { return bm.r.In.X[idx[p]*d : (idx[p]+1)*d] }
	}
	return func(p int) []float32 { u := int(bm.pos[p]); return bm.xb[u*d : (u+1)*d] }
}

// prefetchAhead is how many rows ahead of its copy measureRows prefetches
// a row.
const prefetchAhead = 8

// measureRows sets lab[q] and dist[q] (squared) for the distinct rows
// rows[q] (ascending): from the visit bounds where they keep a row's
// centre, else by measuring it against every centre (SubsetAssigner),
// which also renews its bounds.
func (bm *batchMeasurer) measureRows(ctx context.Context, rows []int32, centers []float32, k int, lab []int32, dist []float32) error {
	d := bm.r.In.D
	bm.kept, bm.xb = algo.Grow(bm.kept, len(rows)), algo.Grow(bm.xb, len(rows)*d)
	kept, xb := bm.kept, bm.xb
	// The rows are copied into one block first, on every core: a copy
	// has all of a row's cache lines in flight at once, where reading it
	// value by value waits for them one after another. The bound tests and
	// the centre update then read the copy.
	X := bm.r.In.X
	parallel.Chunks(ctx, 0, len(rows), keepChunk, func(lo, hi int) {
		// The rows are scattered over the data: loads of the next ones
		// start while one is copied, so their waits for memory overlap.
		prefetch.Rows(X, d, rows[lo:min(hi, lo+prefetchAhead)])
		for q := lo; q < hi; q++ {
			if q+prefetchAhead < hi {
				prefetch.Rows(X, d, rows[q+prefetchAhead:q+prefetchAhead+1])
			}
			i := int(rows[q])
			x := xb[q*d : (q+1)*d]
			copy(x, X[i*d:(i+1)*d])
			if bm.vb != nil {
				lab[q], dist[q], kept[q] = bm.vb.keep(i, x, centers)
			} else {
				kept[q] = false
			}
		}
	})
	measure := bm.measure[:0]
	mRows := bm.mRows[:0]
	for q, i := range rows {
		if !kept[q] {
			measure = append(measure, int32(q))
			mRows = append(mRows, i)
		}
	}
	bm.measure, bm.mRows = measure, mRows
	m := len(mRows)
	if bm.vb != nil {
		bm.vb.kept += int64(len(rows) - m)
		bm.vb.measured += int64(m)
	}
	if m == 0 {
		return nil
	}
	bm.mLab, bm.mDist, bm.second = algo.Grow(bm.mLab, m), algo.Grow(bm.mDist, m), algo.Grow(bm.second, m)
	ml, md, ms := bm.mLab, bm.mDist, bm.second
	if err := bm.sa.AssignSubset(ctx, bm.r.DS, mRows, centers, k, ml, md, ms); err != nil {
		return err
	}
	for p, q := range measure {
		lab[q], dist[q] = ml[p], md[p]
		if bm.vb != nil {
			bm.vb.record(int(mRows[p]), ml[p], md[p], ms[p])
		}
	}
	return nil
}

// keepChunk is the rows of a batch per task of the bound tests.
const keepChunk = 128

// updater moves the centres towards their members in a batch.
type updater struct {
	d       int
	members []int32 // per centre: its members in the batch (0 between steps)
	cursor  []int32 // per centre: where its next member goes in order
	touched []int32 // the centres with members, in the order of their first
	start   []int32 // per touched centre: where its members start in order
	order   []int32 // batch positions grouped by centre, in batch order within
	shift   []float64
	drift   [][2]float64 // per touched centre: move's squared distance and norm
	// Per task of a step (touched centres lo/updateChunk): a centre's
	// next position, its members' sums, their vectors and a copy of them,
	// allocated once (a step's garbage would otherwise start a collection
	// every few steps).
	next  []float32
	sums  []float64
	rows  [][][]float32
	block [][]float32
}

func newUpdater(k, d, batch int) *updater {
	tasks := (min(k, batch) + updateChunk - 1) / updateChunk
	return &updater{d: d, members: make([]int32, k), cursor: make([]int32, k), order: make([]int32, batch),
		next: make([]float32, tasks*d), sums: make([]float64, tasks*d), rows: make([][][]float32, tasks), block: make([][]float32, tasks)}
}

// updateChunk is the touched centres per task of an update.
const updateChunk = 32

// step moves every centre with members in the batch (position p's vector
// rowOf(p), its label labels[p]) to the weighted mean of its old position (weight: its count) and
// its members, adds the members to counts, records the moves in vb (when
// not nil) and returns the total squared shift. The centres are updated in
// parallel, each from its members' float64 sums in batch order, so the
// result does not depend on the number of cores.
func (u *updater) step(ctx context.Context, rowOf func(p int) []float32, labels []int32, centers []float32, counts []float64, vb *visitBounds) float64 {
	d := u.d
	touched := u.touched[:0]
	for _, l := range labels {
		if u.members[l] == 0 {
			touched = append(touched, l)
		}
		u.members[l]++
	}
	u.touched = touched
	u.start = algo.Grow(u.start, len(touched)+1)
	start := u.start
	off := int32(0)
	for q, l := range touched {
		start[q], u.cursor[l] = off, off
		off += u.members[l]
	}
	start[len(touched)] = off
	for p, l := range labels {
		u.order[u.cursor[l]] = int32(p)
		u.cursor[l]++
	}
	if cap(u.shift) < len(touched) {
		u.shift, u.drift = make([]float64, len(touched)), make([][2]float64, len(touched))
	}
	parallel.Chunks(ctx, 0, len(touched), updateChunk, func(lo, hi int) {
		task := lo / updateChunk
		next, sum := u.next[task*d:(task+1)*d], u.sums[task*d:(task+1)*d]
		for q := lo; q < hi; q++ {
			j := int(touched[q])
			rows := u.rows[task][:0]
			for _, p := range u.order[start[q]:start[q+1]] {
				rows = append(rows, rowOf(int(p))[:d])
			}
			u.rows[task] = rows
			cj := centers[j*d : (j+1)*d]
			// Scaled by the reciprocal of the new count, as scikit-learn
			// does: a product per feature, not a division.
			old, inv := counts[j], 1/(counts[j]+float64(u.members[j]))
			u.block[task] = algo.Grow(u.block[task], len(rows)*d)
			moveCentre(next, cj, rows, old, inv, u.block[task], sum)
			u.shift[q] = sqdist.Exact(next, cj)
			copy(cj, next)
			if vb != nil {
				u.drift[q][0], u.drift[q][1] = vb.move(j, cj)
			}
		}
	})
	var shift float64
	for q, l := range touched {
		shift += u.shift[q]
		counts[l] += float64(u.members[l])
		u.members[l] = 0
		if vb != nil {
			vb.noteMove(int(l), u.drift[q][0], u.drift[q][1])
		}
	}
	return shift
}

// moveCentre sets next[t] = (c[t]·old + Σ_rows x[t])·inv, the members'
// sum taken in float64 in the order of rows (algo.AddRows64, over the
// members copied into one block, block: len(rows)·len(c) floats; sums:
// len(c)).
func moveCentre(next, c []float32, rows [][]float32, old, inv float64, block []float32, sums []float64) {
	d := len(c)
	for q, x := range rows {
		copy(block[q*d:(q+1)*d], x)
	}
	clear(sums)
	algo.AddRows64(sums, block[:len(rows)*d])
	for t, v := range c {
		next[t] = float32((float64(v)*old + sums[t]) * inv)
	}
}

// assignAll sets labels and dist (squared) for every row: with visit
// bounds, the rows they keep are not measured again, and the rows measured
// get their bounds.
func (bm *batchMeasurer) assignAll(ctx context.Context, centers []float32, k int, labels []int32, dist []float32) error {
	if bm.vb == nil {
		return bm.r.Backend.Assign(ctx, bm.r.DS, centers, k, labels, dist)
	}
	n, d := bm.r.In.N, bm.r.In.D
	// The bounds first, in parallel (a distance a row), then the rows they
	// did not keep, measured in chunks.
	keep := make([]bool, n)
	parallel.Chunks(ctx, 0, n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			labels[i], dist[i], keep[i] = bm.vb.keep(i, bm.r.In.X[i*d:(i+1)*d], centers)
		}
	})
	var rows []int32
	lab, dst, sec := make([]int32, allChunk), make([]float32, allChunk), make([]float32, allChunk)
	for lo := 0; lo < n; lo = min(n, lo+allChunk) {
		rows = rows[:0]
		for i := lo; i < min(n, lo+allChunk); i++ {
			if !keep[i] {
				rows = append(rows, int32(i))
			}
		}
		bm.vb.kept += int64(min(n, lo+allChunk) - lo - len(rows))
		m := len(rows)
		if m == 0 {
			continue
		}
		if err := bm.sa.AssignSubset(ctx, bm.r.DS, rows, centers, k, lab[:m], dst[:m], sec[:m]); err != nil {
			return err
		}
		for p, i := range rows {
			labels[i], dist[i] = lab[p], dst[p]
			bm.vb.record(int(i), lab[p], dst[p], sec[p])
		}
		bm.vb.measured += int64(m)
	}
	return ctx.Err()
}

// allChunk is the most rows assignAll measures in one call.
const allChunk = 1 << 16

// subset is a small dataset made of chosen rows, uploaded for a step.
type subset struct {
	in algo.Input
	ds kernels.Dataset
}

func newSubset(be kernels.Backend, in algo.Input, idx []int) (*subset, error) {
	s := &subset{in: algo.GatherRows(in, idx)}
	var err error
	s.ds, err = be.Upload(s.in.X, s.in.N, s.in.D)
	return s, err
}

// Fit follows scikit-learn's MiniBatchKMeans.fit: n_init k-means++ (or
// random) initialisations, k-means++ on a coreset of init_size points as
// k-means seeds large data (seedCoreset), the best by inertia on a
// validation sample; then ⌊max_iter·n / batch_size⌋ steps, each assigning a
// random batch and moving every centre with members towards their mean
// with a per-centre learning rate 1/count, the counts starting at the
// seeds' coreset weights (scikit-learn starts them at 0); centres with few
// points are reassigned to random points now and then; it stops early when
// the smoothed batch inertia has not improved for max_no_improvement steps,
// or (tol > 0) when the centres moved less than tol. Finally every point is
// assigned to the nearest final centre. Rows drawn again, and the final
// assignment, skip the measurement against every centre where the visit
// bounds (visitBounds) show their centre cannot have changed.
func (m *Algorithm) Fit(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	f, _, err := m.fit(ctx, r)
	return f, err
}

// fit is Fit, with the visit bounds it used (nil without).
func (m *Algorithm) fit(ctx context.Context, r *algo.State) (*algo.Fitted, *visitBounds, error) {
	p := m.p
	n, d, k := r.In.N, r.In.D, p.NClusters
	rng := rand.New(rand.NewPCG(uint64(p.Seed), 0x6d62))
	batch := min(p.BatchSize, n)
	// k-means++ seeds from a coreset of init_size points (see
	// seedCoreset), by default k-means' automatic size.
	initSize := kmeans.AutoCoreset(k)
	if p.InitSize != nil {
		initSize = max(*p.InitSize, k)
	}
	tolAbs := 0.0
	if p.Tol > 0 {
		tolAbs = p.Tol * kmeans.MeanVariance(r.In)
	}

	// The validation sample is drawn even when one initialisation leaves
	// nothing to compare, so that the random stream, and the run, do not
	// depend on n_init's being 1.
	validRows := randInts(rng, n, min(initSize, n))
	var valid *subset
	var vlabels []int32
	var vdist []float32
	if p.NInit > 1 {
		var err error
		if valid, err = newSubset(r.Backend, r.In, validRows); err != nil {
			return nil, nil, err
		}
		defer valid.ds.Close()
		vlabels, vdist = make([]int32, valid.in.N), make([]float32, valid.in.N)
	}
	tInit := time.Now()
	var centers []float32
	var initCounts []float64
	var seeded kmeans.SeedInfo
	bestInertia := math.Inf(1)
	for restart := 0; restart < p.NInit; restart++ {
		r.Report(algo.Progress{Phase: "init", Restart: restart + 1, Restarts: p.NInit})
		var c []float32
		var info kmeans.SeedInfo
		if p.Init == "random" {
			c = kmeans.RandomInit(r.In, k, rng)
		} else {
			var err error
			if c, err = kmeans.SeedCoreset(ctx, r, k, initSize, 100, 0, rng, r.Report, &info); err != nil {
				return nil, nil, err
			}
		}
		if valid == nil {
			centers, seeded = c, info
			break
		}
		if err := r.Backend.Assign(ctx, valid.ds, c, k, vlabels, vdist); err != nil {
			return nil, nil, err
		}
		if in := algo.Sum64(vdist); in < bestInertia {
			bestInertia, centers, seeded = in, c, info
		}
	}
	// The seeds carry the coreset weight of their points as counts, so that
	// the first batches refine them instead of replacing them (scikit-learn
	// starts every count at 0, which throws the seeding away).
	initCounts = seeded.Mass
	r.Phases.AddSeeding(tInit)
	counts := make([]float64, k)
	if initCounts != nil {
		copy(counts, initCounts)
	}
	labels := make([]int32, batch)
	dist := make([]float32, batch)
	up := newUpdater(k, d, batch)
	steps := int(int64(p.MaxIter) * int64(n) / int64(batch))
	var ewa, ewaMin float64
	haveEwa, haveMin := false, false
	noImprovement, sinceReassign := 0, 0
	step := 0
	iterSec := 0.0
	bm := newBatchMeasurer(r, batch)
	idx := make([]int, batch)
	full := make([]int32, n)
	fdist := make([]float32, n)
	if bm.sa != nil && k >= 2 && visitBoundsOn {
		bm.vb = newVisitBounds(n, k, d, batch, centers)
		// Every row is measured against every centre once in any case
		// (when first drawn, or at the end): measuring them all now takes
		// one pass in large blocks instead of a few hundred rows a batch,
		// and the seeds move little before the rows are drawn.
		t0 := time.Now()
		if err := bm.assignAll(ctx, centers, k, full, fdist); err != nil {
			return nil, nil, err
		}
		iterSec += time.Since(t0).Seconds()
	}
	for step = 0; step < steps; step++ {
		t0 := time.Now()
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		idx = fillRandInts(rng, n, idx)
		if bm.vb != nil {
			bm.vb.beginStep(centers)
		}
		if err := bm.assign(ctx, idx, centers, k, labels, dist); err != nil {
			return nil, nil, err
		}
		shift := up.step(ctx, bm.rowOf(idx), labels, centers, counts, bm.vb)
		sinceReassign += batch
		if p.ReassignmentRatio > 0 && (hasZero(counts) || sinceReassign >= 10*k) {
			sinceReassign = 0
			if moved := reassignSmall(r.In, centers, counts, p.ReassignmentRatio, batch, rng); len(moved) > 0 && bm.vb != nil {
				bm.vb.jumped(moved, centers)
			}
		}
		bi := algo.Sum64(dist) / float64(batch)
		el := time.Since(t0).Seconds()
		iterSec += el
		r.Report(algo.Progress{Phase: "iterate", Restarts: 1, Restart: 1, Iteration: step + 1, MaxIter: steps,
			Inertia: bi * float64(n), Fraction: float64(step+1) / float64(steps), PointsPerSecond: float64(batch) / math.Max(el, 1e-9),
			Points: batch, FLOPs: 2 * float64(batch) * float64(k) * float64(d), Seconds: el})
		if step == 0 {
			continue
		}
		if !haveEwa {
			ewa, haveEwa = bi, true
		} else {
			alpha := math.Min(float64(batch)*2/float64(n+1), 1)
			ewa = ewa*(1-alpha) + bi*alpha
		}
		if p.Tol > 0 && shift <= tolAbs {
			step++
			break
		}
		if !haveMin || ewa < ewaMin {
			noImprovement, ewaMin, haveMin = 0, ewa, true
		} else {
			noImprovement++
		}
		if p.MaxNoImprovement != nil && noImprovement >= *p.MaxNoImprovement {
			step++
			break
		}
	}
	if err := bm.assignAll(ctx, centers, k, full, fdist); err != nil {
		return nil, nil, err
	}
	if err := r.Backend.LabelDistances(ctx, r.DS, centers, k, full, fdist); err != nil {
		return nil, nil, err
	}
	inertia := algo.Sum64(fdist)
	epochs := int(math.Ceil(float64(min(step, steps)) * float64(batch) / float64(n)))
	f := &algo.Fitted{Labels: full, K: k, Centroids: centers, Iterations: epochs, IterSeconds: iterSec, Inertia: &inertia, NInitUsed: p.NInit,
		InitSample: seeded.Sample, Seeding: seeded.Method, SeedIterations: seeded.Iterations}
	if bm.vb != nil {
		f.Measured = int(bm.vb.measured)
	}
	return f, bm.vb, nil
}

func hasZero(v []float64) bool {
	for _, e := range v {
		if e == 0 {
			return true
		}
	}
	return false
}

// reassignSmall moves centres whose accumulated count is below ratio times
// the largest count to random distinct points, as scikit-learn does, never
// more than half the batch, and gives them the smallest remaining count.
// It returns the centres it moved.
func reassignSmall(in algo.Input, centers []float32, counts []float64, ratio float64, batch int, rng *rand.Rand) []int {
	maxC := 0.0
	for _, c := range counts {
		maxC = math.Max(maxC, c)
	}
	var small []int
	for j, c := range counts {
		if c < ratio*maxC {
			small = append(small, j)
		}
	}
	if len(small) > batch/2 {
		small = small[:batch/2]
	}
	if len(small) == 0 {
		return nil
	}
	minKept := math.Inf(1)
	isSmall := make([]bool, len(counts))
	for _, j := range small {
		isSmall[j] = true
	}
	for j, c := range counts {
		if !isSmall[j] {
			minKept = math.Min(minKept, c)
		}
	}
	picked := kmeans.RandomInit(in, len(small), rng)
	for s, j := range small {
		copy(centers[j*in.D:(j+1)*in.D], picked[s*in.D:(s+1)*in.D])
		counts[j] = minKept
	}
	return small
}

// Extend implements algo.Extender: every point goes to its nearest fitted
// centre, and the inertia is measured on all points.
func (m *Algorithm) Extend(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted) (*algo.Fitted, error) {
	return algo.ExtendCentroids(ctx, full, f)
}

// Child gives mini-batch k-means algo.ChildClusters' n_clusters.
func (m *Algorithm) Child(size int) (algo.Algorithm, bool) {
	k, ok := algo.ChildClusters(m.p.NClusters, size)
	if !ok {
		return nil, false
	}
	c := *m
	c.p.NClusters = k
	return &c, true
}
