// Package quality computes clustering quality scores with scikit-learn's
// definitions: the silhouette coefficient (exact or on a seeded sample,
// blocked to bound memory), the Davies–Bouldin index and the
// Calinski–Harabasz score.
package quality

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/internal/sqdist"

	"github.com/clusterd/clusterd/kernels"
)

// Compute computes the silhouette coefficient, the Davies–Bouldin
// index and the Calinski–Harabasz score with scikit-learn's definitions,
// over the non-noise points. It returns nil when fewer than 2 clusters
// exist or every point is its own cluster (scikit-learn rejects both).
// means are the clusters' member means (k×d) and counts their sizes.
// The silhouette uses at most sampleLimit points (a seeded uniform sample;
// sampleLimit < 0 means all) and the second result is how many it used.
func Compute(ctx context.Context, be kernels.Backend, ds kernels.Dataset, in algo.Input, labels []int32, k int, means []float32, counts []int64, sampleLimit int, seed int64) (*Metrics, int, error) {
	rows := algo.LabelledRows(labels)
	if k < 2 || k >= len(rows) {
		return nil, 0, nil
	}
	db, ch, err := DaviesBouldinCalinski(ctx, be, ds, in, labels, k, means, counts)
	if err != nil {
		return nil, 0, err
	}
	if sampleLimit > 0 {
		rows = algo.SampleRows(rows, sampleLimit, seed)
	}
	sil, err := Silhouette(ctx, be, in, labels, rows)
	if err != nil {
		return nil, 0, err
	}
	return &Metrics{Silhouette: sil, DaviesBouldin: db, CalinskiHarabasz: ch}, len(rows), nil
}

// DaviesBouldinCalinski computes both scores from the member means and each
// point's exact distance to its cluster's mean.
func DaviesBouldinCalinski(ctx context.Context, be kernels.Backend, ds kernels.Dataset, in algo.Input, labels []int32, k int, means []float32, counts []int64) (db, ch float64, err error) {
	d := in.D
	dist := make([]float32, in.N)
	if err := be.LabelDistances(ctx, ds, means, k, labels, dist); err != nil {
		return 0, 0, err
	}
	intra := make([]float64, k) // mean distance to the centroid
	var intraDisp float64       // Σ squared distances to the centroids
	for i, l := range labels {
		if l >= 0 {
			intra[l] += math.Sqrt(float64(dist[i]))
			intraDisp += float64(dist[i])
		}
	}
	var total float64
	mean := make([]float64, d)
	for j := 0; j < k; j++ {
		intra[j] /= float64(counts[j])
		total += float64(counts[j])
		for t := 0; t < d; t++ {
			mean[t] += float64(means[j*d+t]) * float64(counts[j])
		}
	}
	for t := range mean {
		mean[t] /= total
	}
	var extraDisp float64
	for j := 0; j < k; j++ {
		var s float64
		for t := 0; t < d; t++ {
			e := float64(means[j*d+t]) - mean[t]
			s += e * e
		}
		extraDisp += float64(counts[j]) * s
	}
	if intraDisp == 0 {
		ch = 1
	} else {
		ch = extraDisp * (total - float64(k)) / (intraDisp * float64(k-1))
	}

	cdist := func(a, b int) float64 {
		return math.Sqrt(sqdist.Exact(means[a*d:(a+1)*d], means[b*d:(b+1)*d]))
	}
	allIntraZero, allCentroidZero := true, true
	for j := 0; j < k; j++ {
		if !closeToZero(intra[j]) {
			allIntraZero = false
		}
		for l := j + 1; l < k && allCentroidZero; l++ {
			if !closeToZero(cdist(j, l)) {
				allCentroidZero = false
			}
		}
	}
	if allIntraZero || allCentroidZero {
		return 0, ch, nil
	}
	// Each pair once: the distance and the ratio are the same both ways.
	worst := make([]float64, k)
	for j := 0; j < k; j++ {
		for l := j + 1; l < k; l++ {
			cd := cdist(j, l)
			if cd == 0 {
				continue // scikit-learn divides by +Inf here, giving 0
			}
			r := (intra[j] + intra[l]) / cd
			worst[j], worst[l] = math.Max(worst[j], r), math.Max(worst[l], r)
		}
	}
	for _, w := range worst {
		db += w
	}
	return db / float64(k), ch, nil
}

// closeToZero mirrors numpy.allclose(v, 0): |v| ≤ 1e-8.
func closeToZero(v float64) bool { return math.Abs(v) <= 1e-8 }

