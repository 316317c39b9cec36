package gpu

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/clusterd/clusterd/kernels"
)

// Chunking: calls whose device working set grows with n² or n·k process
// the rows in chunks, sized so that the chunk's buffers take at most
// budget(free) bytes and one launch does at most about workPerLaunch
// multiply-adds (≈ 10 ms on an H100), which bounds how long a cancellation
// waits.
const (
	// reserveBytes is kept free for the driver, the JIT and other
	// allocations of the same call.
	reserveBytes = 256 << 20
	// workPerLaunch bounds the multiply-adds of one chunk's launch.
	workPerLaunch = 1 << 38
)

// budget is how much of free device memory one call's chunk buffers may
// take: 80 %, less a reserve.
func budget(free int64) int64 { return max(0, free/5*4-reserveBytes) }

// chunkRows returns how many of n rows one chunk may hold when a row needs
// bytesPerRow of device memory and workPerRow multiply-adds: at least one
// (or an error wrapping kernels.ErrUnsupported when even one row does not
// fit), at most n and at most maxRows, and, unless it is all n rows,
// rounded down to a multiple of align when that leaves at least align.
func chunkRows(n int, bytesPerRow, workPerRow int64, free int64, maxRows, align int) (int, error) {
	room := budget(free)
	if bytesPerRow > room {
		return 0, fmt.Errorf("%w: one row needs %d B of device memory; %d B are free, of which a call may use %d B (80%% less a %d MiB reserve)",
			kernels.ErrUnsupported, bytesPerRow, free, room, reserveBytes>>20)
	}
	rows := room / bytesPerRow
	r := int(min(rows, max(1, workPerLaunch/max(1, workPerRow)), int64(n), int64(maxRows)))
	if r == n || r < align {
		return r, nil
	}
	return r - r%align, nil
}

// knnChunkRows sizes a KNN chunk: a row needs its n distances (float32)
// and its k selected neighbours (int32 + float32).
func knnChunkRows(n, k, d int, free int64) (int, error) {
	return chunkRows(n, 4*int64(n)+8*int64(k), int64(n)*int64(d), free, maxGridYZ*tileM, tileM)
}

// distChunkRows sizes a Distances chunk: a row needs its m distances.
func distChunkRows(n, m, d int, free int64) (int, error) {
	return chunkRows(n, 4*int64(m), int64(m)*int64(d), free, maxGridYZ*tileM, tileM)
}

// cdsChunkRows sizes a ClusterDistanceSums chunk: a row needs its k float64
// sums and is measured against the nl labelled rows.
func cdsChunkRows(n, nl, k, d int, free int64) (int, error) {
	return chunkRows(n, 8*int64(k), int64(nl)*int64(d), free, maxGridX, cdsTile)
}

// sumPlan is the host's half of SumByLabel's segmented reduction: the
// labelled rows grouped by label and cut into pieces of at most sumChunk
// rows of one label each. The device sums every piece (sum_partial), then
// every cluster's pieces in order (sum_combine); the plan depends only on
// the labels, so the additions happen in the same order on every run.
type sumPlan struct {
	counts []int64 // rows per cluster
	order  []int32 // labelled rows, grouped by label
	pieces []int32 // piece p is order[pieces[p]:pieces[p+1]]
	first  []int32 // cluster l's pieces are first[l] … first[l+1]−1
}

// planSums builds the sumPlan of labels for k clusters; every label is < k
// (kernels.CheckSumByLabel).
func planSums(labels []int32, k int) sumPlan {
	order, start := kernels.GroupByLabel(labels, k)
	p := sumPlan{counts: make([]int64, k), order: order, first: make([]int32, k+1)}
	p.pieces = make([]int32, 0, len(order)/sumChunk+k+1)
	for l := range k {
		p.counts[l] = int64(start[l+1] - start[l])
		p.first[l] = int32(len(p.pieces))
		for s := start[l]; s < start[l+1]; s += sumChunk {
			p.pieces = append(p.pieces, s)
		}
	}
	p.first[k] = int32(len(p.pieces))
	p.pieces = append(p.pieces, int32(len(order)))
	return p
}

// numPieces is the number of pieces of the plan.
func (p sumPlan) numPieces() int { return len(p.pieces) - 1 }

// Values of assign_tf32's per-row flags (gpu/cuda/assign_tc.cu).
const (
	tieNone = 0 // the tf32 best is the nearest centroid
	tiePair = 1 // the nearest is one of the two tf32 best; label_dist decides
	tieFull = 2 // more candidates are near: the fp32 kernel re-assigns the row
)

// countFlags counts the rows flagged tiePair and tieFull.
func countFlags(flags []byte) (pairs, full int) {
	for _, f := range flags {
		switch f {
		case tiePair:
			pairs++
		case tieFull:
			full++
		}
	}
	return pairs, full
}

// flaggedRows lists the rows whose flag is v, in ascending order.
func flaggedRows(flags []byte, v byte) []int32 {
	var rows []int32
	for i, f := range flags {
		if f == v {
			rows = append(rows, int32(i))
		}
	}
	return rows
}

// roundTF32 rounds v to tf32 as assign_tf32's __float_to_tf32
// (cvt.rna.tf32.f32) does: to nearest with 10 mantissa bits, ties away
// from zero; infinities and NaNs are kept.
func roundTF32(v float32) float32 {
	b := math.Float32bits(v)
	if b&0x7f800000 == 0x7f800000 {
		return v
	}
	return math.Float32frombits((b + 0x1000) &^ 0x1fff)
}

// tf32Norms returns what assign_tf32 needs of the k centroids c (k×d):
// the squared norms of the centroids rounded to tf32, ‖c̃_j‖², summed in
// float64 and rounded to float32, and max_j ‖c̃_j‖ rounded up (see
// tf32_gap in gpu/cuda/assign_tc.cu).
func tf32Norms(c []float32, k, d int) (norms []float32, cmax float32) {
	norms = make([]float32, k)
	var m float64
	for j := range k {
		var s float64
		for _, v := range c[j*d : (j+1)*d] {
			r := float64(roundTF32(v))
			s += r * r
		}
		norms[j] = float32(s)
		m = max(m, s)
	}
	m = math.Sqrt(m)
	cmax = float32(m)
	if float64(cmax) < m {
		cmax = math.Nextafter32(cmax, float32(math.Inf(1)))
	}
	return norms, cmax
}

// sortNeighbours orders each of the n rows of k neighbours (idx, dist) by
// distance, then index: the host's half of KNN for k > KNNSortMax, where
// the device selects and measures but does not sort.
func sortNeighbours(idx []int32, dist []float32, n, k int) {
	type nb struct {
		d float32
		i int32
	}
	row := make([]nb, k)
	for r := range n {
		for q := range k {
			row[q] = nb{dist[r*k+q], idx[r*k+q]}
		}
		slices.SortFunc(row, func(a, b nb) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for q, e := range row {
			dist[r*k+q], idx[r*k+q] = e.d, e.i
		}
	}
}
