package engine

import (
	"context"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/quality"
	"github.com/clusterd/clusterd/internal/parallel"
)

// finish turns an algorithm's labels into a Result: empty clusters are
// dropped and the rest renumbered in order, centroids are the algorithm's
// (or the members' means) unless the pipeline asks for medians or medoids,
// and the per-cluster statistics and the quality metrics are computed.
func finish(ctx context.Context, r *algo.State, spec Spec, f *algo.Fitted) (*Result, error) {
	r.Report(Progress{Phase: "finalize"})
	labels, k, centroids := algo.Compact(f.Labels, f.K, f.Centroids, r.In.D)
	res := &Result{Labels: labels, NumClusters: k}
	res.Stats = Stats{Iterations: f.Iterations, IterationSeconds: f.IterSeconds, Inertia: f.Inertia, NInitUsed: f.NInitUsed, NInitNote: f.NInitNote,
		KSelection: f.KSelection, InitSampleSize: f.InitSample, RowsMeasured: f.Measured, LowerBound: f.LowerBound, Converged: f.Converged,
		Seeding: f.Seeding, SeedingIterations: f.SeedIterations}
	if f.Bandwidth > 0 {
		bw := f.Bandwidth
		res.Stats.Bandwidth = &bw
	}
	if f.Probabilities != nil {
		res.Probabilities = make([]float32, len(f.Probabilities))
		for i, v := range f.Probabilities {
			res.Probabilities[i] = float32(v)
		}
	}
	for _, l := range labels {
		if l < 0 {
			res.Stats.NoisePoints++
		}
	}
	if k == 0 {
		res.Distances = make([]float32, len(labels))
		for i := range res.Distances {
			res.Distances[i] = -1
		}
		return res, nil
	}
	sum, err := summarize(ctx, r, labels, k, centroids, spec.Pipeline.EffectiveFeatureMethod)
	if err != nil {
		return nil, err
	}
	res.Clusters, res.Distances, res.Centroids = sum.clusters, sum.dist, sum.centroids
	r.Report(Progress{Phase: "metrics"})
	sample := DefaultSilhouetteSampleSize
	if spec.SilhouetteSampleSize != 0 {
		sample = spec.SilhouetteSampleSize
	}
	m, used, err := quality.Compute(ctx, r.Backend, r.DS, r.In, labels, k, sum.means, sum.counts, sample, r.Seed)
	if err != nil {
		return nil, err
	}
	res.Metrics, res.Stats.MetricsSampleSize = m, used
	return res, nil
}

// summary describes the clusters of one labelling.
type summary struct {
	clusters  []Cluster
	centroids []float32 // k×d, the reported centroids
	means     []float32 // k×d, the members' means
	counts    []int64
	dist      []float32 // per point, squared distance to its centroid (−1 noise)
}

// summarize computes the clusters' centroids (the given ones, the members'
// means, or their medians or medoids as method says), sizes, variances and
// cosine similarities, for labels in [0, k) (all non-empty) or −1.
func summarize(ctx context.Context, r *algo.State, labels []int32, k int, centroids []float32, method string) (*summary, error) {
	d := r.In.D
	s := &summary{counts: make([]int64, k), means: make([]float32, k*d)}
	sums := make([]float64, k*d)
	if err := r.Backend.SumByLabel(ctx, r.DS, labels, k, sums, s.counts); err != nil {
		return nil, err
	}
	for j := 0; j < k; j++ {
		for t := 0; t < d; t++ {
			s.means[j*d+t] = float32(sums[j*d+t] / float64(s.counts[j]))
		}
	}
	switch method {
	case "median":
		centroids = medians(r.In, labels, k)
	case "medoid":
		var err error
		if centroids, err = medoids(ctx, r, labels, k); err != nil {
			return nil, err
		}
	}
	if centroids == nil {
		centroids = s.means
	}
	s.centroids = centroids
	s.dist = make([]float32, r.In.N)
	if err := r.Backend.LabelDistances(ctx, r.DS, centroids, k, labels, s.dist); err != nil {
		return nil, err
	}
	s.clusters = clusterStats(r.In, labels, k, centroids, s.counts, s.dist)
	return s, nil
}

// describe is summarize for callers that need only the clusters.
func describe(ctx context.Context, r *algo.State, labels []int32, k int, centroids []float32, method string) ([]Cluster, []float32, error) {
	s, err := summarize(ctx, r, labels, k, centroids, method)
	if err != nil {
		return nil, nil, err
	}
	return s.clusters, s.dist, nil
}

// medians returns each cluster's per-feature median (the mean of the two
// middle values for an even count).
func medians(in Input, labels []int32, k int) []float32 {
	d := in.D
	members := make([][]int, k)
	for i, l := range labels {
		if l >= 0 {
			members[l] = append(members[l], i)
		}
	}
	out := make([]float32, k*d)
	for j, rows := range members {
		vals := make([]float32, len(rows))
		for t := 0; t < d; t++ {
			for p, i := range rows {
				vals[p] = in.X[i*d+t]
			}
			slices.Sort(vals)
			m := len(vals)
			if m%2 == 1 {
				out[j*d+t] = vals[m/2]
			} else {
				out[j*d+t] = float32((float64(vals[m/2-1]) + float64(vals[m/2])) / 2)
			}
		}
	}
	return out
}

// MedoidReference bounds the members a medoid is measured against: above it,
// a seeded uniform sample of that many members stands for the cluster.
const MedoidReference = 2000

// medoids returns, per cluster, the member with the least total Euclidean
// distance to the cluster's members (to a seeded sample of MedoidReference
// of them for larger clusters), ties to the lower row.
func medoids(ctx context.Context, r *algo.State, labels []int32, k int) ([]float32, error) {
	d := r.In.D
	members := make([][]int, k)
	for i, l := range labels {
		if l >= 0 {
			members[l] = append(members[l], i)
		}
	}
	out := make([]float32, k*d)
	const chunk = 4096
	for j, rows := range members {
		refs := algo.SampleRows(rows, MedoidReference, r.Seed+int64(j))
		ref := algo.GatherRows(r.In, refs)
		best, bestSum := -1, math.Inf(1)
		for lo := 0; lo < len(rows); lo += chunk {
			part := algo.GatherRows(r.In, rows[lo:min(len(rows), lo+chunk)])
			ds, err := r.Backend.Upload(part.X, part.N, d)
			if err != nil {
				return nil, err
			}
			dist := make([]float32, part.N*ref.N)
			err = r.Backend.Distances(ctx, ds, ref.X, ref.N, dist)
			ds.Close()
			if err != nil {
				return nil, err
			}
			for p := 0; p < part.N; p++ {
				var s float64
				for _, e := range dist[p*ref.N : (p+1)*ref.N] {
					s += math.Sqrt(float64(e))
				}
				if s < bestSum {
					best, bestSum = rows[lo+p], s
				}
			}
		}
		copy(out[j*d:(j+1)*d], r.In.X[best*d:(best+1)*d])
	}
	return out, nil
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
		cnorm[j] = algo.SqNorm64(centroids[j*d : (j+1)*d])
		minCos[j] = math.Inf(1)
	}
	// The rows' squared norms, on every core (the pass over the data).
	norms := make([]float64, len(labels))
	parallel.Chunks(context.Background(), 0, len(labels), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if labels[i] >= 0 {
				norms[i] = algo.SqNorm64(in.X[i*d : (i+1)*d])
			}
		}
	})
	for i, l := range labels {
		if l < 0 {
			continue
		}
		sumDist[l] += float64(dist[i])
		xn := norms[i]
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

func sortedStrings(s []string) []string { sort.Strings(s); return s }