// Silhouette is the mean silhouette coefficient of the given rows, computed
// among those rows only (as scikit-learn's silhouette_score does with
// sample_size): for each row, a is the mean distance to the other rows of its
// cluster, b the smallest mean distance to the rows of another cluster, and
// s = (b − a)/max(a, b), with s = 0 for a row alone in its cluster. Labels
// must be ≥ 0 for every listed row. The rows are copied and centred, which
// leaves distances unchanged and keeps the GEMM form accurate.
func Silhouette(ctx context.Context, be kernels.Backend, in algo.Input, labels []int32, rows []int) (float64, error) {
	m, d := len(rows), in.D
	// Grouped by label (the order of the rows does not change the mean):
	// the blocked sums then add a run of rows into one cluster's sums.
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b int) int { return cmp.Compare(labels[a], labels[b]) })
	sub := algo.GatherRows(in, rows)
	center(sub)
	// Relabel densely among the sampled rows.
	ids := map[int32]int32{}
	lab := make([]int32, m)
	for p, i := range rows {
		l := labels[i]
		id, ok := ids[l]
		if !ok {
			id = int32(len(ids))
			ids[l] = id
		}
		lab[p] = id
	}
	k := len(ids)
	if k < 2 || k >= m {
		return math.NaN(), nil
	}
	ds, err := be.Upload(sub.X, m, d)
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	count := make([]float64, k)
	for _, l := range lab {
		count[l]++
	}
	if m*k*8 > fusedSumsLimit(in, m) {
		return silhouetteBlocked(ctx, be, ds, sub, lab, k, count)
	}
	sums := make([]float64, m*k)
	if err := be.ClusterDistanceSums(ctx, ds, lab, k, sums); err != nil {
		return 0, err
	}
	var total float64
	for p, l := range lab {
		total += silhouetteOf(sums[p*k:(p+1)*k], l, count)
	}
	return total / float64(m), nil
}

// silhouetteOf is one row's silhouette from its per-cluster distance sums
// (row) and the clusters' sizes: 0 for a row alone in its cluster.
func silhouetteOf(row []float64, l int32, count []float64) float64 {
	b := math.Inf(1)
	for j, s := range row {
		if int32(j) != l && count[j] > 0 {
			b = math.Min(b, s/count[j])
		}
	}
	return silhouetteFrom(row[l], count[l], b)
}

// silhouetteFrom is a row's silhouette from the sum of its distances to the
// other members of its cluster (own), its cluster's size and b, its
// smallest mean distance to another cluster: 0 for a row alone in its
// cluster.
func silhouetteFrom(own, size, b float64) float64 {
	if size <= 1 {
		return 0
	}
	a := own / (size - 1)
	if den := math.Max(a, b); den > 0 {
		return (b - a) / den
	}
	return 0
}

// silhouetteSumsBytes bounds the per-row, per-cluster distance sums the
// backend's fused ClusterDistanceSums fills at once: above it (10,000
// sampled rows and more than 400 clusters), the rows are taken in blocks
// (silhouetteBlocked), which keeps the sums (40–80 MB for 500–1,000
// clusters) out of a run's peak memory at about twice the fused kernel's
// time.
const silhouetteSumsBytes = 32 << 20

// fusedSumsLimit is the most bytes of sums the fused kernel may fill for a
// silhouette of m rows of in: silhouetteSumsBytes, and no more than the
// larger of the rows' own copy (m×d float32, which the silhouette makes
// anyway) and a sixteenth of the input's vectors, whose size is the floor
// of a run's peak memory. The fused kernel is about twice as fast as the
// blocks (three times on 20,000 × 768, where the blocks repack the rows
// for every block), but its sums should not add more than a few percent
// to that peak. Measured with k-means (20 iterations, 10,000 sampled
// rows): 200,000 × 128 with k = 256 (20 MB of sums against a 102 MB input
// and a 5 MB copy) peaked at 153–155 MB fused and 134–135 MB in blocks,
// with 0.20 → 0.36 s of metrics; 100,000 × 768 with k = 100 (8 MB against
// 307 MB) stays fused: blocks took 7 MB off a 360 MB peak but doubled its
// metrics (0.63 → 1.33 s). The exact silhouette of all 20,000 rows of a
// 20,000 × 768 file with k = 100 (16 MB against a 61 MB copy) stays fused:
// 2.2 s, against 6.7 s in blocks.
func fusedSumsLimit(in algo.Input, m int) int {
	return min(silhouetteSumsBytes, max(m*in.D*4, in.N*in.D*4/16))
}

// silhouetteBlockBytes bounds a block's distances (sampled rows × block
// rows, float32). With 10,000 sampled rows a block is 52 rows: measured
// against 8 MB (209 rows), the peak of k-means on 200,000 × 96 with
// k = 512 came down from 115–117 to 110 MB and that of 200,000 × 128
// with k = 256 from 140 to 134–135 MB, for 0.02–0.05 s more metrics (the
// same on 1,000,000 × 128 with k = 1,000: 0.52–0.56 s against
// 0.57–0.58 s).
const silhouetteBlockBytes = 2 << 20

