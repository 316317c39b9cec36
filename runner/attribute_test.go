package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// seedClusterID is the seed's ClusterExecutionCentroid.cluster_id pattern.
var seedClusterID = regexp.MustCompile(`^cl_(-?[0-9]+(_sub_[0-9]+)*|cluster_noise)$`)

// TestAttributeFlat: one cluster per distinct combination of the
// attributes' values (ordered by label), labelled "Electronics_Apple"; a
// document lacking a value (absent or null) is noise; "metadata." reads
// the payload. With the collection's only feature as vectors the
// centroids are the members' means, distances and metrics are computed on
// them (against a brute-force computation of each definition, and
// scikit-learn's when installed), and the output collection holds one
// document per cluster with its mean vector and attributes.
func TestAttributeFlat(t *testing.T) {
	w := newWorld(t)
	rng := rand.New(rand.NewPCG(3, 4))
	payloads := []string{
		`{"category":"Electronics","brand":"Apple","text":"phone apple"}`,
		`{"category":"Electronics","brand":"Samsung","text":"phone samsung"}`,
		`{"category":"Books","brand":"Penguin","text":"novel paper"}`,
		`{"category":"Electronics","brand":5,"text":"cable five"}`,
		`{"category":"Electronics","brand":null,"text":"unknown"}`,
		`{"brand":"Apple","text":"no category"}`,
	}
	var docs []store.DocumentInput
	var vecs [][]float64
	var group []int // index into payloads
	for i := 0; i < 40; i++ {
		g := i % len(payloads)
		v := []float32{float32(g*5) + float32(rng.NormFloat64()), float32(rng.NormFloat64())}
		docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("d%02d", i), Features: map[string][]float32{"emb": v}, Payload: json.RawMessage(payloads[g])})
		vecs = append(vecs, []float64{float64(v[0]), float64(v[1])})
		group = append(group, g)
	}
	col := w.collection("products", docs)
	w.cluster("clust_flat", "shop", fmt.Sprintf(`{"collection_ids":[%q],"cluster_type":"attribute",
		"attribute_config":{"attributes":["category","metadata.brand"]}}`, col.ID))
	run, res := w.completed("clust_flat")

	// payload index → expected cluster, by label order.
	want := map[int]string{2: "cl_0", 3: "cl_1", 0: "cl_2", 1: "cl_3", 4: model.NoiseClusterID, 5: model.NoiseClusterID}
	labels := map[string]string{"cl_0": "Books_Penguin", "cl_1": "Electronics_5", "cl_2": "Electronics_Apple", "cl_3": "Electronics_Samsung"}
	attrs := map[string]string{"cl_0": `{"category":"Books","metadata.brand":"Penguin"}`, "cl_1": `{"category":"Electronics","metadata.brand":5}`,
		"cl_2": `{"category":"Electronics","metadata.brand":"Apple"}`, "cl_3": `{"category":"Electronics","metadata.brand":"Samsung"}`}
	if res.NumClusters != 4 || res.Algorithm != "attribute_based" || res.NumPoints != 40 {
		t.Fatalf("%d clusters, algorithm %s, %d points", res.NumClusters, res.Algorithm, res.NumPoints)
	}
	truth := make([]int, len(docs))
	members := map[string][]int{}
	for i, g := range group {
		truth[i] = -1
		if id := want[g]; id != model.NoiseClusterID {
			fmt.Sscanf(id, "cl_%d", &truth[i])
			members[id] = append(members[id], i)
		}
	}
	for _, c := range res.Centroids {
		if !seedClusterID.MatchString(c.ClusterID) {
			t.Errorf("cluster id %q does not match the seed's pattern", c.ClusterID)
		}
		if c.ClusterID == model.NoiseClusterID {
			if c.NumMembers != 12 {
				t.Errorf("noise has %d members, want 12", c.NumMembers)
			}
			continue
		}
		if c.Label == nil || *c.Label != labels[c.ClusterID] || c.NumMembers != len(members[c.ClusterID]) || jsonString(c.Attributes) != attrs[c.ClusterID] {
			t.Errorf("%s: label %v, %d members, attributes %s", c.ClusterID, deref(c.Label), c.NumMembers, jsonString(c.Attributes))
		}
		if len(c.Keywords) == 0 {
			t.Errorf("%s has no keywords", c.ClusterID)
		}
	}
	// Centroids are the members' means; distances are to them.
	means := map[string][]float64{}
	for id, rows := range members {
		m := make([]float64, 2)
		for _, i := range rows {
			m[0] += vecs[i][0] / float64(len(rows))
			m[1] += vecs[i][1] / float64(len(rows))
		}
		means[id] = m
	}
	for _, c := range w.centroids(run) {
		m := means[c.ClusterID]
		if len(c.CentroidVector) != 2 || !near(float64(c.CentroidVector[0]), m[0], 1e-5) || !near(float64(c.CentroidVector[1]), m[1], 1e-5) || c.X == nil {
			t.Errorf("%s centroid %v, want %v", c.ClusterID, c.CentroidVector, m)
		}
	}
	for _, m := range w.members(run) {
		var i int
		fmt.Sscanf(m.PointID, "d%d", &i)
		id := want[group[i]]
		if m.ClusterID != id || m.X == nil {
			t.Errorf("%s: cluster %s, want %s", m.PointID, m.ClusterID, id)
			continue
		}
		if id == model.NoiseClusterID {
			if m.DistanceToCentroid != nil {
				t.Errorf("noise %s has a distance", m.PointID)
			}
			continue
		}
		e := math.Hypot(vecs[i][0]-means[id][0], vecs[i][1]-means[id][1])
		if m.DistanceToCentroid == nil || !near(float64(*m.DistanceToCentroid), e, 1e-5) {
			t.Errorf("%s distance %v, want %v", m.PointID, m.DistanceToCentroid, e)
		}
	}
	sil, db, ch := bruteMetrics(vecs, truth)
	if res.Metrics == nil || !near(*res.Metrics.SilhouetteScore, sil, 1e-6) || !near(*res.Metrics.DaviesBouldinIndex, db, 1e-6) || !near(*res.Metrics.CalinskiHarabaszScore, ch, 1e-6) {
		t.Errorf("metrics %s, want %v %v %v", jsonString(res.Metrics), sil, db, ch)
	}
	if py := sklearnPython(); py != "" {
		s2, d2, c2 := sklearnMetrics(t, py, vecs, truth)
		if !near(*res.Metrics.SilhouetteScore, s2, 1e-6) || !near(*res.Metrics.DaviesBouldinIndex, d2, 1e-6) || !near(*res.Metrics.CalinskiHarabaszScore, c2, 1e-6) {
			t.Errorf("metrics %s, scikit-learn %v %v %v", jsonString(res.Metrics), s2, d2, c2)
		}
	} else {
		t.Log("scikit-learn not installed: metrics compared with the brute-force definitions only")
	}
	// The output collection.
	out := w.documents("shop_clusters")
	if len(out) != 4 {
		t.Fatalf("output collection has %d documents", len(out))
	}
	for id, d := range out {
		p := payloadOf(t, d)
		if p["label"] != labels[id] || p["cluster_id"] != "clust_flat" || p["run_id"] != run.RunID || p["num_members"] != float64(len(members[id])) ||
			jsonString(p["attributes"]) != attrs[id] || p["hierarchy_level"] != float64(0) || p["parent_cluster_id"] != nil {
			t.Errorf("output %s payload %s", id, d.Payload)
		}
		v := d.Features["emb"]
		if len(v) != 2 || !near(float64(v[0]), means[id][0], 1e-5) {
			t.Errorf("output %s vector %v, want %v", id, v, means[id])
		}
	}
}

