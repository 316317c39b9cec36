// Package meanshift is mean shift clustering with a flat kernel, as
// scikit-learn 1.2.1's MeanShift and estimate_bandwidth compute it.
//
// Every seed (every point, the occupied cells of a grid with bin_seeding,
// or the given seeds) moves to the mean of the points within bandwidth of
// it until it moves less than 1e-3·bandwidth or has moved max_iter times.
// The end points, each with the number of points that were within reach
// (its intensity), are sorted by intensity and then by coordinates, both
// descending; walking that order, a centre removes the later ones within
// bandwidth of it. Every point takes its nearest centre (with cluster_all
// false, only within bandwidth; −1 otherwise). Ties and orders are
// scikit-learn's, so the centres and labels are its.
//
// Neighbourhoods come from a k-d tree (exact float64) up to TreeDimLimit
// dimensions, and otherwise from blocks of Backend.Distances rechecked in
// float64 near the bandwidth, so the GPU serves them too. All seeds move
// together, in parallel.
package meanshift

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/engine/internal/kdtree"
	pool "github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/kernels"
)

// TreeDimLimit is the largest dimension whose neighbourhoods come from the
// k-d tree (as in package dbscan).
const TreeDimLimit = 32

// Params are scikit-learn's MeanShift parameters of the same names.
type Params struct {
	// Bandwidth > 0, or 0 to estimate it with Quantile.
	Bandwidth float64
	// Quantile in (0, 1] for estimate_bandwidth (default 0.3).
	Quantile float64
	// Seeds are m×d starting points (row-major), or nil.
	Seeds      []float64
	BinSeeding bool
	MinBinFreq int // ≥ 1
	ClusterAll bool
	MaxIter    int // ≥ 1 (scikit-learn allows 0 too)
}

// DefaultParams returns scikit-learn's defaults.
func DefaultParams() Params {
	return Params{Quantile: 0.3, MinBinFreq: 1, ClusterAll: true, MaxIter: 300}
}

// ErrParams is wrapped by errors for invalid Params.
var ErrParams = errors.New("meanshift: invalid parameters")

// ErrNoCentre is wrapped when no seed has a point within bandwidth.
var ErrNoCentre = errors.New("meanshift: no point within bandwidth of any seed")

// Result is a clustering.
type Result struct {
	Labels      []int32 // cluster in [0, NumClusters) or −1 (cluster_all false)
	NumClusters int
	Centers     []float64 // NumClusters×d, in scikit-learn's order
	Bandwidth   float64   // the bandwidth used (given or estimated)
	Iterations  int       // scikit-learn's n_iter_: the most shifts of a seed
	Seeds       int       // seeds started
}

// Fit clusters x, the n×d data uploaded to be as ds.
func Fit(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*Result, error) {
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	switch {
	case p.Bandwidth < 0 || math.IsNaN(p.Bandwidth) || math.IsInf(p.Bandwidth, 0):
		return nil, fmt.Errorf("%w: bandwidth %g", ErrParams, p.Bandwidth)
	case p.Bandwidth == 0 && !(p.Quantile > 0 && p.Quantile <= 1):
		return nil, fmt.Errorf("%w: quantile %g, need (0, 1]", ErrParams, p.Quantile)
	case p.MinBinFreq < 1 || p.MaxIter < 0:
		return nil, fmt.Errorf("%w: min_bin_freq %d, max_iter %d", ErrParams, p.MinBinFreq, p.MaxIter)
	case len(p.Seeds)%d != 0:
		return nil, fmt.Errorf("%w: seeds are not %d-dimensional", ErrParams, d)
	}
	bw := p.Bandwidth
	if bw == 0 {
		var err error
		if bw, err = EstimateBandwidth(ctx, be, ds, x, p.Quantile); err != nil {
			return nil, err
		}
	}
	s, err := newSearcher(be, ds, x, bw)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var seeds []float64
	switch {
	case p.Seeds != nil:
		seeds = p.Seeds
	case p.BinSeeding:
		seeds = binSeeds(x, n, d, bw, p.MinBinFreq)
	}
	if seeds == nil {
		seeds = make([]float64, n*d)
		for i, v := range x {
			seeds[i] = float64(v)
		}
	}
	m := len(seeds) / d
	ends, counts, iters, err := s.shiftAll(ctx, seeds, m, p.MaxIter)
	if err != nil {
		return nil, err
	}
	res := &Result{Bandwidth: bw, Seeds: m}
	for _, it := range iters {
		res.Iterations = max(res.Iterations, it)
	}
	centres := uniqueCentres(ends, counts, d)
	if len(centres) == 0 {
		return nil, fmt.Errorf("%w: bandwidth %g; try a larger bandwidth or other seeds", ErrNoCentre, bw)
	}
	kept, err := s.dedup(ctx, centres, d)
	if err != nil {
		return nil, err
	}
	res.NumClusters = len(kept) / d
	res.Centers = kept
	res.Labels, err = s.label(ctx, kept, p.ClusterAll)
	return res, err
}

