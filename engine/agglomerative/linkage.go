package agglomerative

import (
	"context"
	"math"
	"slices"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/internal/parallel"
)

// condensed is the index of pair (i, j), i ≠ j, in SciPy's condensed
// distance matrix of n points.
func condensed(n, i, j int) int {
	if i > j {
		i, j = j, i
	}
	return n*i - i*(i+1)/2 + j - i - 1
}

// pdist is SciPy's pdist(x, metric) on the float64 conversion of x: for
// Euclidean √Σ(x_t − y_t)², for cosine 1 − x·y/(‖x‖‖y‖) clipped to [0, 2]
// (1 where either is a zero vector, scikit-learn's rule; SciPy's NaN would
// make its linkage refuse the matrix),
// sums in feature order. Rows are spread over all cores.
func pdist(ctx context.Context, x []float32, n, d int, metric string) ([]float64, error) {
	var norms []float64
	if metric == Cosine {
		norms = dense.RowNorms(x, n, d)
		for i, v := range norms {
			norms[i] = math.Sqrt(v)
		}
	}
	out := make([]float64, n*(n-1)/2)
	err := parallel.For(ctx, 0, n-1, func(i int) {
		xi := x[i*d : (i+1)*d]
		row := out[condensed(n, i, i+1) : condensed(n, i, i+1)+n-i-1]
		xj := func(j int) []float32 { return x[j*d : (j+1)*d] }
		j := i + 1
		if norms == nil {
			for ; j+4 <= n; j += 4 {
				s0, s1, s2, s3 := dense.SqDist4(xi, xj(j), xj(j+1), xj(j+2), xj(j+3))
				row[j-i-1], row[j-i], row[j-i+1], row[j-i+2] = math.Sqrt(s0), math.Sqrt(s1), math.Sqrt(s2), math.Sqrt(s3)
			}
			for ; j < n; j++ {
				row[j-i-1] = math.Sqrt(dense.SqDist(xi, xj(j)))
			}
			return
		}
		cosine := func(j int, dot float64) float64 {
			if norms[i] == 0 || norms[j] == 0 {
				return 1 // scikit-learn's cosine_distances: a zero vector has similarity 0
			}
			c := dot / (norms[i] * norms[j])
			if math.Abs(c) > 1 {
				c = math.Copysign(1, c)
			}
			return 1 - c
		}
		for ; j+4 <= n; j += 4 {
			s0, s1, s2, s3 := dense.Dot4(xi, xj(j), xj(j+1), xj(j+2), xj(j+3))
			row[j-i-1], row[j-i], row[j-i+1], row[j-i+2] = cosine(j, s0), cosine(j+1, s1), cosine(j+2, s2), cosine(j+3, s3)
		}
		for ; j < n; j++ {
			row[j-i-1] = cosine(j, dense.Dot(xi, xj(j)))
		}
	})
	return out, err
}

// scipySingle is SciPy's mst_single_linkage: Prim on the condensed matrix
// from point 0, recording (previous point, new point, distance), then the
// stable sort and relabel.
func scipySingle(dist []float64, n int) []Merge {
	merged := make([]bool, n)
	cur := make([]float64, n)
	for i := range cur {
		cur[i] = math.Inf(1)
	}
	rows := make([]Merge, n-1)
	x := 0
	for k := range rows {
		best, y := math.Inf(1), 0
		merged[x] = true
		for i := 0; i < n; i++ {
			if merged[i] {
				continue
			}
			if v := dist[condensed(n, x, i)]; cur[i] > v {
				cur[i] = v
			}
			if cur[i] < best {
				best, y = cur[i], i
			}
		}
		rows[k] = Merge{Left: int32(x), Right: int32(y), Dist: best}
		x = y
	}
	sortMerges(rows)
	relabel(rows, n)
	return rows
}

// nnChain is SciPy's nearest-neighbour-chain linkage for complete, average
// and ward: follow nearest neighbours (preferring the chain's previous
// element on ties) until two clusters are each other's nearest, merge them
// into the slot of the higher index with the Lance–Williams update, repeat;
// then sort the merges stably by distance and relabel. dist is overwritten.
func nnChain(ctx context.Context, dist []float64, n int, linkage string) ([]Merge, error) {
	update := map[string]func(dxi, dyi, dxy float64, sx, sy, si int) float64{
		Complete: func(dxi, dyi, _ float64, _, _, _ int) float64 { return max(dxi, dyi) },
		Average: func(dxi, dyi, _ float64, sx, sy, _ int) float64 {
			return (float64(float64(sx)*dxi) + float64(float64(sy)*dyi)) / float64(sx+sy)
		},
		Ward: func(dxi, dyi, dxy float64, sx, sy, si int) float64 {
			t := 1.0 / float64(sx+sy+si)
			return math.Sqrt(float64(float64(float64(float64(si+sx)*t)*dxi)*dxi) +
				float64(float64(float64(float64(si+sy)*t)*dyi)*dyi) -
				float64(float64(float64(float64(si)*t)*dxy)*dxy))
		},
	}[linkage]
	// base[i] + j is the condensed index of (i, j) for i < j.
	base := make([]int, n)
	for i := range base {
		base[i] = n*i - i*(i+1)/2 - i - 1
	}
	at := func(i, j int) int {
		if i < j {
			return base[i] + j
		}
		return base[j] + i
	}
	size := make([]int, n)
	active := make([]int32, n) // the live clusters, ascending as SciPy scans them
	for i := range size {
		size[i] = 1
		active[i] = int32(i)
	}
	chain := make([]int, 0, n)
	rows := make([]Merge, n-1)
	for k := range rows {
		if k%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if len(chain) == 0 {
			chain = append(chain, int(active[0]))
		}
		var x, y int
		var best float64
		for {
			x = chain[len(chain)-1]
			best = math.Inf(1)
			if len(chain) > 1 {
				y = chain[len(chain)-2]
				best = dist[at(x, y)]
			}
			for _, i32 := range active {
				i := int(i32)
				if i == x {
					continue
				}
				if v := dist[at(x, i)]; v < best {
					best, y = v, i
				}
			}
			if len(chain) > 1 && y == chain[len(chain)-2] {
				break
			}
			chain = append(chain, y)
		}
		chain = chain[:len(chain)-2]
		if x > y {
			x, y = y, x
		}
		nx, ny := size[x], size[y]
		rows[k] = Merge{Left: int32(x), Right: int32(y), Dist: best}
		size[x], size[y] = 0, nx+ny
		pos, _ := slices.BinarySearch(active, int32(x))
		active = slices.Delete(active, pos, pos+1)
		for _, i32 := range active {
			i := int(i32)
			if i == y {
				continue
			}
			dyi := at(i, y)
			dist[dyi] = update(dist[at(i, x)], dist[dyi], best, nx, ny, size[i])
		}
	}
	sortMerges(rows)
	relabel(rows, n)
	return rows, nil
}
