package runner

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/labeling"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/model"
)

// clusterLabel is what labeling found for one cluster.
type clusterLabel struct {
	Label    *string
	Summary  *string
	Keywords []string
}

// labelClusters names every cluster of res (sub-clusters included) offline
// with class-based TF-IDF over its members' text: the payload's "text"
// field, or the fields llm_labeling.labeling_inputs names. Members are
// ordered by distance to their centroid, so the first texts are the
// representative ones.
//
// With llm_labeling.enabled, the configured LLM then names each cluster from
// its representative texts and keywords; a cluster it fails for keeps its
// TF-IDF label, and the failures come back as llm_labeling_errors.
func (r *Runner) labelClusters(ctx context.Context, data *dataset, res *engine.Result, cfg *model.CreateClusterRequest) (map[string]clusterLabel, []string, error) {
	var fields []string
	opts := labeling.Options{Bigrams: true}
	if l := cfg.LLMLabeling; l != nil {
		if l.LabelingInputs != nil {
			for _, m := range l.LabelingInputs.InputMappings {
				if m.Source() == model.SourcePayload && m.Path != nil {
					fields = append(fields, *m.Path)
				}
			}
		}
		opts.Representatives = l.MaxSamplesPerCluster
		opts.RepresentativeLength = l.SampleTextMaxLength
	}
	texts := make([]string, data.N)
	found := false
	for _, src := range data.Sources {
		byID, err := r.cfg.Store.PayloadTexts(ctx, src.CollectionID, fields)
		if err != nil {
			return nil, nil, err
		}
		for i := src.Start; i < src.End; i++ {
			texts[i] = byID[data.IDs[i]]
			found = found || texts[i] != ""
		}
	}
	if !found {
		if cfg.LLMLabeling != nil && cfg.LLMLabeling.Enabled {
			ids := []string{}
			for _, c := range res.AllClusters() {
				ids = append(ids, c.ID)
			}
			e, _ := json.Marshal(map[string]any{"error": "No representative documents: the clustered documents have no text", "clusters": ids})
			return nil, []string{string(e)}, nil
		}
		return nil, nil, nil
	}
	all := res.AllClusters()
	members := clusterMembers(res, all)
	v := res.Vectors
	input := make([]labeling.Cluster, len(all))
	for j, c := range all {
		rows := members[j]
		dist := make([]float64, len(rows))
		for p, i := range rows {
			var s float64
			for t, e := range v.X[i*v.D : (i+1)*v.D] {
				d := float64(e) - float64(c.Centroid[t])
				s += d * d
			}
			dist[p] = s
		}
		order := make([]int, len(rows))
		for p := range order {
			order[p] = p
		}
		sort.SliceStable(order, func(a, b int) bool { return dist[order[a]] < dist[order[b]] })
		input[j] = labeling.Cluster{ID: c.ID}
		for _, p := range order {
			if t := texts[rows[p]]; t != "" {
				input[j].Texts = append(input[j].Texts, t)
			}
		}
	}
	out := map[string]clusterLabel{}
	offline := labeling.Label(input, opts)
	for _, l := range offline {
		if l.Label == "" {
			continue
		}
		label, summary := l.Label, l.Summary
		out[l.ID] = clusterLabel{Label: &label, Summary: &summary, Keywords: l.Keywords}
	}
	if cfg.LLMLabeling == nil || !cfg.LLMLabeling.Enabled || r.cfg.LLM == nil {
		return out, nil, nil
	}
	return out, r.labelWithLLM(ctx, cfg.LLMLabeling, offline, out), nil
}

// labelWithLLM asks the configured LLM for each cluster's label (and, as
// configured, summary and keywords), overwriting the offline ones it gets,
// and returns llm_labeling_errors (nil when every cluster succeeded).
func (r *Runner) labelWithLLM(ctx context.Context, c *model.LLMLabeling, offline []labeling.Labels, out map[string]clusterLabel) []string {
	summary, keywords := c.IncludeSummary, c.IncludeKeywords
	req := llm.Request{Options: llm.Options{Provider: deref(c.Provider), Model: deref(c.ModelName), IncludeSummary: &summary,
		IncludeKeywords: &keywords, CustomPrompt: deref(c.CustomPrompt), Parameters: c.Parameters,
		MaxSamplesPerCluster: c.MaxSamplesPerCluster, SampleTextMaxLength: c.SampleTextMaxLength, CacheTTLSeconds: c.CacheTTLSeconds}}
	for _, l := range offline {
		req.Clusters = append(req.Clusters, llm.Cluster{ID: l.ID, Texts: l.Representatives, Keywords: l.Keywords})
	}
	res := r.cfg.LLM.Label(ctx, req)
	for id, l := range res.Labels {
		cur := out[id]
		label := l.Label
		cur.Label = &label
		if l.Summary != "" {
			summary := l.Summary
			cur.Summary = &summary
		}
		if len(l.Keywords) > 0 {
			cur.Keywords = l.Keywords
		}
		out[id] = cur
	}
	if len(res.Errors) == 0 {
		return nil
	}
	return res.Errors
}

// clusterMembers lists, per cluster of all (top-level then sub-clusters),
// the rows inside it at any depth.
func clusterMembers(res *engine.Result, all []engine.Cluster) [][]int {
	members := make([][]int, len(all))
	if res.Leaf == nil {
		for i, l := range res.Labels {
			if l >= 0 {
				members[l] = append(members[l], i)
			}
		}
		return members
	}
	index := map[string]int{}
	for j, c := range all {
		index[c.ID] = j
	}
	parent := make([]int, len(all))
	for j, c := range all {
		parent[j] = -1
		if p, ok := index[c.Parent]; ok && c.Parent != "" {
			parent[j] = p
		}
	}
	for i, l := range res.Leaf {
		for j := int(l); j >= 0; j = parent[j] {
			members[j] = append(members[j], i)
		}
	}
	return members
}

// applyLabels copies labels into the execution's centroids.
func applyLabels(res *model.ExecutionResult, labels map[string]clusterLabel) {
	for i := range res.Centroids {
		if l, ok := labels[res.Centroids[i].ClusterID]; ok {
			res.Centroids[i].Label, res.Centroids[i].Summary, res.Centroids[i].Keywords = l.Label, l.Summary, l.Keywords
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
