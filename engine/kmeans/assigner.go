package kmeans

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync/atomic"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/internal/sqdist"

	"github.com/clusterd/clusterd/kernels"
)

// assigner finds every row's nearest centre for the Lloyd loop. The loop
// does not care how (FAISS's separation of the clustering loop from where
// assignment runs): plainAssigner measures every row against every centre
// each time; boundedAssigner (Hamerly's algorithm) re-measures only the rows
// whose bounds cannot prove that their centre stays the nearest. Both give
// the exact nearest centre; they can differ only on near ties.
type assigner interface {
	// assign labels the rows for centers (k×d); moved[j] is how far centre
	// j moved (Euclidean) since the previous call and is ignored on the
	// first. It returns the rows whose label changed, ascending (every row
	// on the first call), and how many rows it measured.
	assign(ctx context.Context, centers []float32, moved []float64) (changed []int32, measured int, err error)
	// labels are the current labels.
	labels() []int32
	// inertia is the objective for the current labels: exact for
	// plainAssigner, an upper bound for boundedAssigner.
	inertia() float64
}

func newAssigner(r *algo.State, k int) assigner {
	if sa, ok := r.Backend.(kernels.SubsetAssigner); ok && k > 1 {
		return newBounded(r, sa, k)
	}
	return &plainAssigner{r: r, k: k, lab: make([]int32, r.In.N), prev: make([]int32, r.In.N), dist: make([]float32, r.In.N), first: true}
}

// plainAssigner is Lloyd's assignment: all rows, all centres, every time.
type plainAssigner struct {
	r         *algo.State
	k         int
	lab, prev []int32
	dist      []float32
	first     bool
}

func (p *plainAssigner) assign(ctx context.Context, centers []float32, _ []float64) ([]int32, int, error) {
	copy(p.prev, p.lab)
	if err := p.r.Backend.Assign(ctx, p.r.DS, centers, p.k, p.lab, p.dist); err != nil {
		return nil, 0, err
	}
	var changed []int32
	for i, l := range p.lab {
		if p.first || l != p.prev[i] {
			changed = append(changed, int32(i))
		}
	}
	p.first = false
	return changed, len(p.lab), nil
}

func (p *plainAssigner) labels() []int32  { return p.lab }
func (p *plainAssigner) inertia() float64 { return algo.Sum64(p.dist) }

// boundedAssigner is Hamerly's accelerated assignment. Per row it keeps an
// upper bound u on the distance to its centre and a lower bound l on the
// distance to every other centre; per centre, s is half the distance to the
// nearest other centre. When centres move, u grows by its centre's move and
// l shrinks by the largest move of another centre. A row whose u is at most
// max(s, l) keeps its centre without being measured; the others are
// tightened and, if still failing, measured against every centre
// (SubsetAssigner) and get exact bounds (see filter for the refinements).
//
// Bounds are float32, rounded outwards (upper bounds up, lower bounds
// down), which halves their memory at a relative cost far below algo.BoundTol.
type boundedAssigner struct {
	r            *algo.State
	sa           kernels.SubsetAssigner
	k, d         int
	lab          []int32
	upper, lower []float32 // Euclidean distances
	first        bool
	rows, checks []int32
	state        []uint8
	newLab       []int32
	best, second []float32
	// rho is the part of the rows tightened by the last filter that still
	// had to be measured (its estimate for the next one).
	rho float64
}

func newBounded(r *algo.State, sa kernels.SubsetAssigner, k int) *boundedAssigner {
	n := r.In.N
	return &boundedAssigner{r: r, sa: sa, k: k, d: r.In.D, lab: make([]int32, n), upper: make([]float32, n), lower: make([]float32, n),
		state: make([]uint8, n), first: true, rho: 1}
}

// measureChunk is the most rows measured in one SubsetAssigner call, which
// bounds the buffers of a call (the first call measures every row).
const measureChunk = 1 << 16