// TestAttributeHierarchy: with hierarchical_grouping, one level per
// attribute (cl_1, cl_1_sub_0, cl_1_sub_0_sub_2, … matching the seed's
// pattern) labelled by its own value; a document lacking a deeper value
// stays in its parent, one lacking the first is noise; a parent's deeper
// attributes are aggregated by aggregation_method. The documents have no
// vectors: metrics are null, members have no coordinates or distances,
// and the output documents have no features.
func TestAttributeHierarchy(t *testing.T) {
	rows := []string{
		`{"c":"E","b":"S","col":"red"}`,
		`{"c":"E","b":"A","col":"blue"}`,
		`{"c":"E","b":"A","col":"red"}`,
		`{"c":"E","b":"A","col":"green"}`,
		`{"c":"E","col":"green"}`,
		`{"c":"B","b":"P","col":"red"}`,
		`{"c":"B","b":"P"}`,
		`{"b":"A","col":"red"}`,
		`{"c":"E","b":"T","col":"red"}`,
	}
	leaf := []string{"cl_1_sub_1_sub_0", "cl_1_sub_0_sub_0", "cl_1_sub_0_sub_2", "cl_1_sub_0_sub_1", "cl_1", "cl_0_sub_0_sub_0", "cl_0_sub_0", model.NoiseClusterID, "cl_1_sub_2_sub_0"}
	type node struct {
		label, parent string
		level, size   int
	}
	tree := map[string]node{
		"cl_0": {"B", "", 0, 2}, "cl_1": {"E", "", 0, 6},
		"cl_0_sub_0": {"P", "cl_0", 1, 2}, "cl_0_sub_0_sub_0": {"red", "cl_0_sub_0", 2, 1},
		"cl_1_sub_0": {"A", "cl_1", 1, 3}, "cl_1_sub_1": {"S", "cl_1", 1, 1}, "cl_1_sub_2": {"T", "cl_1", 1, 1},
		"cl_1_sub_0_sub_0": {"blue", "cl_1_sub_0", 2, 1}, "cl_1_sub_0_sub_1": {"green", "cl_1_sub_0", 2, 1}, "cl_1_sub_0_sub_2": {"red", "cl_1_sub_0", 2, 1},
		"cl_1_sub_1_sub_0": {"red", "cl_1_sub_1", 2, 1}, "cl_1_sub_2_sub_0": {"red", "cl_1_sub_2", 2, 1},
	}
	for _, tc := range []struct {
		method  string
		e, eSub string // cl_1's attributes; cl_1_sub_0's
	}{
		{"most_frequent", `{"b":"A","c":"E","col":"red"}`, `{"b":"A","c":"E","col":"blue"}`},
		{"first", `{"b":"S","c":"E","col":"red"}`, `{"b":"A","c":"E","col":"blue"}`},
		{"last", `{"b":"T","c":"E","col":"red"}`, `{"b":"A","c":"E","col":"green"}`},
	} {
		t.Run(tc.method, func(t *testing.T) {
			w := newWorld(t)
			var docs []store.DocumentInput
			for i, p := range rows {
				docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("d%d", i), Payload: json.RawMessage(p)})
			}
			col := w.collection("orders", docs)
			w.cluster("clust_h", "", fmt.Sprintf(`{"collection_ids":[%q],"cluster_type":"attribute",
				"attribute_config":{"attributes":["c","b","col"],"hierarchical_grouping":true,"aggregation_method":%q}}`, col.ID, tc.method))
			run, res := w.completed("clust_h")
			if res.NumClusters != 2 || res.Metrics != nil || len(res.Centroids) != len(tree)+1 {
				t.Fatalf("%d clusters, metrics %v, %d centroids", res.NumClusters, res.Metrics, len(res.Centroids))
			}
			relations := 0
			for _, c := range res.Centroids {
				if !seedClusterID.MatchString(c.ClusterID) {
					t.Errorf("cluster id %q does not match the seed's pattern", c.ClusterID)
				}
				if c.ClusterID == model.NoiseClusterID {
					continue
				}
				n, ok := tree[c.ClusterID]
				if !ok || deref(c.Label) != n.label || c.NumMembers != n.size || c.HierarchyLevel == nil || *c.HierarchyLevel != n.level ||
					deref(c.ParentClusterID) != n.parent || c.Variance != nil {
					t.Errorf("%s: %s", c.ClusterID, jsonString(c))
				}
				if n.parent != "" {
					relations++
				}
			}
			if !res.Stats.HierarchyDetected || len(res.Stats.HierarchyRelationships) != relations {
				t.Errorf("hierarchy %v with %d relationships, want %d", res.Stats.HierarchyDetected, len(res.Stats.HierarchyRelationships), relations)
			}
			for _, c := range res.Centroids {
				switch c.ClusterID {
				case "cl_1":
					if got := jsonString(c.Attributes); got != tc.e {
						t.Errorf("cl_1 attributes %s, want %s", got, tc.e)
					}
				case "cl_1_sub_0":
					if got := jsonString(c.Attributes); got != tc.eSub {
						t.Errorf("cl_1_sub_0 attributes %s, want %s", got, tc.eSub)
					}
				case "cl_0_sub_0":
					if got := jsonString(c.Attributes); got != `{"b":"P","c":"B","col":"red"}` {
						t.Errorf("cl_0_sub_0 attributes %s", got)
					}
				}
			}
			for _, m := range w.members(run) {
				var i int
				fmt.Sscanf(m.PointID, "d%d", &i)
				if m.ClusterID != leaf[i] || m.X != nil || m.DistanceToCentroid != nil {
					t.Errorf("%s: cluster %s (want %s), x %v, distance %v", m.PointID, m.ClusterID, leaf[i], m.X, m.DistanceToCentroid)
				}
			}
			for _, c := range w.centroids(run) {
				if len(c.CentroidVector) != 0 || c.X != nil || c.Variance != nil {
					t.Errorf("centroid %s of a run without vectors: %+v", c.ClusterID, c)
				}
			}
			out := w.documents("clust_h_clusters")
			if len(out) != len(tree) {
				t.Fatalf("output collection has %d documents, want %d", len(out), len(tree))
			}
			for id, d := range out {
				p := payloadOf(t, d)
				if len(d.Features) != 0 || p["label"] != tree[id].label || p["hierarchy_level"] != float64(tree[id].level) {
					t.Errorf("output %s: %v %s", id, d.Features, d.Payload)
				}
			}
		})
	}
}

