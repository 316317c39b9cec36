package engine

import (
	"context"
	"math"

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

func newAssigner(r *run, k int) assigner {
	if sa, ok := r.be.(kernels.SubsetAssigner); ok && k > 1 {
		return newBounded(r, sa, k)
	}
	return &plainAssigner{r: r, k: k, lab: make([]int32, r.in.N), prev: make([]int32, r.in.N), dist: make([]float32, r.in.N), first: true}
}

// plainAssigner is Lloyd's assignment: all rows, all centres, every time.
type plainAssigner struct {
	r         *run
	k         int
	lab, prev []int32
	dist      []float32
	first     bool
}

func (p *plainAssigner) assign(ctx context.Context, centers []float32, _ []float64) ([]int32, int, error) {
	copy(p.prev, p.lab)
	if err := p.r.be.Assign(ctx, p.r.ds, centers, p.k, p.lab, p.dist); err != nil {
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
func (p *plainAssigner) inertia() float64 { return sum64(p.dist) }

// boundTol is the relative error, against ‖x‖² + ‖c‖², allowed for a
// squared distance from the backend (its contract's tolerance); bounds are
// widened by it so that rounding can never let a bound skip a row whose
// centre changed.
const boundTol = 1e-5

// boundedAssigner is Hamerly's accelerated assignment. Per row it keeps an
// upper bound u on the distance to its centre and a lower bound l on the
// distance to every other centre; per centre, s is half the distance to the
// nearest other centre. When centres move, u grows by its centre's move and
// l shrinks by the largest move of another centre. A row whose u is at most
// max(s, l) keeps its centre without being measured; the others are
// measured against every centre (SubsetAssigner) and get exact bounds.
type boundedAssigner struct {
	r            *run
	sa           kernels.SubsetAssigner
	k, d         int
	lab          []int32
	upper, lower []float64 // Euclidean distances
	first        bool
	rows, newLab []int32
	best, second []float32
}

func newBounded(r *run, sa kernels.SubsetAssigner, k int) *boundedAssigner {
	n := r.in.N
	return &boundedAssigner{r: r, sa: sa, k: k, d: r.in.D, lab: make([]int32, n), upper: make([]float64, n), lower: make([]float64, n), first: true}
}

func (b *boundedAssigner) assign(ctx context.Context, centers []float32, moved []float64) ([]int32, int, error) {
	n := len(b.lab)
	cn := make([]float64, b.k)
	cnMax := 0.0
	for j := range cn {
		cn[j] = sqNorm64(centers[j*b.d : (j+1)*b.d])
		cnMax = math.Max(cnMax, cn[j])
	}
	b.rows = b.rows[:0]
	if b.first {
		for i := 0; i < n; i++ {
			b.rows = append(b.rows, int32(i))
		}
	} else {
		half, err := b.halfNearest(ctx, centers, cnMax)
		if err != nil {
			return nil, 0, err
		}
		top, topJ, next := 0.0, -1, 0.0
		for j, m := range moved {
			if m > top {
				top, topJ, next = m, j, top
			} else if m > next {
				next = m
			}
		}
		for i := 0; i < n; i++ {
			a := b.lab[i]
			b.upper[i] += moved[a]
			if int(a) == topJ {
				b.lower[i] -= next
			} else {
				b.lower[i] -= top
			}
			if b.upper[i] > math.Max(half[a], b.lower[i]) {
				b.rows = append(b.rows, int32(i))
			}
		}
	}
	m := len(b.rows)
	var changed []int32
	if m > 0 {
		b.newLab, b.best, b.second = grow(b.newLab, m), growF(b.best, m), growF(b.second, m)
		if err := b.sa.AssignSubset(ctx, b.r.ds, b.rows, centers, b.k, b.newLab[:m], b.best[:m], b.second[:m]); err != nil {
			return nil, 0, err
		}
		for p, i := range b.rows {
			if b.first || b.newLab[p] != b.lab[i] {
				changed = append(changed, i)
			}
			b.lab[i] = b.newLab[p]
			// ‖x‖² ≤ (‖x − c‖ + ‖c‖)², so the backend's tolerance is bounded
			// without another pass over the data.
			e := math.Sqrt(float64(b.best[p])) + math.Sqrt(cnMax)
			tol := boundTol * (e*e + cnMax)
			b.upper[i] = math.Sqrt(float64(b.best[p]) + tol)
			b.lower[i] = math.Sqrt(math.Max(0, float64(b.second[p])-tol)) // +Inf stays +Inf (k = 1)
		}
	}
	b.first = false
	return changed, m, nil
}

// halfNearest returns, per centre, half the distance to its nearest other
// centre, shrunk by the distance tolerance.
func (b *boundedAssigner) halfNearest(ctx context.Context, centers []float32, cnMax float64) ([]float64, error) {
	ds, err := b.r.be.Upload(centers, b.k, b.d)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	d2 := make([]float32, b.k*b.k)
	if err := b.r.be.Distances(ctx, ds, centers, b.k, d2); err != nil {
		return nil, err
	}
	half := make([]float64, b.k)
	tol := boundTol * 2 * cnMax
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
		s += u * u
	}
	return s
}

func grow(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