func (b *boundedAssigner) assign(ctx context.Context, centers []float32, moved []float64) ([]int32, int, error) {
	n := len(b.lab)
	cnMax := 0.0
	for j := 0; j < b.k; j++ {
		cnMax = math.Max(cnMax, algo.SqNorm64(centers[j*b.d:(j+1)*b.d]))
	}
	if b.first {
		b.first = false
		all := make([]int32, n) // every row is measured and counts as changed
		for i := range all {
			all[i] = int32(i)
		}
		if _, err := b.measure(ctx, all, centers, cnMax, false); err != nil {
			return nil, 0, err
		}
		return all, n, nil
	}
	half, err := b.halfNearest(ctx, centers, cnMax)
	if err != nil {
		return nil, 0, err
	}
	if err := b.filter(ctx, centers, moved, half, cnMax); err != nil {
		return nil, 0, err
	}
	changed, err := b.measure(ctx, b.rows, centers, cnMax, true)
	return changed, len(b.rows), err
}

// measure assigns the listed rows (ascending) against every centre, in
// chunks of measureChunk, and sets their labels and exact bounds; with
// collect it returns the rows whose label changed.
func (b *boundedAssigner) measure(ctx context.Context, rows []int32, centers []float32, cnMax float64, collect bool) ([]int32, error) {
	var changed []int32
	for lo := 0; lo < len(rows); lo += measureChunk {
		part := rows[lo:min(len(rows), lo+measureChunk)]
		m := len(part)
		b.newLab, b.best, b.second = algo.Grow(b.newLab, m), algo.Grow(b.best, m), algo.Grow(b.second, m)
		if err := b.sa.AssignSubset(ctx, b.r.DS, part, centers, b.k, b.newLab[:m], b.best[:m], b.second[:m]); err != nil {
			return nil, err
		}
		for p, i := range part {
			if collect && b.newLab[p] != b.lab[i] {
				changed = append(changed, i)
			}
			b.lab[i] = b.newLab[p]
			// ‖x‖² ≤ (‖x − c‖ + ‖c‖)², so the backend's tolerance is bounded
			// without another pass over the data.
			e := math.Sqrt(float64(b.best[p])) + math.Sqrt(cnMax)
			tol := algo.BoundTol * (e*e + cnMax)
			b.upper[i] = algo.Up32(math.Sqrt(float64(b.best[p]) + tol))
			b.lower[i] = algo.Down32(math.Sqrt(math.Max(0, float64(b.second[p])-tol))) // +Inf stays +Inf (k = 1)
		}
	}
	return changed, nil
}

// maxExcluded bounds the centres whose moves a bounds update may leave out
// of the lower bounds (see filter).
const maxExcluded = 16

// excludedChoices are the numbers of largest moves filter considers leaving
// out of the lower bounds.
var excludedChoices = []int{0, 1, 2, 4, 8, maxExcluded}

// The work filter estimates for a row, in units of one row-centre distance
// of a full measurement (measured on the CPU backend, 1,000,000 × 128,
// k = 1,000: a full measurement costs 2.9 µs a row): tightening a row costs
// about 100 (one distance, computed in float64 on the host), checking it
// against e excluded centres e + 34 (a pass over its data).
const (
	tightenCost = 100
	checkCost   = 34
)

// filterChunk is the number of rows per task of filter's passes.
const filterChunk = 1 << 14

// Row states of filter.
const (
	keep    uint8 = iota // the bounds keep the row's centre
	check                // to be measured against the excluded centres
	tighten              // to be tightened, then measured if still failing
)