// centre is one seed's end point with its intensity.
type centre struct {
	at    []float64
	count int
}

// uniqueCentres keeps the end points of the seeds that had neighbours, one
// per distinct point (scikit-learn's dictionary keyed by the point, where a
// later seed's intensity replaces an earlier one's), sorted by (intensity,
// coordinates) descending.
func uniqueCentres(ends []float64, counts []int, d int) []centre {
	var out []centre
	for i, c := range counts {
		if c > 0 {
			out = append(out, centre{at: ends[i*d : (i+1)*d], count: c})
		}
	}
	// Stable sort by coordinates (ascending), then fold equal points keeping
	// the last seed's intensity.
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return slices.Compare(out[order[a]].at, out[order[b]].at) < 0 })
	var uniq []centre
	for q := 0; q < len(order); {
		r := q
		last := order[q]
		for r < len(order) && slices.Equal(out[order[r]].at, out[order[q]].at) {
			last = max(last, order[r])
			r++
		}
		uniq = append(uniq, out[last])
		q = r
	}
	sort.SliceStable(uniq, func(a, b int) bool {
		if uniq[a].count != uniq[b].count {
			return uniq[a].count > uniq[b].count
		}
		return slices.Compare(uniq[a].at, uniq[b].at) > 0
	})
	return uniq
}

// binSeeds is scikit-learn's get_bin_seeds: every point's cell
// round(x/bandwidth) (half to even), cells in order of first occurrence,
// those with at least minFreq points, as float32 cell·bandwidth (numpy
// multiplies its float32 array by the bandwidth in float32). When every
// point has its own cell, nil (the points themselves are the seeds).
func binSeeds(x []float32, n, d int, bw float64, minFreq int) []float64 {
	type cell struct {
		first, count int
	}
	cells := map[string]*cell{}
	var order []string
	key := make([]float64, d)
	buf := make([]byte, 0, 8*d)
	keys := make([][]float64, 0)
	for i := 0; i < n; i++ {
		buf = buf[:0]
		for t := 0; t < d; t++ {
			key[t] = math.RoundToEven(float64(x[i*d+t]) / bw)
			b := math.Float64bits(key[t] + 0) // +0 folds −0 into 0, as Python's tuple equality does
			buf = append(buf, byte(b), byte(b>>8), byte(b>>16), byte(b>>24), byte(b>>32), byte(b>>40), byte(b>>48), byte(b>>56))
		}
		k := string(buf)
		if c, ok := cells[k]; ok {
			c.count++
			continue
		}
		cells[k] = &cell{first: len(order), count: 1}
		order = append(order, k)
		keys = append(keys, slices.Clone(key))
	}
	var seeds []float64
	kept := 0
	for j, k := range order {
		if cells[k].count < minFreq {
			continue
		}
		kept++
		for _, v := range keys[j] {
			seeds = append(seeds, float64(float32(v)*float32(bw)))
		}
	}
	if kept == n {
		return nil
	}
	if kept == 0 {
		return []float64{}
	}
	return seeds
}

// searcher finds the points within bandwidth of arbitrary float64 points.
type searcher struct {
	be    kernels.Backend
	ds    kernels.Dataset
	x     []float32
	n, d  int
	bw    float64
	r2    float64
	tree  *kdtree.Tree
	norms []float64
}