// TestAggregate: the value a cluster reports for an attribute its
// members do not share.
func TestAggregate(t *testing.T) {
	docs := []map[string]any{{"v": "x"}, {"v": "y"}, {}, {"v": "y"}, {"v": "x"}, {"v": nil}, {"v": "z"}}
	for _, tc := range []struct {
		method string
		rows   []int
		want   any
	}{
		{"most_frequent", []int{0, 1, 2, 3, 4, 5, 6}, "x"}, // x and y twice: x was met first
		{"most_frequent", []int{1, 3, 4}, "y"},
		{"first", []int{2, 5, 1, 0}, "y"},
		{"last", []int{0, 6, 5, 2}, "z"},
		{"first", []int{2, 5}, nil},
	} {
		if got := aggregate(docs, tc.rows, "v", tc.method); got != tc.want {
			t.Errorf("%s over %v: %v, want %v", tc.method, tc.rows, got, tc.want)
		}
	}
}

// TestAttributeValue: dot paths, and the metadata./payload. prefixes read
// as the payload itself unless the payload has such a key.
func TestAttributeValue(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": "ab"}, "top": 1.0, "metadata": map[string]any{"x": "mx"}, "nil": nil}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"a.b", "ab", true}, {"metadata.top", 1.0, true}, {"payload.a.b", "ab", true}, {"metadata.x", "mx", true},
		{"a.c", nil, false}, {"nil", nil, false}, {"top.x", nil, false},
	} {
		got, ok := attributeValue(doc, tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %v %v, want %v %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// TestAttributeWithVectorConfig: vector_config (clustering_method
// attribute_based) names the features whose centroids are reported;
// hierarchical centroids are the means of all their members.
func TestAttributeWithVectorConfig(t *testing.T) {
	w := newWorld(t)
	var docs []store.DocumentInput
	for i := 0; i < 12; i++ {
		docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("d%d", i),
			Features: map[string][]float32{"a": {float32(i), 0}, "b": {1, 2, 3}},
			Payload:  json.RawMessage(fmt.Sprintf(`{"g":"%c","h":%d}`, 'p'+rune(i%2), i%3))})
	}
	col := w.collection("two", docs)
	w.cluster("clust_v", "", fmt.Sprintf(`{"collection_ids":[%q],"cluster_type":"attribute",
		"vector_config":{"clustering_method":"attribute_based","feature_uris":["a"]},
		"attribute_config":{"attributes":["g","h"],"hierarchical_grouping":true}}`, col.ID))
	run, res := w.completed("clust_v")
	if res.NumClusters != 2 || res.Metrics == nil {
		t.Fatalf("%d clusters, metrics %v", res.NumClusters, res.Metrics)
	}
	cents := map[string][]float32{}
	for _, c := range w.centroids(run) {
		cents[c.ClusterID] = c.CentroidVector
	}
	// g = p for even i: mean of 0, 2, …, 10 is 5; cl_0_sub_0 is h = 0: i = 0, 6.
	if !slices.Equal(cents["cl_0"], []float32{5, 0}) || !slices.Equal(cents["cl_1"], []float32{6, 0}) || !slices.Equal(cents["cl_0_sub_0"], []float32{3, 0}) {
		t.Errorf("centroids %v", cents)
	}
}

