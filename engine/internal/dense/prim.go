package dense

import (
	"context"
	"math"

	"github.com/clusterd/clusterd/kernels"
)

// PrimStep is one step of Prim's algorithm: Node joined the tree at
// distance Dist from Source, a point already in it.
type PrimStep struct {
	Node, Source int32
	Dist         float64
}

// Prim grows a minimum spanning tree of the complete graph on the n rows of
// x (uploaded as ds) whose edge weights are the mutual-reachability
// distances max(core_i, core_j, ‖x_i − x_j‖/alpha); with core nil and alpha
// 1 they are plain Euclidean distances. It is the loop of hdbscan's
// mst_linkage_core_vector and of scikit-learn's mst_linkage_core, with their
// tie-breaking: it starts at row 0, keeps each outside point's current
// distance (lowered only by a strictly smaller one, remembering the point
// that gave it), and adds the outside point with the smallest current
// distance, the lowest index among equals. It returns the n−1 steps in order.
//
// Each step asks the backend for the squared distances from the newest
// point to the outside points whose current distance could still drop (a
// point's current distance never falls below its core distance): through
// kernels.SubsetAssigner with one centroid when the backend has it, else
// with Backend.Distances to all rows. Those float32 values only screen:
// wherever a current distance could drop, the float64 distance is computed
// and decides.
func Prim(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, core []float64, alpha float64) ([]PrimStep, error) {
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	if core == nil {
		core = make([]float64, n)
	}
	subset, _ := be.(kernels.SubsetAssigner)
	norms := RowNorms(x, n, d)
	cur := make([]float64, n)
	src := make([]int32, n)
	for j := range cur {
		cur[j] = math.Inf(1)
	}
	// outside lists the points not in the tree, in no particular order;
	// rows are those of them whose current distance can still drop.
	outside := make([]int32, 0, n)
	for j := 1; j < n; j++ {
		outside = append(outside, int32(j))
	}
	var (
		approx = make([]float32, n) // by row, or by position in rows
		rows   []int32
		lab    []int32
		second []float32
		steps  = make([]PrimStep, 0, max(n-1, 0))
		node   = 0
	)
	for len(steps) < n-1 {
		xc := x[node*d : (node+1)*d]
		cc := core[node]
		rows = rows[:0]
		for _, j := range outside {
			if cc < cur[j] && core[j] < cur[j] {
				rows = append(rows, j)
			}
		}
		if subset != nil {
			if cap(lab) < len(rows) {
				lab, second = make([]int32, len(rows)), make([]float32, len(rows))
			}
			lab, second = lab[:len(rows)], second[:len(rows)]
			if len(rows) > 0 {
				if err := subset.AssignSubset(ctx, ds, rows, xc, 1, lab, approx[:len(rows)], second); err != nil {
					return nil, err
				}
			}
			for q, j := range rows {
				relax(int(j), node, x, d, norms, core, alpha, cur, src, approx[q])
			}
		} else {
			if err := be.Distances(ctx, ds, xc, 1, approx); err != nil {
				return nil, err
			}
			for _, j := range rows {
				relax(int(j), node, x, d, norms, core, alpha, cur, src, approx[j])
			}
		}
		best, at := math.MaxFloat64, 0
		for q, j := range outside {
			if v := cur[j]; v < best || (v == best && j < outside[at]) {
				best, at = v, q
			}
		}
		next := outside[at]
		outside[at] = outside[len(outside)-1]
		outside = outside[:len(outside)-1]
		steps = append(steps, PrimStep{Node: next, Source: src[next], Dist: best})
		node = int(next)
	}
	return steps, nil
}

// relax lowers outside point j's current distance through the tree point
// node if the exact mutual-reachability distance is strictly smaller; approx
// is the backend's squared distance between them, used to skip the exact
// computation when it cannot be smaller.
func relax(j, node int, x []float32, d int, norms, core []float64, alpha float64, cur []float64, src []int32, approx float32) {
	lim := cur[j] * alpha
	if float64(approx)-ScreenTol*(norms[j]+norms[node]) > lim*lim {
		return
	}
	left := math.Sqrt(SqDist(x[node*d:(node+1)*d], x[j*d:(j+1)*d]))
	if alpha != 1 {
		left /= alpha
	}
	if left = max(left, core[node], core[j]); left < cur[j] {
		cur[j], src[j] = left, int32(node)
	}
}
