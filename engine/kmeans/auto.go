package kmeans

import (
	"context"
	"math"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/quality"
)

// AutoKSample bounds the points n_clusters "auto" compares candidates on.
const AutoKSample = 5000

// fitAuto chooses k for n_clusters "auto": every k in [k_min, k_max] (up to
// the number of distinct points) is fitted with the run's other parameters
// on a seeded uniform sample of at most AutoKSample points and scored by the
// exact silhouette on that sample; the best k (the smallest on ties) is then
// fitted on all points. The curve goes to the result's stats.
func (m *Algorithm) fitAuto(ctx context.Context, r *algo.State) (*algo.Fitted, error) {
	all := make([]int, r.In.N)
	for i := range all {
		all[i] = i
	}
	rows := algo.SampleRows(all, AutoKSample, r.Seed)
	sub := algo.GatherRows(r.In, rows)
	sds, err := r.Backend.Upload(sub.X, sub.N, sub.D)
	if err != nil {
		return nil, err
	}
	defer sds.Close()
	sr := &algo.State{In: sub, DS: sds, Backend: r.Backend, Seed: r.Seed, Phases: r.Phases}
	kmax := min(m.p.KMax, CountDistinct(sub, m.p.KMax), sub.N-1)
	sel := &algo.KSelection{SampleSize: sub.N, Chosen: -1,
		Description: "k-means for each k on a seeded sample, scored by the exact silhouette on that sample; the best k is then fitted on all points"}
	best := math.Inf(-1)
	for k := m.p.KMin; k <= kmax; k++ {
		c := *m
		c.p.Auto, c.p.NClusters = false, k
		f, err := c.Fit(ctx, sr)
		if err != nil {
			return nil, err
		}
		labels, kk, _ := algo.Compact(f.Labels, f.K, nil, sub.D)
		s := math.NaN()
		if kk >= 2 {
			if s, err = quality.Silhouette(ctx, r.Backend, sub, labels, all[:sub.N]); err != nil {
				return nil, err
			}
		}
		sel.K, sel.Silhouette = append(sel.K, k), append(sel.Silhouette, s)
		if s > best {
			best, sel.Chosen = s, k
		}
		r.Report(algo.Progress{Phase: "init", Iteration: k - m.p.KMin + 1, MaxIter: kmax - m.p.KMin + 1,
			Fraction: 0.5 * float64(k-m.p.KMin+1) / float64(kmax-m.p.KMin+1)})
	}
	if sel.Chosen < 0 {
		sel.Chosen = m.p.KMin
	}
	c := *m
	c.p.Auto, c.p.NClusters = false, sel.Chosen
	f, err := c.Fit(ctx, r)
	if err != nil {
		return nil, err
	}
	f.KSelection = sel
	return f, nil
}