// filter updates every row's bounds for the centres' moves and lists in
// b.rows the rows that must be measured against every centre (ascending).
//
// Hamerly's update lowers every row's lower bound by the largest move of
// another centre, so a few centres that jump (a cluster that lost or
// gained many points) make every row fail. filter therefore leaves the e
// largest moves out: the lower bound then covers the other centres only,
// and a row that passes with it is measured against the e excluded centres
// (a SubsetAssigner call with e centres, against k for a full
// measurement), which also gives the bound for them. e is chosen per call,
// from the counts of rows each choice would send to a full measurement and
// to the check, as the one with the least estimated work.
//
// A row whose bounds fail is first tightened (Hamerly's second test): its
// upper bound becomes the exact distance to its centre, d operations
// instead of k·d, and it is measured only if that still fails.
func (b *boundedAssigner) filter(ctx context.Context, centers []float32, moved, half []float64, cnMax float64) error {
	n := len(b.lab)
	order := make([]int, b.k)
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(moved[y], moved[x]) }) // largest first
	mv := func(r int) float64 {                                                           // the r-th largest move (0-based), 0 past the end
		if r < len(order) {
			return moved[order[r]]
		}
		return 0
	}
	// dec(e, a): the largest move of a centre other than a outside the e
	// largest.
	dec := func(e int, a int32) float64 {
		if e < len(order) && order[e] == int(a) {
			return mv(e + 1)
		}
		return mv(e)
	}
	e, ei := 0, 0
	// Leaving moves out can only help when the largest ones stand out.
	if b.k > 2*maxExcluded && mv(0) > 1.25*mv(maxExcluded) {
		var fail, check [8]atomic.Int64
		parallel.Chunks(context.Background(), 0, n, filterChunk, func(lo, hi int) {
			var f, ch [8]int64
			for i := lo; i < hi; i++ {
				a := b.lab[i]
				u := float64(b.upper[i]) + moved[a]
				if u <= half[a] {
					continue
				}
				for c, ex := range excludedChoices {
					if u > float64(b.lower[i])-dec(ex, a) {
						f[c]++
					} else if ex > 0 {
						ch[c]++
					}
				}
			}
			for c := range excludedChoices {
				fail[c].Add(f[c])
				check[c].Add(ch[c])
			}
		})
		best := math.Inf(1)
		for c, ex := range excludedChoices {
			w := float64(fail[c].Load())*(tightenCost+b.rho*float64(b.k)) + float64(check[c].Load())*float64(ex+checkCost)
			if w < best {
				best, e, ei = w, ex, c
			}
		}
	}
	excludedCounts[ei].Add(1)
	// Per row: the bounds for the moves (the lower one for the centres
	// outside the excluded ones), and whether the row is kept by them, to
	// be checked against the excluded centres, or tightened.
	state := b.state
	parallel.Chunks(context.Background(), 0, n, filterChunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a := b.lab[i]
			b.upper[i] = algo.Up32(float64(b.upper[i]) + moved[a])
			b.lower[i] = algo.Down32(float64(b.lower[i]) - dec(e, a))
			switch {
			case float64(b.upper[i]) <= half[a]:
				state[i] = keep
			case b.upper[i] <= b.lower[i] && e > 0:
				state[i] = check
			case b.upper[i] <= b.lower[i]:
				state[i] = keep
			default:
				state[i] = tighten
			}
		}
	})
	b.rows = b.rows[:0]
	for i, st := range state {
		if st == tighten {
			b.rows = append(b.rows, int32(i))
		}
	}
	tightened := len(b.rows)
	b.tighten(centers, half, e > 0)
	b.checks = b.checks[:0]
	b.rows = b.rows[:0]
	for i, st := range state {
		switch st {
		case tighten:
			b.rows = append(b.rows, int32(i))
		case check:
			b.checks = append(b.checks, int32(i))
		case keep:
			if e > 0 {
				// Not checked against the excluded centres: Hamerly's bound
				// for every centre, the stored bound (for the others) less
				// the moves it left out.
				a := b.lab[i]
				b.lower[i] = algo.Down32(float64(b.lower[i]) + dec(e, a) - dec(0, a))
			}
		}
	}
	if tightened > 0 {
		b.rho = float64(len(b.rows)) / float64(tightened)
	}
	if len(b.checks) == 0 {
		return nil
	}
	// The excluded centres' distances: the nearest of them other than the
	// row's own centre bounds the row's lower bound for them.
	ex := make([]float32, 0, e*b.d)
	for _, j := range order[:e] {
		ex = append(ex, centers[j*b.d:(j+1)*b.d]...)
	}
	for lo := 0; lo < len(b.checks); lo += measureChunk {
		part := b.checks[lo:min(len(b.checks), lo+measureChunk)]
		m := len(part)
		b.newLab, b.best, b.second = algo.Grow(b.newLab, m), algo.Grow(b.best, m), algo.Grow(b.second, m)
		if err := b.sa.AssignSubset(ctx, b.r.DS, part, ex, e, b.newLab[:m], b.best[:m], b.second[:m]); err != nil {
			return err
		}
		for p, i := range part {
			near := b.best[p]
			if order[b.newLab[p]] == int(b.lab[i]) {
				near = b.second[p] // the row's own centre is excluded: the next one
			}
			// Widened as the bounds from a full measurement are.
			x := math.Sqrt(float64(near)) + math.Sqrt(cnMax)
			tol := algo.BoundTol * (x*x + cnMax)
			l := algo.Down32(math.Sqrt(math.Max(0, float64(near)-tol)))
			if b.upper[i] <= l {
				b.lower[i] = min(b.lower[i], l)
			} else {
				b.rows = append(b.rows, i)
			}
		}
	}
	slices.Sort(b.rows)
	return nil
}