// silhouetteBlockRows bounds a block: the block's distances (m×B float32)
// and sums (k×B float64) stay within a few MB.
const silhouetteBlockRows = 512

// silhouetteRowsPerTask is how many of a block's rows a task of
// silhouetteBlocked's last step takes.
const silhouetteRowsPerTask = 64

// silhouetteBlocked is the silhouette of the m rows of ds (sub, grouped by
// label) in blocks:
// the squared distances from every row to a block of rows
// (Backend.Distances, m×B at most silhouetteBlockBytes), then, per row of the
// block, its per-cluster sums of their roots (its distance to itself is 0,
// not the GEMM form's rounding). Memory is O(m·B + B·k) instead of O(m·k).
func silhouetteBlocked(ctx context.Context, be kernels.Backend, ds kernels.Dataset, sub algo.Input, lab []int32, k int, count []float64) (float64, error) {
	return silhouetteBlockedWith(ctx, be, ds, sub, lab, k, count, silhouetteBlockBytes)
}

// silhouetteBlockedWith is silhouetteBlocked with blocks of at most
// blockBytes of distances.
func silhouetteBlockedWith(ctx context.Context, be kernels.Backend, ds kernels.Dataset, sub algo.Input, lab []int32, k int, count []float64, blockBytes int) (float64, error) {
	m, d := sub.N, sub.D
	block := max(1, min(m, blockBytes/(4*m), silhouetteBlockRows))
	out := make([]float32, m*block)
	sums := make([]float64, k*block) // sums[l*block + j]: row lo+j's sum over cluster l
	// runs splits the rows into about 64 ranges of whole clusters when the
	// rows are grouped by label (else one range: no two tasks may add to a
	// cluster's sums).
	runs := []int{0}
	seen := make([]bool, k)
	grouped := true
	for i := 0; i < m; i++ {
		if i > 0 && lab[i] != lab[i-1] {
			if seen[lab[i]] {
				grouped = false
				break
			}
			if i-runs[len(runs)-1] >= m/64 {
				runs = append(runs, i)
			}
		}
		seen[lab[i]] = true
	}
	if !grouped {
		runs = runs[:1]
	}
	runs = append(runs, m)
	part := make([]float64, block)
	var total float64
	for lo := 0; lo < m; lo += block {
		b := min(block, m-lo)
		if err := be.Distances(ctx, ds, sub.X[lo*d:(lo+b)*d], b, out[:m*b]); err != nil {
			return 0, err
		}
		clear(sums)
		// Each task takes the rows of a range of clusters (the rows are
		// grouped by label), so it alone adds to those clusters' sums, and
		// reads each row's distances to the block contiguously.
		parallel.For(context.Background(), 0, len(runs)-1, func(c int) {
			for i := runs[c]; i < runs[c+1]; i++ {
				l := int(lab[i])
				addRoots(sums[l*block:l*block+b], out[i*b:(i+1)*b])
			}
		})
		// Each task takes a range of the block's rows and reads the sums
		// cluster by cluster, contiguously, keeping each row's smallest
		// mean distance to another cluster.
		parallel.Chunks(context.Background(), 0, b, silhouetteRowsPerTask, func(j0, j1 int) {
			nearest := make([]float64, j1-j0)
			for j := range nearest {
				nearest[j] = math.Inf(1)
			}
			for l := 0; l < k; l++ {
				if count[l] == 0 {
					continue
				}
				for j, s := range sums[l*block+j0 : l*block+j1] {
					if int(lab[lo+j0+j]) != l {
						nearest[j] = math.Min(nearest[j], s/count[l])
					}
				}
			}
			for j := j0; j < j1; j++ {
				l := lab[lo+j]
				// Its distance to itself is 0, not the GEMM form's rounding.
				self := math.Sqrt(float64(out[(lo+j)*b+j]))
				part[j] = silhouetteFrom(sums[int(l)*block+j]-self, count[l], nearest[j-j0])
			}
		})
		for _, v := range part[:b] { // in row order, whatever the number of cores
			total += v
		}
	}
	return total / float64(m), nil
}

// center subtracts the column means from in.X in place.
func center(in algo.Input) {
	mean := make([]float64, in.D)
	algo.AddRows64(mean, in.X[:in.N*in.D])
	for i := 0; i < in.N; i++ {
		row := in.X[i*in.D : (i+1)*in.D]
		for t := range row {
			row[t] = float32(float64(row[t]) - mean[t]/float64(in.N))
		}
	}
}

// Metrics are the quality scores, with scikit-learn's definitions.
type Metrics struct {
	Silhouette       float64 `json:"silhouette_score"`
	DaviesBouldin    float64 `json:"davies_bouldin_index"`
	CalinskiHarabasz float64 `json:"calinski_harabasz_score"`
}
