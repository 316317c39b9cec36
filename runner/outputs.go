package runner

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// OutputSuffix ends the name of a cluster's output collection:
// "<cluster name or id>_clusters", and with output_strategy per_feature
// "<cluster name or id>_clusters_<feature>".
const OutputSuffix = "_clusters"

// outputSpec is one output collection of a cluster.
type outputSpec struct {
	key  string // "" for the single output collection, else the feature's key (see blockKey)
	pos  int
	name string
}

// blockKey identifies a feature among a run's: its URI as configured, or
// its name when the configuration names none.
func blockKey(b block) string {
	if b.URI != "" {
		return b.URI
	}
	return b.Name
}

// outputSpecs names a cluster's output collections: one holding every
// feature's centroids, or with per_feature one per feature (of blocks, in
// order) named after the feature's output (the part after the last '/' of
// a URI, or its name), with characters other than letters, digits, '-',
// '.' and '_' made '_' and, when two features would share a name, the
// feature's position appended. Names are cut to leave room for the
// store's "_N" when a user's collection has the name.
func outputSpecs(cl store.Cluster, perFeature bool, blocks []block) []outputSpec {
	base := cl.Name
	if base == "" {
		base = cl.ID
	}
	if !perFeature || len(blocks) == 0 {
		return []outputSpec{{name: cutName(base, OutputSuffix)}}
	}
	suffixes := make([]string, len(blocks))
	seen := map[string]int{}
	for i, b := range blocks {
		k := blockKey(b)
		suffixes[i] = sanitize(k[strings.LastIndex(k, "/")+1:])
		seen[suffixes[i]]++
	}
	out := make([]outputSpec, len(blocks))
	for i, b := range blocks {
		suffix := suffixes[i]
		if seen[suffix] > 1 {
			suffix += "_" + strconv.Itoa(i)
		}
		out[i] = outputSpec{key: blockKey(b), pos: i, name: cutName(base, OutputSuffix+"_"+suffix)}
	}
	return out
}

// outputNameLimit leaves room for the "_100" the store may append within
// model.MaxNameLength.
const outputNameLimit = model.MaxNameLength - 4