// TestOutputsFollowRuns: each completed run replaces the output
// collection's documents: a cluster that no longer exists loses its
// document, the collection stays the same one.
func TestOutputsFollowRuns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var docs []store.DocumentInput
	for i := 0; i < 9; i++ {
		docs = append(docs, store.DocumentInput{ID: fmt.Sprint(i), Payload: json.RawMessage(fmt.Sprintf(`{"s":"%c"}`, 'a'+rune(i%3)))})
	}
	col := w.collection("st", docs)
	w.cluster("clust_o", "o", fmt.Sprintf(`{"collection_ids":[%q],"cluster_type":"attribute","attribute_config":{"attributes":["s"]}}`, col.ID))
	w.completed("clust_o")
	first, _ := w.st.ClusterOutputs(ctx, "clust_o")
	if got := w.documents("o_clusters"); len(got) != 3 {
		t.Fatalf("first run: %d output documents", len(got))
	}
	for i := range docs {
		docs[i].Payload = json.RawMessage(fmt.Sprintf(`{"s":"%c"}`, 'a'+rune(i%2)))
	}
	if _, err := w.st.Upsert(ctx, col.ID, &store.SliceSource{Docs: docs}); err != nil {
		t.Fatal(err)
	}
	run, _ := w.completed("clust_o")
	second, _ := w.st.ClusterOutputs(ctx, "clust_o")
	got := w.documents("o_clusters")
	if len(got) != 2 || got["cl_2"].ID != "" || len(first) != 1 || len(second) != 1 || first[0].CollectionID != second[0].CollectionID {
		t.Fatalf("second run: documents %v, outputs %+v then %+v", got, first, second)
	}
	if p := payloadOf(t, got["cl_1"]); p["label"] != "b" || p["run_id"] != run.RunID || p["num_members"] != 4.0 {
		t.Errorf("cl_1 after the second run: %s", got["cl_1"].Payload)
	}
}

