package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/params"
)

// AttributeLabelSeparator joins the values of a flat attribute cluster's
// attributes into its label ("Electronics_Apple", as Mixpeek's example).
const AttributeLabelSeparator = "_"

// attrNode is one attribute cluster: the documents sharing the values of
// its attributes (flat: all of them; hierarchical: the first level+1).
type attrNode struct {
	id       string
	level    int
	parent   *attrNode
	label    string
	values   map[string]any // attribute → value, for the attributes that define the node
	rows     []int          // members, at any depth, ascending
	children []*attrNode
}

// attrKey is one attribute value as the grouping compares it.
type attrKey struct {
	key   string // canonical JSON (numbers as written)
	label string // as shown in labels: a string as is, anything else its JSON
	value any
}

// groupAttributes groups rows by their payloads' values of the attributes.
// A row lacking an attribute (absent or null) takes no part in that
// attribute's grouping: flat, it is noise; hierarchical, it stays in the
// deepest cluster whose attributes it has (noise when it lacks the first).
// Clusters are ordered by their values (by label, then canonical JSON), and
// numbered cl_0, cl_1, … (sub-clusters PARENT_sub_0, …). It returns the
// top-level clusters.
func groupAttributes(docs []map[string]any, ac *model.AttributeConfig) ([]*attrNode, error) {
	n := len(docs)
	vals := make([][]*attrKey, n) // row → attribute → value (nil: missing)
	for i, doc := range docs {
		vals[i] = make([]*attrKey, len(ac.Attributes))
		for a, path := range ac.Attributes {
			if v, ok := attributeValue(doc, path); ok {
				k, err := keyOf(v)
				if err != nil {
					return nil, err
				}
				vals[i][a] = k
			}
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if !ac.HierarchicalGrouping {
		groups := group(all, func(i int) (*attrKey, bool) {
			parts := make([]any, len(ac.Attributes))
			labels := make([]string, len(ac.Attributes))
			for a, k := range vals[i] {
				if k == nil {
					return nil, false
				}
				parts[a], labels[a] = k.value, k.label
			}
			k, _ := keyOf(parts)
			k.label = strings.Join(labels, AttributeLabelSeparator)
			return k, true
		})
		var out []*attrNode
		for j, g := range groups {
			node := &attrNode{id: "cl_" + strconv.Itoa(j), label: g.key.label, rows: g.rows, values: map[string]any{}}
			for a, name := range ac.Attributes {
				node.values[name] = vals[g.rows[0]][a].value
			}
			out = append(out, node)
		}
		return out, nil
	}
	var build func(rows []int, level int, parent *attrNode) []*attrNode
	build = func(rows []int, level int, parent *attrNode) []*attrNode {
		groups := group(rows, func(i int) (*attrKey, bool) {
			k := vals[i][level]
			return k, k != nil
		})
		out := make([]*attrNode, len(groups))
		for j, g := range groups {
			node := &attrNode{level: level, parent: parent, label: g.key.label, rows: g.rows, values: map[string]any{}}
			if parent == nil {
				node.id = "cl_" + strconv.Itoa(j)
			} else {
				node.id = parent.id + "_sub_" + strconv.Itoa(j)
				for k, v := range parent.values {
					node.values[k] = v
				}
			}
			node.values[ac.Attributes[level]] = g.key.value
			if level+1 < len(ac.Attributes) {
				node.children = build(g.rows, level+1, node)
			}
			out[j] = node
		}
		return out
	}
	return build(all, 0, nil), nil
}

type rowGroup struct {
	key  *attrKey
	rows []int
}

// group partitions rows by key (rows without one are left out), ordered by
// label then canonical key.
func group(rows []int, key func(i int) (*attrKey, bool)) []rowGroup {
	index := map[string]int{}
	var out []rowGroup
	for _, i := range rows {
		k, ok := key(i)
		if !ok {
			continue
		}
		j, seen := index[k.key]
		if !seen {
			j = len(out)
			index[k.key] = j
			out = append(out, rowGroup{key: k})
		}
		out[j].rows = append(out[j].rows, i)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].key.label != out[b].key.label {
			return out[a].key.label < out[b].key.label
		}
		return out[a].key.key < out[b].key.key
	})
	return out
}

func decodePayload(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// attributeValue reads a dot path from a payload. A "metadata." or
// "payload." prefix names the payload itself: the path without it is read
// first, then the path as written (for payloads that do have such a key).
// An absent or null value is missing.
func attributeValue(doc map[string]any, path string) (any, bool) {
	for _, prefix := range []string{"metadata.", "payload."} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			if v, ok := lookupPath(doc, rest); ok {
				return v, true
			}
			break
		}
	}
	return lookupPath(doc, path)
}

