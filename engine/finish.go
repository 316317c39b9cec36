package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
)

// finish turns an algorithm's labels into a Result: empty clusters are
// dropped and the rest renumbered in order, centroids are the algorithm's
// or the members' means, and the per-cluster statistics and the quality
// metrics are computed.
func (r *run) finish(ctx context.Context, spec Spec, f *fitted) (*Result, error) {
	n, d := r.in.N, r.in.D
	r.report(Progress{Phase: "finalize", Fraction: 1})
	labels, k, centroids := compact(f.labels, f.k, f.centroids, d)
	sums := make([]float64, max(k, 1)*d)
	counts := make([]int64, max(k, 1))
	if k > 0 {
		if err := r.be.SumByLabel(ctx, r.ds, labels, k, sums, counts); err != nil {
			return nil, err
		}
	}
	means := make([]float32, k*d)
	for j := 0; j < k; j++ {
		for t := 0; t < d; t++ {
			means[j*d+t] = float32(sums[j*d+t] / float64(counts[j]))
		}
	}
	if centroids == nil {
		centroids = means
	}
	res := &Result{Labels: labels, NumClusters: k, Centroids: centroids}
	res.Stats = Stats{Iterations: f.iterations, Inertia: f.inertia, NInitUsed: f.nInitUsed, NInitNote: f.nInitNote}
	for _, l := range labels {
		if l < 0 {
			res.Stats.NoisePoints++
		}
	}
	if k == 0 {
		return res, nil
	}
	dist := make([]float32, n)
	if err := r.be.LabelDistances(ctx, r.ds, centroids, k, labels, dist); err != nil {
		return nil, err
	}
	res.Clusters = clusterStats(r.in, labels, k, centroids, counts, dist)
	res.Distances = dist
	r.report(Progress{Phase: "metrics", Fraction: 1})
	sample := DefaultSilhouetteSampleSize
	if spec.SilhouetteSampleSize != 0 {
		sample = spec.SilhouetteSampleSize
	}
	m, used, err := computeMetrics(ctx, r.be, r.ds, r.in, labels, k, means, counts, sample, r.seed)
	if err != nil {
		return nil, err
	}
	res.Metrics, res.Stats.MetricsSampleSize = m, used
	return res, nil
}

// compact drops clusters without members and renumbers the rest 0..k'−1 in
// their original order; centroids (k×d, may be nil) follow.
func compact(labels []int32, k int, centroids []float32, d int) ([]int32, int, []float32) {
	used := make([]bool, k)
	for _, l := range labels {
		if l >= 0 {
			used[l] = true
		}
	}
	newID := make([]int32, k)
	kk := 0
	for j := 0; j < k; j++ {
		newID[j] = int32(kk)
		if used[j] {
			kk++
		}
	}
	if kk == k {
		return labels, k, centroids
	}
	out := make([]int32, len(labels))
	for i, l := range labels {
		out[i] = l
		if l >= 0 {
			out[i] = newID[l]
		}
	}
	var cent []float32
	if centroids != nil {
		cent = make([]float32, 0, kk*d)
		for j := 0; j < k; j++ {
			if used[j] {
				cent = append(cent, centroids[j*d:(j+1)*d]...)
			}
		}
	}
	return out, kk, cent
}

// clusterStats computes members, variance and the cosine similarities of the
// members to the centroid. The cosine comes from the norms and the exact
// squared distance: x·c = (‖x‖² + ‖c‖² − ‖x−c‖²)/2.
func clusterStats(in Input, labels []int32, k int, centroids []float32, counts []int64, dist []float32) []Cluster {
	d := in.D
	cs := make([]Cluster, k)
	cnorm := make([]float64, k)
	sumDist := make([]float64, k)
	sumCos := make([]float64, k)
	minCos := make([]float64, k)
	cosN := make([]int, k)
	for j := range cs {
		cnorm[j] = sqNorm64(centroids[j*d : (j+1)*d])
		minCos[j] = math.Inf(1)
	}
	for i, l := range labels {
		if l < 0 {
			continue
		}
		sumDist[l] += float64(dist[i])
		xn := sqNorm64(in.X[i*d : (i+1)*d])
		if xn == 0 || cnorm[l] == 0 {
			continue
		}
		c := (xn + cnorm[l] - float64(dist[i])) / (2 * math.Sqrt(xn*cnorm[l]))
		c = math.Max(-1, math.Min(1, c))
		sumCos[l] += c
		minCos[l] = math.Min(minCos[l], c)
		cosN[l]++
	}
	for j := range cs {
		cs[j] = Cluster{Label: j, ID: "cl_" + strconv.Itoa(j), Members: int(counts[j]),
			Centroid: centroids[j*d : (j+1)*d : (j+1)*d], Variance: sumDist[j] / float64(counts[j])}
		if cosN[j] > 0 {
			mean, mn := sumCos[j]/float64(cosN[j]), minCos[j]
			cs[j].MeanCosine, cs[j].MinCosine = &mean, &mn
		}
	}
	return cs
}

func sqNorm64(v []float32) float64 {
	var s float64
	for _, e := range v {
		s += float64(e) * float64(e)
	}
	return s
}

// sampleRows returns m distinct indices drawn uniformly from rows, in
// ascending order, using a seeded generator.
func sampleRows(rows []int, m int, seed int64) []int {
	if m >= len(rows) {
		return rows
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5ea1))
	p := slices.Clone(rows)
	for i := 0; i < m; i++ {
		j := i + rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	out := p[:m]
	slices.Sort(out)
	return out
}

func sortedStrings(s []string) []string { sort.Strings(s); return s }
