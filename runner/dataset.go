package runner

import (
	"context"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// LoadDataset reads the vectors a run of the cluster definition cfg would
// cluster, exactly as a run loads them (features joined, normalised and
// weighted the same way), for readers outside the runner: conditional
// triggers measure drift on them. It returns the rows (n×d) and each row's
// document id.
func LoadDataset(ctx context.Context, st *store.Store, ns string, cfg *model.CreateClusterRequest) (x []float32, n, d int, ids []string, err error) {
	r := &Runner{cfg: Config{Store: st}}
	data, err := r.load(ctx, ns, cfg)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	return data.X, data.N, data.D, data.IDs, nil
}