// lookupPath reads a dot path; absent or null is missing.
func lookupPath(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func keyOf(v any) (*attrKey, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	k := &attrKey{key: string(b), label: string(b), value: v}
	if s, ok := v.(string); ok {
		k.label = s
	}
	return k, nil
}

// aggregate chooses the value of an attribute reported for a cluster from
// its members' values (rows in load order), as aggregation_method says:
// most_frequent (ties: the value met first), first or last. Members
// without the attribute are skipped; nil when none has it.
func aggregate(payloads []map[string]any, rows []int, path, method string) any {
	var firstV, lastV any
	counts := map[string]int{}
	firstAt := map[string]int{}
	values := map[string]any{}
	found := false
	for p, i := range rows {
		v, ok := attributeValue(payloads[i], path)
		if !ok {
			continue
		}
		if !found {
			firstV, found = v, true
		}
		lastV = v
		k, err := keyOf(v)
		if err != nil {
			continue
		}
		if _, seen := firstAt[k.key]; !seen {
			firstAt[k.key], values[k.key] = p, v
		}
		counts[k.key]++
	}
	if !found {
		return nil
	}
	switch method {
	case model.AggregateFirst:
		return firstV
	case model.AggregateLast:
		return lastV
	}
	best := ""
	for k, c := range counts {
		if best == "" || c > counts[best] || (c == counts[best] && firstAt[k] < firstAt[best]) {
			best = k
		}
	}
	return values[best]
}

// attributeVectors says whether an attribute cluster has vectors, and
// which features: those of vector_config when given, else each
// collection's only feature when every collection has exactly one.
func (r *Runner) attributeVectors(ctx context.Context, ns string, cfg *model.CreateClusterRequest) ([]string, error) {
	if vc := cfg.VectorConfig; vc != nil {
		if f := vc.Features(); len(f) > 0 {
			return f, nil
		}
		return []string{""}, nil
	}
	for _, ref := range cfg.CollectionIDs {
		col, err := r.collection(ctx, ns, ref)
		if err != nil {
			return nil, err
		}
		if len(col.Features) != 1 {
			return nil, nil
		}
	}
	return []string{""}, nil
}

// cpuBackend is the kernels backend attribute clusters are described and
// scored on: the CPU executor's, or a CPU backend of its own.
func (r *Runner) cpuBackend() kernels.Backend {
	if l, ok := r.cfg.Backends.CPU().(dispatch.Local); ok {
		return l.Backend
	}
	return cpu.New(cpu.Options{})
}

// clusterAttributes makes the clusters of an attribute cluster: the
// distinct value combinations of attribute_config.attributes among the
// documents matching the filters (see groupAttributes). With vectors (see
// attributeVectors; documents without them are then left out, as in vector
// runs) the centroids are the members' vectors combined by
// effective_feature_method (mean by default), the metrics are computed on
// the top-level clusters, and the artifacts have positions; without, the
// centroids have no vectors and the metrics are null.
func (r *Runner) clusterAttributes(ctx context.Context, ns string, cfg *model.CreateClusterRequest, res *model.ExecutionResult, log *slog.Logger) (*clustering, error) {
	ac := cfg.AttributeConfig
	vc := cfg.VectorConfig
	res.Algorithm, res.Backend = params.AttributeBased, "cpu"
	start := time.Now()
	feats, err := r.attributeVectors(ctx, ns, cfg)
	if err != nil {
		return nil, err
	}
	var data *dataset
	c := &clustering{}
	if feats != nil {
		if data, err = r.loadBlocks(ctx, ns, cfg, feats, false); err != nil {
			return nil, err
		}
		weights := make([]float64, len(feats))
		normalize := false
		for i, f := range feats {
			weights[i] = 1
			if vc != nil {
				weights[i] = vc.FeatureWeights.Weight(i, f)
			}
		}
		if vc != nil && len(feats) > 1 {
			normalize = vc.NormalizeFeatures
			c.weights = map[string]float64{}
			for i, f := range feats {
				c.weights[f] = weights[i]
			}
		}
		data.join(normalize, weights)
	}
	if data, err = r.loadPayloads(ctx, ns, cfg, data); err != nil {
		return nil, err
	}
	c.load = time.Since(start).Seconds()
	log.Info("documents loaded", "points", data.N, "dim", data.D, "seconds", c.load)
	res.NumPoints = data.N
	if data.N == 0 {
		return nil, &engine.DataError{Row: -1, Msg: "Insufficient documents for clustering: no document matches"}
	}
	docs := make([]map[string]any, data.N)
	for i, raw := range data.Payloads {
		if len(raw) > 0 {
			if docs[i], err = decodePayload(raw); err != nil {
				return nil, fmt.Errorf("payload of document %s: %w", data.IDs[i], err)
			}
		}
	}
	tops, err := groupAttributes(docs, ac)
	if err != nil {
		return nil, fmt.Errorf("grouping attributes: %w", err)
	}
	method := "mean"
	if vc != nil && vc.EffectiveFeatureMethod != "" {
		method = vc.EffectiveFeatureMethod
	}
	result, nodes, err := r.describeAttributes(ctx, data, tops, ac.HierarchicalGrouping, method)
	if err != nil {
		return nil, err
	}
	result.Stats.Parameters = map[string]any{"attributes": ac.Attributes, "hierarchical_grouping": ac.HierarchicalGrouping, "aggregation_method": ac.Aggregation()}
	result.Stats.DurationSeconds = time.Since(start).Seconds()
	if result.Stats.DurationSeconds > 0 {
		result.Stats.PointsPerSecond = float64(data.N) / result.Stats.DurationSeconds
	}
	p := &part{data: data, res: result, attrs: map[string]map[string]any{}, names: map[string]string{}}
	for _, node := range nodes {
		attrs := map[string]any{}
		for _, name := range ac.Attributes {
			if v, ok := node.values[name]; ok {
				attrs[name] = v
			} else {
				attrs[name] = aggregate(docs, node.rows, name, ac.Aggregation())
			}
		}
		p.attrs[node.id], p.names[node.id] = attrs, node.label
	}
	c.parts = []*part{p}
	return c, nil
}

// describeAttributes turns the attribute tree into an engine result: the
// top-level clusters, the deeper ones as sub-clusters (parents before
// children, with Leaf each row's deepest cluster when hierarchical), and,
// with vectors, centroids, statistics and metrics as a vector run reports
// them. It returns the nodes in AllClusters order.
func (r *Runner) describeAttributes(ctx context.Context, data *dataset, tops []*attrNode, hierarchical bool, method string) (*engine.Result, []*attrNode, error) {
	levels := [][]*attrNode{tops}
	for l := 0; ; l++ {
		var next []*attrNode
		for _, n := range levels[l] {
			next = append(next, n.children...)
		}
		if len(next) == 0 {
			break
		}
		levels = append(levels, next)
	}
	in := engine.Input{X: data.X, N: data.N, D: data.D}
	seed := int64(engine.DefaultRandomState)
	be := r.cpuBackend()
	res := &engine.Result{Algorithm: params.AttributeBased, NumClusters: len(tops), Vectors: in,
		Stats: engine.Stats{Seed: seed, Parameters: map[string]any{}}}
	var nodes []*attrNode
	leaf := make([]int32, data.N)
	for i := range leaf {
		leaf[i] = -1
	}
	for l, level := range levels {
		labels := make([]int32, data.N)
		for i := range labels {
			labels[i] = -1
		}
		for j, n := range level {
			for _, i := range n.rows {
				labels[i] = int32(j)
				leaf[i] = int32(len(nodes) + j)
			}
		}
		clusters := make([]engine.Cluster, len(level))
		if data.D > 0 {
			cs, dist, err := engine.Describe(ctx, be, in, labels, len(level), method, seed)
			if err != nil {
				return nil, nil, err
			}
			copy(clusters, cs)
			if l == 0 {
				res.Distances = dist
				res.Centroids = make([]float32, 0, len(level)*data.D)
				for _, c := range cs {
					res.Centroids = append(res.Centroids, c.Centroid...)
				}
			}
		}
		for j, n := range level {
			c := &clusters[j]
			c.Label, c.ID, c.Members, c.Level = j, n.id, len(n.rows), l
			if data.D == 0 {
				c.Variance = math.NaN()
			}
			if n.parent != nil {
				c.Parent = n.parent.id
			}
		}
		if l == 0 {
			res.Labels, res.Clusters = labels, clusters
		} else {
			res.SubClusters = append(res.SubClusters, clusters...)
		}
		nodes = append(nodes, level...)
	}
	if hierarchical {
		res.Leaf = leaf
	}
	for _, l := range res.Labels {
		if l < 0 {
			res.Stats.NoisePoints++
		}
	}
	if data.D > 0 && len(tops) >= 2 {
		sc, err := engine.Score(ctx, be, in, res.Labels, engine.DefaultSilhouetteSampleSize, seed)
		if err != nil {
			return nil, nil, err
		}
		if sc != nil {
			res.Metrics = &engine.Metrics{Silhouette: sc.Silhouette, DaviesBouldin: sc.DaviesBouldin, CalinskiHarabasz: sc.CalinskiHarabasz}
			res.Stats.MetricsSampleSize = sc.SilhouetteSampleSize
		}
	}
	return res, nodes, nil
}

// attributeLabels makes each attribute cluster's label its values (names),
// keeping the keywords and summary labeling found from the members' text.
func attributeLabels(names map[string]string, text map[string]clusterLabel) map[string]clusterLabel {
	out := make(map[string]clusterLabel, len(names))
	for id, name := range names {
		l := text[id]
		label := name
		l.Label = &label
		if l.Keywords == nil {
			l.Keywords = []string{}
		}
		out[id] = l
	}
	return out
}
