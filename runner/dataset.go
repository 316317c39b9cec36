package runner

import (
	"context"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// LoadDataset reads the vectors a run of the cluster definition cfg would
// cluster, loaded and joined as a run joins them (features L2-normalised
// when normalize_features, scaled by the configured feature_weights; a
// weighted cluster's learned weights are its runs', so here every weight
// is 1, and an independent cluster reads its first feature), for readers
// outside the runner: conditional triggers measure drift on them. It
// returns the rows (n×d) and each row's document id.
func LoadDataset(ctx context.Context, st *store.Store, ns string, cfg *model.CreateClusterRequest) (x []float32, n, d int, ids []string, err error) {
	r := &Runner{cfg: Config{Store: st}}
	vc := cfg.VectorConfig
	if vc == nil {
		return nil, 0, 0, nil, &userError{"the cluster has no vector_config"}
	}
	feats := vc.Features()
	if len(feats) == 0 {
		feats = []string{""}
	}
	if vc.MultiFeatureStrategy == model.StrategyIndependent {
		feats = feats[:1]
	}
	data, err := r.loadBlocks(ctx, ns, cfg, feats, false)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	weights := make([]float64, len(feats))
	for i, f := range feats {
		weights[i] = 1
		if vc.MultiFeatureStrategy != model.StrategyWeighted {
			weights[i] = vc.FeatureWeights.Weight(i, f)
		}
	}
	data.join(vc.NormalizeFeatures && len(feats) > 1, weights)
	return data.X, data.N, data.D, data.IDs, nil
}