func newSearcher(be kernels.Backend, ds kernels.Dataset, x []float32, bw float64) (*searcher, error) {
	n, d := ds.Rows(), ds.Dim()
	s := &searcher{be: be, ds: ds, x: x, n: n, d: d, bw: bw, r2: bw * bw}
	if d <= TreeDimLimit {
		x64 := make([]float64, len(x))
		for i, v := range x {
			x64[i] = float64(v)
		}
		t, err := kdtree.Build(x64, n, d, kdtree.DefaultLeafSize)
		if err != nil {
			return nil, err
		}
		s.tree = t
	} else {
		s.norms = dense.RowNorms(x, n, d)
	}
	return s, nil
}

func (s *searcher) close() {}

// sqDist is ‖x_i − c‖² in float64, summed in feature order.
func (s *searcher) sqDist(i int, c []float64) float64 {
	row := s.x[i*s.d : (i+1)*s.d]
	var sum float64
	for t, v := range row {
		e := float64(v) - c[t]
		sum += e * e
	}
	return sum
}

// block is how many seeds one backend Distances call serves.
func (s *searcher) block() int { return max(1, min(256, (1<<22)/max(s.n, 1))) }

// means writes, for each of the m points c (m×d), the mean of the data
// points within bandwidth into out (m×d) and their number into counts.
// Only points with active[j] are served (active nil: all).
func (s *searcher) means(ctx context.Context, c []float64, m int, active []bool, out []float64, counts []int) error {
	d := s.d
	todo := make([]int, 0, m)
	for j := 0; j < m; j++ {
		if active == nil || active[j] {
			todo = append(todo, j)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if s.tree != nil {
		return parallel(ctx, len(todo), workers, func(lo, hi int) {
			var idx []int32
			for _, j := range todo[lo:hi] {
				idx = s.tree.AppendRadius(idx[:0], c[j*d:(j+1)*d], s.r2)
				slices.Sort(idx)
				s.average(idx, out[j*d:(j+1)*d], &counts[j])
			}
		})
	}
	bs := s.block()
	y := make([]float32, bs*d)
	dist := make([]float32, s.n*bs)
	for lo := 0; lo < len(todo); lo += bs {
		blk := todo[lo:min(len(todo), lo+bs)]
		var ynorm [256]float64
		for q, j := range blk {
			for t := 0; t < d; t++ {
				y[q*d+t] = float32(c[j*d+t])
				ynorm[q] += c[j*d+t] * c[j*d+t]
			}
		}
		mm := len(blk)
		if err := s.be.Distances(ctx, s.ds, y[:mm*d], mm, dist[:s.n*mm]); err != nil {
			return err
		}
		err := parallel(ctx, mm, workers, func(qlo, qhi int) {
			var idx []int32
			for q := qlo; q < qhi; q++ {
				j := blk[q]
				idx = idx[:0]
				cj := c[j*d : (j+1)*d]
				for i := 0; i < s.n; i++ {
					if float64(dist[i*mm+q]) <= s.r2+dense.ScreenTol*(s.norms[i]+ynorm[q]) && s.sqDist(i, cj) <= s.r2 {
						idx = append(idx, int32(i))
					}
				}
				s.average(idx, out[j*d:(j+1)*d], &counts[j])
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// average writes the mean of the rows idx (ascending) into out and their
// number into count; with no rows, out is left alone.
func (s *searcher) average(idx []int32, out []float64, count *int) {
	*count = len(idx)
	if len(idx) == 0 {
		return
	}
	d := s.d
	clear(out)
	for _, i := range idx {
		for t, v := range s.x[int(i)*d : (int(i)+1)*d] {
			out[t] += float64(v)
		}
	}
	for t := range out {
		out[t] /= float64(len(idx))
	}
}

// shiftAll moves every seed (m×d) as _mean_shift_single_seed does and
// returns the end points, the number of points within bandwidth at the
// end (0: the seed had none and is dropped) and the completed iterations.
func (s *searcher) shiftAll(ctx context.Context, seeds []float64, m, maxIter int) ([]float64, []int, []int, error) {
	d := s.d
	cur := slices.Clone(seeds)
	next := make([]float64, len(seeds))
	counts := make([]int, m)
	iters := make([]int, m)
	active := make([]bool, m)
	for j := range active {
		active[j] = true
	}
	stop := 1e-3 * s.bw
	for left := m; left > 0; {
		if err := s.means(ctx, cur, m, active, next, counts); err != nil {
			return nil, nil, nil, err
		}
		for j := 0; j < m; j++ {
			if !active[j] {
				continue
			}
			if counts[j] == 0 { // nothing near: the seed ends where it is
				active[j] = false
				left--
				continue
			}
			var shift float64
			for t := 0; t < d; t++ {
				e := next[j*d+t] - cur[j*d+t]
				shift += e * e
				cur[j*d+t] = next[j*d+t]
			}
			if math.Sqrt(shift) < stop || iters[j] == maxIter {
				active[j] = false
				left--
				continue
			}
			iters[j]++
		}
	}
	return cur, counts, iters, nil
}

// dedup walks the centres in order and keeps each one that no earlier
// kept centre has within bandwidth (scikit-learn marks a kept centre's
// neighbours removed, which is the same walk). It returns the kept
// centres, k×d.
func (s *searcher) dedup(ctx context.Context, cs []centre, d int) ([]float64, error) {
	removed := make([]bool, len(cs))
	var kept []float64
	for i := range cs {
		if removed[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		kept = append(kept, cs[i].at...)
		a := cs[i].at
		for j := i + 1; j < len(cs); j++ {
			if removed[j] {
				continue
			}
			var e float64
			for t, v := range cs[j].at {
				w := v - a[t]
				e += w * w
			}
			if e <= s.r2 {
				removed[j] = true
			}
		}
	}
	return kept, nil
}

// label gives every point its nearest centre (lowest index on an exact
// tie), and with clusterAll false −1 when that centre is farther than the
// bandwidth. The backend's distances screen; candidates within its
// tolerance of the best are decided in float64.
func (s *searcher) label(ctx context.Context, centres []float64, clusterAll bool) ([]int32, error) {
	n, d := s.n, s.d
	k := len(centres) / d
	c32 := make([]float32, len(centres))
	cn := make([]float64, k)
	for j := 0; j < k; j++ {
		for t := 0; t < d; t++ {
			v := centres[j*d+t]
			c32[j*d+t] = float32(v)
			cn[j] += v * v
		}
	}
	norms := s.norms
	if norms == nil {
		norms = dense.RowNorms(s.x, n, d)
	}
	labels := make([]int32, n)
	const chunk = 4096
	dist := make([]float32, min(n, chunk)*k)
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		part, err := s.be.Upload(s.x[lo*d:hi*d], hi-lo, d)
		if err != nil {
			return nil, err
		}
		err = s.be.Distances(ctx, part, c32, k, dist[:(hi-lo)*k])
		part.Close()
		if err != nil {
			return nil, err
		}
		err = parallel(ctx, hi-lo, runtime.GOMAXPROCS(0), func(a, b int) {
			for r := a; r < b; r++ {
				i := lo + r
				row := dist[r*k : (r+1)*k]
				best := float32(math.Inf(1))
				for _, v := range row {
					best = min(best, v)
				}
				bl, be := -1, math.Inf(1)
				for j, v := range row {
					if float64(v)-float64(best) > 2*dense.ScreenTol*(norms[i]+cn[j]) {
						continue
					}
					if e := s.sqDist(i, centres[j*d:(j+1)*d]); e < be {
						bl, be = j, e
					}
				}
				labels[i] = int32(bl)
				if !clusterAll && math.Sqrt(be) > s.bw {
					labels[i] = -1
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return labels, nil
}

// parallel runs fn over [0, n) split into contiguous chunks on workers
// goroutines.
func parallel(ctx context.Context, n, workers int, fn func(lo, hi int)) error {
	if n == 0 {
		return ctx.Err()
	}
	return pool.Chunks(ctx, workers, n, 16, fn)
}
