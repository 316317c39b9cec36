package runner

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
)

// MinOverlap is the share of a cluster's members that must lie in a
// cluster of another feature, itself larger, for that cluster to be
// reported as its parent (multi_feature_strategy "independent").
const MinOverlap = 0.8

// clusterIndependent clusters each feature of data on its own, with the
// same algorithm and parameters, over the same documents (those having
// every feature), each feature's vectors as stored. Cluster ids run on
// across features: the first feature's cl_0…cl_{k0−1}, then the next's.
func (r *Runner) clusterIndependent(ctx context.Context, exec *executor, data *dataset, spec engine.Spec, res *model.ExecutionResult, progress func(engine.Progress), log *slog.Logger) (*clustering, error) {
	c := &clustering{}
	offset := 0
	n := float64(len(data.Blocks))
	for i, b := range data.Blocks {
		d := &dataset{X: b.X, N: data.N, D: b.D, IDs: data.IDs, Sources: data.Sources, Blocks: []block{b}}
		result, err := r.cluster(ctx, exec, d, spec, res, scaled(progress, float64(i)/n, float64(i+1)/n), log)
		if err != nil {
			return nil, err
		}
		renumber(result, offset)
		offset += result.NumClusters
		uri := b.URI
		if uri == "" {
			uri = b.Name
		}
		c.parts = append(c.parts, &part{feature: uri, data: d, res: result})
	}
	c.relations = overlapRelations(c.parts, MinOverlap)
	return c, nil
}

// renumber adds offset to the number of every cluster id of res (cl_3 →
// cl_{3+offset}, cl_3_sub_1 → cl_{3+offset}_sub_1), parents included.
func renumber(res *engine.Result, offset int) {
	if offset == 0 {
		return
	}
	shift := func(id string) string {
		rest, ok := strings.CutPrefix(id, "cl_")
		if !ok {
			return id
		}
		num, tail, _ := strings.Cut(rest, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v < 0 {
			return id
		}
		out := "cl_" + strconv.Itoa(v+offset)
		if tail != "" {
			out += "_" + tail
		}
		return out
	}
	for i := range res.Clusters {
		res.Clusters[i].ID = shift(res.Clusters[i].ID)
	}
	for i := range res.SubClusters {
		res.SubClusters[i].ID = shift(res.SubClusters[i].ID)
		if res.SubClusters[i].Parent != "" {
			res.SubClusters[i].Parent = shift(res.SubClusters[i].Parent)
		}
	}
}

// overlapRelations finds, among the top-level clusters of different
// features (the parts share their rows), each pair where cluster A
// contains at least minOverlap of the members of a smaller cluster B: A is
// then B's parent. Noise belongs to no cluster. Pairs are listed by parent
// feature, parent cluster, then child.
func overlapRelations(parts []*part, minOverlap float64) []model.HierarchyRelationship {
	var out []model.HierarchyRelationship
	for a, pa := range parts {
		for b, pb := range parts {
			if a == b {
				continue
			}
			ka, kb := pa.res.NumClusters, pb.res.NumClusters
			shared := make([]int, ka*kb)
			for i, la := range pa.res.Labels {
				if lb := pb.res.Labels[i]; la >= 0 && lb >= 0 {
					shared[int(la)*kb+int(lb)]++
				}
			}
			for i := 0; i < ka; i++ {
				parent := pa.res.Clusters[i]
				for j := 0; j < kb; j++ {
					child := pb.res.Clusters[j]
					s := shared[i*kb+j]
					if child.Members == 0 || parent.Members <= child.Members || float64(s) < minOverlap*float64(child.Members) {
						continue
					}
					pf, cf := pa.feature, pb.feature
					out = append(out, model.HierarchyRelationship{ParentClusterID: parent.ID, ChildClusterID: child.ID,
						ParentFeatureURI: &pf, ChildFeatureURI: &cf, SharedMembers: s, ChildMembers: child.Members,
						Overlap: float64(s) / float64(child.Members), Source: model.RelationOverlap})
				}
			}
		}
	}
	return out
}