// TestAttributeEnrichment: enrich_source_collection writes the mapped
// fields into the source documents, metadata.PATH reading the cluster's
// attributes, and no output collection is written.
func TestAttributeEnrichment(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var docs []store.DocumentInput
	for i := 0; i < 6; i++ {
		docs = append(docs, store.DocumentInput{ID: fmt.Sprint(i), Payload: json.RawMessage(fmt.Sprintf(`{"category":"%c","n":%d}`, 'x'+rune(i%2), i))})
	}
	col := w.collection("src", docs)
	w.cluster("clust_e", "e", fmt.Sprintf(`{"collection_ids":[%q],"cluster_type":"attribute","attribute_config":{"attributes":["metadata.category"]},
		"enrich_source_collection":true,"source_enrichment_config":{"field_mappings":[{"source_field":"cluster_id","target_field":"seg"},
		{"source_field":"cluster_label","target_field":"name"},{"source_field":"metadata.category","target_field":"cat"},
		{"source_field":"member_count","target_field":"size"},{"source_field":"distance_to_centroid","target_field":"d"}]}}`, col.ID))
	w.completed("clust_e")
	for id, d := range w.documents("src") {
		p := payloadOf(t, d)
		var i int
		fmt.Sscanf(id, "%d", &i)
		want := string('x' + rune(i%2))
		if p["seg"] != fmt.Sprintf("cl_%d", i%2) || p["name"] != want || p["cat"] != want || p["size"] != 3.0 || p["n"] != float64(i) {
			t.Errorf("%s: %s", id, d.Payload)
		}
		if _, ok := p["d"]; ok {
			t.Errorf("%s: a distance without vectors: %s", id, d.Payload)
		}
	}
	if outs, _ := w.st.ClusterOutputs(ctx, "clust_e"); len(outs) != 0 {
		t.Errorf("output collections %+v", outs)
	}
}