// cutName is base+suffix, base shortened (at a character boundary) so that
// the whole stays within outputNameLimit bytes.
func cutName(base, suffix string) string {
	if len(suffix) > outputNameLimit {
		suffix = suffix[:outputNameLimit]
		for !utf8.ValidString(suffix) {
			suffix = suffix[:len(suffix)-1]
		}
		return suffix
	}
	for len(base)+len(suffix) > outputNameLimit {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + suffix
}

func sanitize(s string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
	if out == "" {
		return "feature"
	}
	return out
}

// writeOutputs replaces the documents of the cluster's output collections
// with this run's clusters (see store.WriteClusterOutput): one document per
// cluster, sub-clusters included and noise not, whose id is the cluster id
// (cl_0), whose features are its centroid per feature (named as the
// source feature: the members' stored vectors combined by
// effective_feature_method) and whose payload is label, summary, keywords,
// num_members, run_id, cluster_id (the clust_ id), parent_cluster_id,
// hierarchy_level and metadata (the centroid's metadata object, {} when it
// has none), plus feature_uri ("independent") and attributes (attribute
// clusters). With per_feature each collection has its feature's vectors:
// every cluster for a joined clustering, that feature's clusters for an
// "independent" one.
func (r *Runner) writeOutputs(ctx context.Context, run store.Run, cl store.Cluster, cfg *model.CreateClusterRequest, c *clustering, res *model.ExecutionResult, log *slog.Logger) error {
	var blocks []block
	for _, p := range c.parts {
		blocks = append(blocks, p.data.Blocks...)
	}
	vc := cfg.VectorConfig
	method := "mean"
	if vc != nil && vc.EffectiveFeatureMethod != "" {
		method = vc.EffectiveFeatureMethod
	}
	specs := outputSpecs(cl, vc != nil && vc.OutputStrategy == model.OutputPerFeature, blocks)
	centroids := map[string]model.ExecutionCentroid{}
	for _, ec := range res.Centroids {
		centroids[centroidKey(ec.FeatureURI, ec.ClusterID)] = ec
	}
	for _, o := range specs {
		docs := []store.DocumentInput{}
		for _, p := range c.parts {
			var use []block
			for _, b := range p.data.Blocks {
				if o.key == "" || blockKey(b) == o.key {
					use = append(use, b)
				}
			}
			if o.key != "" && len(use) == 0 {
				continue
			}
			all := p.res.AllClusters()
			members := clusterMembers(p.res, all)
			means := map[string][][]float32{} // per block, when method is mean
			if method == "mean" {
				for _, b := range use {
					means[b.Name] = memberMeans(b, members)
				}
			}
			var feature *string
			if p.feature != "" {
				feature = &p.feature
			}
			for j, ecl := range all {
				doc := store.DocumentInput{ID: ecl.ID}
				if len(use) > 0 {
					doc.Features = map[string][]float32{}
					for _, b := range use {
						if m := means[b.Name]; m != nil {
							doc.Features[b.Name] = m[j]
						} else {
							doc.Features[b.Name] = representative(b, members[j], method, ecl.Centroid, p.res.Vectors)
						}
					}
				}
				payload := outputPayload(centroids[centroidKey(feature, ecl.ID)], ecl, run, p.attrs[ecl.ID])
				b, err := json.Marshal(payload)
				if err != nil {
					return err
				}
				doc.Payload = b
				docs = append(docs, doc)
			}
		}
		desc := "Clusters of " + cl.ID + ", one document per cluster of its latest completed run"
		l, _ := ctx.Value(leaseKey{}).(lease) // fences the write (none when not run from the queue)
		col, err := r.cfg.Store.WriteClusterOutput(ctx, store.OutputWrite{NamespaceID: run.NamespaceID, ClusterID: cl.ID, Key: o.key,
			Position: o.pos, Name: o.name, Description: desc, Documents: docs, Job: l.job, Owner: l.owner})
		if err != nil {
			return err
		}
		log.Info("output collection written", "collection_id", col.ID, "name", col.Name, "documents", len(docs))
	}
	return nil
}

// centroidKey identifies a centroid of an execution: its feature
// ("independent") and cluster id.
func centroidKey(feature *string, id string) string {
	if feature == nil {
		return id
	}
	return *feature + "\x00" + id
}

func outputPayload(ec model.ExecutionCentroid, c engine.Cluster, run store.Run, attrs map[string]any) map[string]any {
	keywords := ec.Keywords
	if keywords == nil {
		keywords = []string{}
	}
	var parent any
	if c.Parent != "" {
		parent = c.Parent
	}
	meta, _ := centroidObject(ec)["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	p := map[string]any{"label": ec.Label, "summary": ec.Summary, "keywords": keywords, "num_members": c.Members, "run_id": run.RunID,
		"cluster_id": run.ClusterID, "parent_cluster_id": parent, "hierarchy_level": c.Level, "metadata": meta}
	if ec.FeatureURI != nil {
		p["feature_uri"] = *ec.FeatureURI
	}
	if attrs != nil {
		p["attributes"] = attrs
	}
	return p
}

// centroidObject is a centroid as its JSON object (so fields other
// packages add to ExecutionCentroid, such as an LLM's metadata, are read
// without naming them).
func centroidObject(ec model.ExecutionCentroid) map[string]any {
	var out map[string]any
	if b, err := json.Marshal(ec); err == nil {
		json.Unmarshal(b, &out)
	}
	return out
}

// memberMeans is representative's mean for every cluster at once, in one
// pass over the rows in order, when no row is in two clusters (else nil:
// sub-clusters share their parents' rows). It adds each cluster's rows in
// the same order as representative, so the means are the same, without
// reading the rows cluster by cluster across the whole block.
func memberMeans(b block, members [][]int) [][]float32 {
	n := len(b.X) / max(b.D, 1)
	owner := make([]int32, n)
	for i := range owner {
		owner[i] = -1
	}
	for j, rows := range members {
		for _, i := range rows {
			if owner[i] >= 0 {
				return nil
			}
			owner[i] = int32(j)
		}
	}
	sums := make([]float64, len(members)*b.D)
	for i, j := range owner {
		if j >= 0 {
			s := sums[int(j)*b.D : (int(j)+1)*b.D]
			for t, v := range b.X[i*b.D : (i+1)*b.D] {
				s[t] += float64(v)
			}
		}
	}
	out := make([][]float32, len(members))
	for j, rows := range members {
		out[j] = make([]float32, b.D)
		if len(rows) == 0 {
			continue
		}
		for t := range out[j] {
			out[j][t] = float32(sums[j*b.D+t] / float64(len(rows)))
		}
	}
	return out
}

// representative is a cluster's vector of one feature from its members'
// stored vectors (rows): their mean, their per-feature median, or for
// medoid the stored vector of the member nearest the cluster's centroid in
// the clustered space (the medoid itself).
func representative(b block, rows []int, method string, centroid []float32, clustered engine.Input) []float32 {
	out := make([]float32, b.D)
	if len(rows) == 0 {
		return out
	}
	switch method {
	case "median":
		vals := make([]float64, len(rows))
		for t := 0; t < b.D; t++ {
			for p, i := range rows {
				vals[p] = float64(b.X[i*b.D+t])
			}
			slices.Sort(vals)
			m := len(vals)
			if m%2 == 1 {
				out[t] = float32(vals[m/2])
			} else {
				out[t] = float32((vals[m/2-1] + vals[m/2]) / 2)
			}
		}
	case "medoid":
		if clustered.D > 0 && len(centroid) == clustered.D {
			best, bestD := rows[0], math.Inf(1)
			for _, i := range rows {
				if d := float64(exactDistance(clustered, i, centroid)); d < bestD {
					best, bestD = i, d
				}
			}
			copy(out, b.X[best*b.D:(best+1)*b.D])
			return out
		}
		fallthrough
	default:
		sum := make([]float64, b.D)
		for _, i := range rows {
			for t, v := range b.X[i*b.D : (i+1)*b.D] {
				sum[t] += float64(v)
			}
		}
		for t := range out {
			out[t] = float32(sum[t] / float64(len(rows)))
		}
	}
	return out
}
