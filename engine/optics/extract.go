package optics

import (
	"context"
	"math"

	pool "github.com/clusterd/clusterd/internal/parallel"
)

// ExtractDBSCAN is scikit-learn's cluster_optics_dbscan: walking the
// ordering, a point whose reachability exceeds eps starts a new cluster
// when its core distance is within eps and is noise otherwise.
func ExtractDBSCAN(reach, core []float64, ordering []int32, eps float64) []int32 {
	labels := make([]int32, len(reach))
	var count int32
	for _, i := range ordering {
		far, near := reach[i] > eps, core[i] <= eps
		if far && near {
			count++
		}
		labels[i] = count - 1
		if far && !near {
			labels[i] = -1
		}
	}
	return labels
}

// ExtractXi is scikit-learn's cluster_optics_xi with minClusterSize
// already resolved to a count: the labels and the clusters as [start, end]
// positions in ordering, in scikit-learn's order.
func ExtractXi(reach []float64, pred []int32, ordering []int32, minSamples, minClusterSize int, xi float64, correction bool) ([]int32, [][2]int) {
	n := len(ordering)
	rp := make([]float64, n+1)
	pp := make([]int32, n)
	for q, i := range ordering {
		rp[q], pp[q] = reach[i], pred[i]
	}
	rp[n] = math.Inf(1)
	clusters := xiCluster(rp, pp, ordering, xi, minSamples, minClusterSize, correction)
	return xiLabels(ordering, clusters), clusters
}

// sda is a steep down area.
type sda struct {
	start, end int
	mib        float64
}

// xiCluster is scikit-learn's _xi_cluster on the reachability plot r (with
// the final +Inf appended) and the predecessor plot.
func xiCluster(r []float64, pp []int32, ordering []int32, xi float64, minSamples, minClusterSize int, correction bool) [][2]int {
	n := len(r) - 1
	xic := 1 - xi
	steepUp := make([]bool, n)
	steepDown := make([]bool, n)
	down := make([]bool, n)
	up := make([]bool, n)
	var steep []int
	for i := 0; i < n; i++ {
		ratio := r[i] / r[i+1] // NaN for ∞/∞ and 0/0, as numpy's; comparisons with NaN are false
		steepUp[i] = ratio <= xic
		steepDown[i] = ratio >= 1/xic
		down[i] = ratio > 1
		up[i] = ratio < 1
		if steepUp[i] || steepDown[i] {
			steep = append(steep, i)
		}
	}
	var sdas []*sda
	var clusters [][2]int
	index := 0
	mib := 0.0
	for _, s := range steep {
		if s < index {
			continue
		}
		mib = pyMax(mib, maxOf(r[index:s+1]))
		if steepDown[s] {
			sdas = updateFilterSDAs(sdas, mib, xic, r)
			dEnd := extendRegion(steepDown, up, s, minSamples)
			sdas = append(sdas, &sda{start: s, end: dEnd})
			index = dEnd + 1
			mib = r[index]
			continue
		}
		sdas = updateFilterSDAs(sdas, mib, xic, r)
		uStart := s
		uEnd := extendRegion(steepUp, down, uStart, minSamples)
		index = uEnd + 1
		mib = r[index]
		var found [][2]int
		for _, D := range sdas {
			cStart, cEnd := D.start, uEnd
			if r[cEnd+1]*xic < D.mib {
				continue
			}
			dMax := r[D.start]
			if dMax*xic >= r[cEnd+1] {
				for r[cStart+1] > r[cEnd+1] && cStart < D.end {
					cStart++
				}
			} else if r[cEnd+1]*xic >= dMax {
				for at(r, cEnd-1) > dMax && cEnd > uStart {
					cEnd--
				}
			}
			if correction {
				var ok bool
				if cStart, cEnd, ok = correctPredecessor(r, pp, ordering, cStart, cEnd); !ok {
					continue
				}
			}
			if cEnd-cStart+1 < minClusterSize || cStart > D.end || cEnd < uStart {
				continue
			}
			found = append(found, [2]int{cStart, cEnd})
		}
		for a, b := 0, len(found)-1; a < b; a, b = a+1, b-1 {
			found[a], found[b] = found[b], found[a]
		}
		clusters = append(clusters, found...)
	}
	return clusters
}

// at indexes v as Python does: a negative index counts from the end.
func at[T any](v []T, i int) T {
	if i < 0 {
		i += len(v)
	}
	return v[i]
}

// pyMax is Python's max(a, b): b only when it is greater.
func pyMax(a, b float64) float64 {
	if b > a {
		return b
	}
	return a
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, e := range v {
		if e > m {
			m = e
		}
	}
	return m
}

func updateFilterSDAs(sdas []*sda, mib, xic float64, r []float64) []*sda {
	if math.IsInf(mib, 0) {
		return nil
	}
	var res []*sda
	for _, s := range sdas {
		if mib <= r[s.start]*xic {
			res = append(res, s)
		}
	}
	for _, s := range res {
		s.mib = pyMax(s.mib, mib)
	}
	return res
}

func extendRegion(steep, xward []bool, start, minSamples int) int {
	n := len(steep)
	nonXward := 0
	end := start
	for index := start; index < n; index++ {
		switch {
		case steep[index]:
			nonXward = 0
			end = index
		case !xward[index]:
			nonXward++
			if nonXward > minSamples {
				return end
			}
		default:
			return end
		}
	}
	return end
}

// correctPredecessor is scikit-learn's _correct_predecessor, which indexes
// the ordering by the predecessor's point index (−1 reading the last
// entry), exactly as written there.
func correctPredecessor(r []float64, pp []int32, ordering []int32, s, e int) (int, int, bool) {
	for s < e {
		if r[s] > r[e] {
			return s, e, true
		}
		pe := at(ordering, int(pp[e]))
		for i := s; i < e; i++ {
			if pe == ordering[i] {
				return s, e, true
			}
		}
		e--
	}
	return 0, 0, false
}

// xiLabels is scikit-learn's _extract_xi_labels.
func xiLabels(ordering []int32, clusters [][2]int) []int32 {
	n := len(ordering)
	byPos := make([]int32, n)
	for i := range byPos {
		byPos[i] = -1
	}
	var label int32
	for _, c := range clusters {
		free := true
		for q := c[0]; q <= c[1]; q++ {
			if byPos[q] != -1 {
				free = false
				break
			}
		}
		if free {
			for q := c[0]; q <= c[1]; q++ {
				byPos[q] = label
			}
			label++
		}
	}
	labels := make([]int32, n)
	for q, i := range ordering {
		labels[i] = byPos[q]
	}
	return labels
}

// parallel runs fn over [0, n) in chunks on every core.
func parallel(ctx context.Context, n int, fn func(lo, hi int)) error {
	return pool.Chunks(ctx, 0, n, 256, fn)
}
