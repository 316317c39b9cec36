package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/quality"
	"github.com/clusterd/clusterd/kernels"
)

// Scores are the quality metrics of given labels with the time each took,
// keyed like bench/peers.py's metrics output for side-by-side use.
type Scores struct {
	Silhouette            float64 `json:"silhouette"`
	SilhouetteSeconds     float64 `json:"silhouette_seconds"`
	DaviesBouldin         float64 `json:"davies_bouldin"`
	CalinskiHarabasz      float64 `json:"calinski_harabasz"`
	DaviesCalinskiSeconds float64 `json:"davies_bouldin_calinski_harabasz_seconds"`
	SilhouetteSampleSize  int     `json:"silhouette_sample_size"`
	Clusters              int     `json:"clusters"`
	Seconds               float64 `json:"seconds"`
}

// Score computes the metrics of arbitrary labels (any int32 values; negative
// values are noise and excluded) on in. sampleLimit bounds the silhouette's
// points as in Spec.SilhouetteSampleSize (< 0: exact). It returns nil when
// the labels have fewer than 2 clusters or as many clusters as points.
func Score(ctx context.Context, be kernels.Backend, in Input, labels []int32, sampleLimit int, seed int64) (*Scores, error) {
	if len(labels) != in.N {
		return nil, fmt.Errorf("engine: %d labels for %d rows", len(labels), in.N)
	}
	dense := make([]int32, in.N)
	ids := map[int32]int32{}
	for i, l := range labels {
		if l < 0 {
			dense[i] = -1
			continue
		}
		id, ok := ids[l]
		if !ok {
			id = int32(len(ids))
			ids[l] = id
		}
		dense[i] = id
	}
	k := len(ids)
	ds, err := be.Upload(in.X, in.N, in.D)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	t0 := time.Now()
	sums := make([]float64, max(k, 1)*in.D)
	counts := make([]int64, max(k, 1))
	if k > 0 {
		if err := be.SumByLabel(ctx, ds, dense, k, sums, counts); err != nil {
			return nil, err
		}
	}
	means := make([]float32, k*in.D)
	for j := 0; j < k; j++ {
		for t := 0; t < in.D; t++ {
			means[j*in.D+t] = float32(sums[j*in.D+t] / float64(counts[j]))
		}
	}
	rows := algo.LabelledRows(dense)
	if k < 2 || k >= len(rows) {
		return nil, nil
	}
	db, ch, err := quality.DaviesBouldinCalinski(ctx, be, ds, in, dense, k, means, counts)
	if err != nil {
		return nil, err
	}
	s := &Scores{DaviesBouldin: db, CalinskiHarabasz: ch, DaviesCalinskiSeconds: time.Since(t0).Seconds(), Clusters: k}
	if sampleLimit > 0 {
		rows = algo.SampleRows(rows, sampleLimit, seed)
	}
	t1 := time.Now()
	if s.Silhouette, err = quality.Silhouette(ctx, be, in, dense, rows); err != nil {
		return nil, err
	}
	s.SilhouetteSeconds = time.Since(t1).Seconds()
	s.SilhouetteSampleSize = len(rows)
	return s, nil
}

// Describe reports clusters found elsewhere (attribute values, say) as Fit
// reports its own: for labels in [0, k) or −1 (left out), with every
// cluster non-empty, each cluster's centroid (the members' mean, or their
// per-feature median or medoid as method says, as in
// Pipeline.EffectiveFeatureMethod), size, variance and cosine
// similarities, with IDs cl_0…cl_{k−1}, and each row's squared Euclidean
// distance to its cluster's centroid (−1 for rows left out). seed drives
// the medoid's sampling of large clusters.
func Describe(ctx context.Context, be kernels.Backend, in Input, labels []int32, k int, method string, seed int64) ([]Cluster, []float32, error) {
	if len(labels) != in.N || len(in.X) != in.N*in.D || in.D < 1 {
		return nil, nil, fmt.Errorf("engine: Describe: %d labels for %d×%d values (%d given)", len(labels), in.N, in.D, len(in.X))
	}
	counts := make([]int, k)
	for _, l := range labels {
		if l >= int32(k) {
			return nil, nil, fmt.Errorf("engine: Describe: label %d for %d clusters", l, k)
		}
		if l >= 0 {
			counts[l]++
		}
	}
	for j, c := range counts {
		if c == 0 {
			return nil, nil, fmt.Errorf("engine: Describe: cluster %d has no members", j)
		}
	}
	if k == 0 {
		dist := make([]float32, in.N)
		for i := range dist {
			dist[i] = -1
		}
		return nil, dist, nil
	}
	ds, err := be.Upload(in.X, in.N, in.D)
	if err != nil {
		return nil, nil, err
	}
	defer ds.Close()
	r := &algo.State{In: in, DS: ds, Backend: be, Seed: seed}
	return describe(ctx, r, labels, k, nil, method)
}
