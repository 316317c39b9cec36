package runner

import (
	"context"
	"encoding/json"
	"slices"
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
	// Metadata is the LLM's answer to llm_labeling.response_shape.
	Metadata map[string]any
}

// labelClusters names every cluster of res (sub-clusters included) offline
// with class-based TF-IDF over its members' text: the payload's "text"
// field, or with llm_labeling.labeling_inputs the string values at the
// payload paths of its payload mappings, joined (payload.text when it has
// none). Members are ordered by distance to their centroid, so the first
// texts are the representative ones.
//
// With llm_labeling.enabled, the configured LLM then names each cluster from
// its representative documents (see sampler.samples: each one the whole
// payload, or the labeling inputs) and keywords; a cluster it fails for
// keeps its TF-IDF label, and the failures come back as
// llm_labeling_errors.
func (r *Runner) labelClusters(ctx context.Context, data *dataset, res *engine.Result, cfg *model.CreateClusterRequest) (map[string]clusterLabel, []string, error) {
	var paths []string
	opts := labeling.Options{Bigrams: true}
	l := cfg.LLMLabeling
	if l != nil {
		if l.LabelingInputs != nil {
			for _, m := range l.LabelingInputs.InputMappings {
				if m.Source() == model.SourcePayload && m.Path != nil {
					paths = append(paths, *m.Path)
				}
			}
		}
		opts.Representatives = l.MaxSamplesPerCluster
		opts.RepresentativeLength = l.SampleTextMaxLength
	}
	texts := make([]string, data.N)
	for _, src := range data.Sources {
		byID, err := r.cfg.Store.PayloadTexts(ctx, src.CollectionID, paths)
		if err != nil {
			return nil, nil, err
		}
		for i := src.Start; i < src.End; i++ {
			texts[i] = byID[data.IDs[i]]
		}
	}
	all := res.AllClusters()
	v := res.Vectors
	input := make([]labeling.Cluster, len(all))
	orders := make([][]int, len(all)) // member rows, closest to the centroid first
	withLLM := l != nil && l.Enabled && r.cfg.LLM != nil
	var members [][]int
	if withLLM || slices.ContainsFunc(texts, func(t string) bool { return t != "" }) {
		members = clusterMembers(res, all)
	}
	for j, c := range all {
		input[j] = labeling.Cluster{ID: c.ID}
		if members == nil {
			continue // no text anywhere, and no LLM to sample for
		}
		rows := members[j]
		if !withLLM && !slices.ContainsFunc(rows, func(i int) bool { return texts[i] != "" }) {
			continue // nothing to order: no text, and no LLM to sample for
		}
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
		for _, p := range order {
			orders[j] = append(orders[j], rows[p])
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
	if !withLLM {
		return out, nil, nil
	}
	errs, err := r.labelWithLLM(ctx, l, data, res, orders, offline, out)
	return out, errs, err
}

// labelWithLLM asks the configured LLM for each cluster's label (and, as
// configured, summary and keywords, or the response_shape's answer),
// overwriting the offline ones it gets, and returns llm_labeling_errors
// (nil when every cluster succeeded). offline and orders are in the order
// of res.AllClusters().
func (r *Runner) labelWithLLM(ctx context.Context, c *model.LLMLabeling, data *dataset, res *engine.Result, orders [][]int,
	offline []labeling.Labels, out map[string]clusterLabel) ([]string, error) {
	smp, err := newSampler(r.cfg.Store, data, res.Vectors, c)
	if err != nil {
		return nil, err
	}
	summary, keywords := c.IncludeSummary, c.IncludeKeywords
	req := llm.Request{Options: llm.Options{Provider: deref(c.Provider), Model: deref(c.ModelName), IncludeSummary: &summary,
		IncludeKeywords: &keywords, CustomPrompt: deref(c.CustomPrompt), Parameters: c.Parameters, ResponseShape: c.ResponseShape,
		MaxSamplesPerCluster: c.MaxSamplesPerCluster, SampleTextMaxLength: c.SampleTextMaxLength, CacheTTLSeconds: c.CacheTTLSeconds}}
	ids := make([]string, len(offline))
	for j, l := range offline {
		samples, err := smp.samples(ctx, orders[j])
		if err != nil {
			return nil, err
		}
		if samples == nil {
			samples = []llm.Sample{} // not nil: Texts are not the documents
		}
		req.Clusters = append(req.Clusters, llm.Cluster{ID: l.ID, Samples: samples, Keywords: l.Keywords})
		ids[j] = l.ID
	}
	lr := r.cfg.LLM.Label(ctx, req)
	for id, l := range lr.Labels {
		cur := out[id]
		if l.Label != "" {
			label := l.Label
			cur.Label = &label
		}
		if l.Summary != "" {
			summary := l.Summary
			cur.Summary = &summary
		}
		if len(l.Keywords) > 0 {
			cur.Keywords = l.Keywords
		}
		if l.Answer != nil {
			if m, ok := decodeAnswer(l.Answer); ok {
				cur.Metadata = m
			}
		}
		out[id] = cur
	}
	errs := lr.Errors
	for _, msg := range smp.missing {
		e, _ := json.Marshal(map[string]any{"error": msg, "clusters": ids})
		errs = append(errs, string(e))
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return errs, nil
}

// decodeAnswer decodes the LLM's answer object, numbers kept exact.
func decodeAnswer(raw json.RawMessage) (map[string]any, bool) {
	v, err := decodeJSON(raw)
	m, ok := v.(map[string]any)
	return m, err == nil && ok
}

// clusterMembers lists, per cluster of all (top-level then sub-clusters),
// the rows inside it at any depth.
func clusterMembers(res *engine.Result, all []engine.Cluster) [][]int {
	members := make([][]int, len(all))
	if res.Leaf == nil {
		// Counted first, so that the lists share one allocation.
		count := make([]int, len(all))
		for _, l := range res.Labels {
			if l >= 0 {
				count[l]++
			}
		}
		rows, at := make([]int, 0, len(res.Labels)), 0
		for j, c := range count {
			members[j] = rows[at : at : at+c]
			at += c
		}
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
			res.Centroids[i].Metadata = l.Metadata
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