// excludedCounts counts the bounds updates by the index in excludedChoices
// of the number of excluded centres, for tests.
var excludedCounts [8]atomic.Int64

// tightenChunk is the number of rows per task of tighten.
const tightenChunk = 4096

// tighten is Hamerly's second test, for every row in state "tighten"
// (listed in b.rows): the upper bound becomes the exact distance to the
// row's centre (one row against one centre, d operations instead of k·d);
// the row is then kept when it is within half the distance to the centre's
// nearest other centre, goes to the check against the excluded centres
// (checking) or is kept (not checking) when within its lower bound, and
// stays in state "tighten" (to be measured) otherwise.
func (b *boundedAssigner) tighten(centers []float32, half []float64, checking bool) {
	rows, d, state := b.rows, b.d, b.state
	parallel.Chunks(context.Background(), 0, len(rows), tightenChunk, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			i := rows[p]
			a := int(b.lab[i])
			// float64 differences: exact to far below algo.BoundTol, so
			// the widened bound stays an upper bound.
			u := math.Sqrt(sqdist.Exact(b.r.In.X[int(i)*d:(int(i)+1)*d], centers[a*d:(a+1)*d])) * (1 + algo.BoundTol)
			b.upper[i] = min(b.upper[i], algo.Up32(u))
			switch {
			case float64(b.upper[i]) <= half[a]:
				state[i] = keep
			case b.upper[i] <= b.lower[i] && checking:
				state[i] = check
			case b.upper[i] <= b.lower[i]:
				state[i] = keep
			}
		}
	})
}

// halfNearest returns, per centre, half the distance to its nearest other
// centre, shrunk by the distance tolerance.
func (b *boundedAssigner) halfNearest(ctx context.Context, centers []float32, cnMax float64) ([]float64, error) {
	ds, err := b.r.Backend.Upload(centers, b.k, b.d)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	d2 := make([]float32, b.k*b.k)
	if err := b.r.Backend.Distances(ctx, ds, centers, b.k, d2); err != nil {
		return nil, err
	}
	half := make([]float64, b.k)
	tol := algo.BoundTol * 2 * cnMax
	for j := range half {
		m := math.Inf(1)
		for j2, e := range d2[j*b.k : (j+1)*b.k] {
			if j2 != j {
				m = math.Min(m, float64(e))
			}
		}
		half[j] = 0.5 * math.Sqrt(math.Max(0, m-tol))
	}
	return half, nil
}

func (b *boundedAssigner) labels() []int32 { return b.lab }

func (b *boundedAssigner) inertia() float64 {
	var s float64
	for _, u := range b.upper {
		s += float64(u) * float64(u)
	}
	return s
}

// ExcludedCounts is how often, since the process started, the bounds
// update chose each number of excluded centres (tests check that the
// choice is exercised).
func ExcludedCounts() map[int]int {
	out := map[int]int{}
	for i, e := range excludedChoices {
		if c := excludedCounts[i].Load(); c > 0 {
			out[e] = int(c)
		}
	}
	return out
}
