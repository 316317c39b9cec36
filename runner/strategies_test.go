package runner

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// TestIndependent: each feature is clustered on its own with the same
// algorithm and parameters; cluster ids run on across features (the first
// feature's, then the next's), each centroid and member row names its
// feature, each feature's metrics are in stats.features (compared with a
// brute-force computation), and the parent-child pairs are those a brute
// force over the members finds (≥ 80% of the smaller cluster inside the
// larger). per_feature output collections hold each feature's clusters
// with its mean vectors; enrich_source writes the first feature's
// assignment.
func TestIndependent(t *testing.T) {
	w := newWorld(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 90
	var docs []store.DocumentInput
	va, vb := make([][]float64, n), make([][]float64, n)
	for i := 0; i < n; i++ {
		g := i % 3
		a := []float32{float32(g*10) + float32(rng.NormFloat64()*0.2), float32(rng.NormFloat64() * 0.2)}
		bx := 0.0
		if g == 2 {
			bx = 10
		}
		b := []float32{float32(bx + rng.NormFloat64()*0.2), float32(rng.NormFloat64() * 0.2), 1}
		va[i] = []float64{float64(a[0]), float64(a[1])}
		vb[i] = []float64{float64(b[0]), float64(b[1]), float64(b[2])}
		docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("d%02d", i), Features: map[string][]float32{"a": a, "b": b},
			Payload: json.RawMessage(fmt.Sprintf(`{"text":"group %d"}`, g))})
	}
	col := w.collection("multi", docs)
	uris := []string{"mixpeek://text@v1/a", "mixpeek://img@v1/b"}
	w.cluster("clust_i", "multi", fmt.Sprintf(`{"collection_ids":[%q],
		"vector_config":{"clustering_method":"dbscan","algorithm_params":{"eps":1,"min_samples":3},
			"feature_uris":%s,"multi_feature_strategy":"independent","output_strategy":"per_feature","enrich_source":true},
		"source_enrichment_config":{"field_mappings":[{"source_field":"cluster_id","target_field":"seg"},{"source_field":"member_count","target_field":"size"},
			{"source_field":"x","target_field":"vx"},{"source_field":"metadata.topic","target_field":"topic"},{"source_field":"run_id","target_field":"run"}]}}`,
		col.ID, jsonString(uris)))
	run, res := w.completed("clust_i")
	if res.NumClusters != 5 || res.NumPoints != n {
		t.Fatalf("%d clusters over %d points, want 5 over %d", res.NumClusters, res.NumPoints, n)
	}
	featureOf := map[string]string{}
	for j, c := range res.Centroids {
		want := fmt.Sprintf("cl_%d", j)
		if c.ClusterID != want || c.FeatureURI == nil || *c.FeatureURI != uris[min(j/3, 1)] {
			t.Errorf("centroid %d: %s of %v, want %s of %s", j, c.ClusterID, c.FeatureURI, want, uris[min(j/3, 1)])
		}
		featureOf[c.ClusterID] = *c.FeatureURI
	}
	// Members: one row per document and feature, the first feature's first.
	rows := w.members(run)
	if len(rows) != 2*n {
		t.Fatalf("%d member rows, want %d", len(rows), 2*n)
	}
	labelsOf := map[string][]int{}
	membersOf := map[string]map[string]bool{}
	for r, m := range rows {
		f := uris[r/n]
		if m.FeatureURI == nil || *m.FeatureURI != f || featureOf[m.ClusterID] != f {
			t.Fatalf("row %d: feature %v, cluster %s", r, m.FeatureURI, m.ClusterID)
		}
		var id int
		fmt.Sscanf(m.ClusterID, "cl_%d", &id)
		labelsOf[f] = append(labelsOf[f], id)
		if membersOf[m.ClusterID] == nil {
			membersOf[m.ClusterID] = map[string]bool{}
		}
		membersOf[m.ClusterID][m.PointID] = true
	}
	// Per-feature metrics.
	if len(res.Stats.Features) != 2 {
		t.Fatalf("stats.features %s", jsonString(res.Stats.Features))
	}
	for f, vecs := range [][][]float64{va, vb} {
		fr := res.Stats.Features[f]
		sil, db, ch := bruteMetrics(vecs, labelsOf[uris[f]])
		if fr.FeatureURI != uris[f] || fr.Metrics == nil || !near(*fr.Metrics.SilhouetteScore, sil, 1e-6) || !near(*fr.Metrics.DaviesBouldinIndex, db, 1e-6) ||
			!near(*fr.Metrics.CalinskiHarabaszScore, ch, 1e-6) {
			t.Errorf("feature %s metrics %s, want %v %v %v", uris[f], jsonString(fr.Metrics), sil, db, ch)
		}
	}
	if jsonString(res.Metrics) != jsonString(res.Stats.Features[0].Metrics) {
		t.Errorf("execution metrics %s, want the first feature's %s", jsonString(res.Metrics), jsonString(res.Stats.Features[0].Metrics))
	}
	// Parent-child pairs by brute force.
	var want []string
	for parent, pm := range membersOf {
		for child, cm := range membersOf {
			if featureOf[parent] == featureOf[child] || len(pm) <= len(cm) {
				continue
			}
			shared := 0
			for id := range cm {
				if pm[id] {
					shared++
				}
			}
			if float64(shared) >= 0.8*float64(len(cm)) {
				want = append(want, fmt.Sprintf("%s>%s:%d/%d", parent, child, shared, len(cm)))
			}
		}
	}
	var got []string
	for _, h := range res.Stats.HierarchyRelationships {
		if h.Source != model.RelationOverlap || *h.ParentFeatureURI != featureOf[h.ParentClusterID] || *h.ChildFeatureURI != featureOf[h.ChildClusterID] ||
			!near(h.Overlap, float64(h.SharedMembers)/float64(h.ChildMembers), 1e-12) {
			t.Errorf("relationship %s", jsonString(h))
		}
		got = append(got, fmt.Sprintf("%s>%s:%d/%d", h.ParentClusterID, h.ChildClusterID, h.SharedMembers, h.ChildMembers))
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 2 || !slices.Equal(got, want) || !res.Stats.HierarchyDetected {
		t.Errorf("relationships %v (detected %v), want %v", got, res.Stats.HierarchyDetected, want)
	}
	// Output collections, one per feature, named after the feature.
	for f, name := range []string{"multi_clusters_a", "multi_clusters_b"} {
		out := w.documents(name)
		feat := []string{"a", "b"}[f]
		if len(out) != []int{3, 2}[f] {
			t.Fatalf("%s has %d documents", name, len(out))
		}
		for id, d := range out {
			p := payloadOf(t, d)
			if featureOf[id] != uris[f] || p["feature_uri"] != uris[f] || len(d.Features) != 1 || len(d.Features[feat]) != 2+f {
				t.Errorf("%s/%s: features %v, payload %s", name, id, d.Features, d.Payload)
			}
			// The vector is the mean of the members' stored vectors.
			vecs := [][][]float64{va, vb}[f]
			mean := make([]float64, 2+f)
			for doc := range membersOf[id] {
				var i int
				fmt.Sscanf(doc, "d%d", &i)
				for t2 := range mean {
					mean[t2] += vecs[i][t2] / float64(len(membersOf[id]))
				}
			}
			for t2, v := range d.Features[feat] {
				if !near(float64(v), mean[t2], 1e-5) {
					t.Errorf("%s/%s vector %v, want %v", name, id, d.Features[feat], mean)
					break
				}
			}
		}
	}
	// Enrichment: the first feature's assignment, with the mapped fields.
	src := w.documents("multi")
	for _, m := range rows[:n] {
		p := payloadOf(t, src[m.PointID])
		if p["seg"] != m.ClusterID || p["run"] != run.RunID || p["vx"] == nil || p["topic"] != nil {
			t.Errorf("%s enriched with %s (member of %s)", m.PointID, src[m.PointID].Payload, m.ClusterID)
		}
		if _, ok := p["topic"]; ok {
			t.Errorf("%s: a null field was written: %s", m.PointID, src[m.PointID].Payload)
		}
		if m.ClusterID != model.NoiseClusterID && p["size"] != float64(len(membersOf[m.ClusterID])) {
			t.Errorf("%s: size %v, want %d", m.PointID, p["size"], len(membersOf[m.ClusterID]))
		}
	}
}

// TestRenumber: ids shift by the offset, sub-clusters and parents with them.
func TestRenumber(t *testing.T) {
	res := &engine.Result{Clusters: []engine.Cluster{{ID: "cl_0"}, {ID: "cl_1"}},
		SubClusters: []engine.Cluster{{ID: "cl_1_sub_0", Parent: "cl_1"}, {ID: "cl_1_sub_0_sub_2", Parent: "cl_1_sub_0"}}}
	renumber(res, 3)
	var got []string
	for _, c := range res.AllClusters() {
		got = append(got, c.ID+"<"+c.Parent)
	}
	if want := []string{"cl_3<", "cl_4<", "cl_4_sub_0<cl_4", "cl_4_sub_0_sub_2<cl_4_sub_0"}; !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

// weightedData makes documents with an informative feature "a" (3 tight
// groups) and a feature "b" of uniform noise, the case weight learning
// must turn "b" down for.
func weightedData(w *world, n int) store.Collection {
	rng := rand.New(rand.NewPCG(9, 10))
	xa, _ := blobs(rng, n, 2, 3, 0.6)
	var docs []store.DocumentInput
	for i := 0; i < n; i++ {
		b := []float32{float32(rng.Float64()*2 - 1), float32(rng.Float64()*2 - 1), float32(rng.Float64()*2 - 1)}
		docs = append(docs, store.DocumentInput{ID: fmt.Sprintf("d%03d", i), Features: map[string][]float32{"a": xa[i], "b": b}})
	}
	return w.collection("weighted", docs)
}

// joinedOf is the joined matrix of the collection's features a and b with
// weights, each block L2-normalised first.
func joinedOf(t *testing.T, w *world, col store.Collection, wa, wb float64) []float32 {
	t.Helper()
	ctx := context.Background()
	var parts []store.Vectors
	for _, name := range []string{"a", "b"} {
		f, err := w.st.ResolveFeature(ctx, col.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := w.st.LoadVectors(ctx, col.ID, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, v)
	}
	return concatenate(parts, true, []float64{wa, wb}).X
}

// TestWeightedGridSearch: grid_search evaluates every combination of the
// weights 1/m … 1 per feature and keeps the first best one; checked by a
// brute force that clusters every combination itself and scores it with
// each metric's definition (silhouette and calinski_harabasz: highest;
// davies_bouldin: lowest). The final clustering uses the learned weights.
func TestWeightedGridSearch(t *testing.T) {
	w := newWorld(t)
	const n, m = 120, 5
	col := weightedData(w, n)
	type combo struct {
		wa, wb      float64
		sil, db, ch float64
		labels      []int32
	}
	var combos []combo
	for i := 1; i <= m; i++ {
		for j := 1; j <= m; j++ {
			c := combo{wa: float64(i) / m, wb: float64(j) / m}
			x := joinedOf(t, w, col, c.wa, c.wb)
			res, err := engine.Fit(context.Background(), engine.Input{X: x, N: n, D: 5},
				engine.Spec{Algorithm: engine.KMeans, Params: json.RawMessage(`{"n_clusters":3}`)}, engine.Options{Backend: cpu.New(cpu.Options{})})
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, n)
			for r, l := range res.Labels {
				labels[r] = int(l)
			}
			c.sil, c.db, c.ch = bruteMetrics(wide(x, 5), labels)
			c.labels = res.Labels
			combos = append(combos, c)
		}
	}
	for _, tc := range []struct {
		metric string
		score  func(c combo) float64 // higher is better
		raw    func(c combo) float64
	}{
		{"silhouette", func(c combo) float64 { return c.sil }, func(c combo) float64 { return c.sil }},
		{"davies_bouldin", func(c combo) float64 { return -c.db }, func(c combo) float64 { return c.db }},
		{"calinski_harabasz", func(c combo) float64 { return c.ch }, func(c combo) float64 { return c.ch }},
	} {
		t.Run(tc.metric, func(t *testing.T) {
			best := 0
			for i, c := range combos {
				if tc.score(c) > tc.score(combos[best])+1e-9 {
					best = i
				}
			}
			id := "clust_" + tc.metric
			w.cluster(id, "", fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3},
				"feature_uris":["a","b"],"multi_feature_strategy":"weighted",
				"weight_learning_config":{"method":"grid_search","max_iterations":%d,"metric":%q}}}`, col.ID, m, tc.metric))
			run, res := w.completed(id)
			st := res.Stats
			if st.WeightLearning == nil || len(st.WeightLearning.Trials) != m*m || st.WeightLearning.SampleSize != n {
				t.Fatalf("weight learning %s", jsonString(st.WeightLearning))
			}
			for i, tr := range st.WeightLearning.Trials {
				c := combos[i]
				if tr.Weights["a"] != c.wa || tr.Weights["b"] != c.wb || tr.Score == nil || !near(*tr.Score, tc.raw(c), 1e-6) {
					t.Errorf("trial %d: %s, want a=%v b=%v score %v", i, jsonString(tr), c.wa, c.wb, tc.raw(c))
				}
			}
			want := combos[best]
			t.Logf("best of %d: a=%v b=%v, %s %v", len(combos), want.wa, want.wb, tc.metric, tc.raw(want))
			if st.LearnedWeights["a"] != want.wa || st.LearnedWeights["b"] != want.wb || st.LearningQualityScore == nil || !near(*st.LearningQualityScore, tc.raw(want), 1e-6) {
				t.Errorf("learned %v score %v, want a=%v b=%v score %v", st.LearnedWeights, st.LearningQualityScore, want.wa, want.wb, tc.raw(want))
			}
			// The final run clusters the joined features with those weights.
			members := w.members(run)
			for r, mem := range members {
				if mem.ClusterID != fmt.Sprintf("cl_%d", want.labels[r]) {
					t.Fatalf("member %s in %s, the brute force's clustering has cl_%d", mem.PointID, mem.ClusterID, want.labels[r])
				}
			}
		})
	}
}

// TestWeightedBayesian: bayesian learning evaluates max_iterations weight
// vectors, equal weights first, and learns to turn the noise feature down;
// it is reproducible (random_state); its score is the silhouette of the
// final clustering on the features joined with the learned weights (brute
// force, and scikit-learn's when installed); sample_size learns on a
// sample. Explicit feature_weights skip learning.
func TestWeightedBayesian(t *testing.T) {
	w := newWorld(t)
	const n = 150
	col := weightedData(w, n)
	def := func(id, learning string) {
		w.cluster(id, "", fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3},
			"feature_uris":["a","b"],"multi_feature_strategy":"weighted","weight_learning_config":%s}}`, col.ID, learning))
	}
	def("clust_b1", `{"method":"bayesian","max_iterations":12,"random_state":7}`)
	def("clust_b2", `{"method":"bayesian","max_iterations":12,"random_state":7}`)
	run, res := w.completed("clust_b1")
	_, again := w.completed("clust_b2")
	st := res.Stats
	if st.WeightLearning == nil || len(st.WeightLearning.Trials) != 12 || st.WeightLearning.Method != "bayesian" {
		t.Fatalf("weight learning %s", jsonString(st.WeightLearning))
	}
	if jsonString(again.Stats.WeightLearning) != jsonString(st.WeightLearning) {
		t.Errorf("not reproducible:\n%s\n%s", jsonString(st.WeightLearning), jsonString(again.Stats.WeightLearning))
	}
	first := st.WeightLearning.Trials[0]
	if first.Weights["a"] != 1 || first.Weights["b"] != 1 {
		t.Errorf("first trial %s, want equal weights", jsonString(first))
	}
	if *st.LearningQualityScore < *first.Score {
		t.Errorf("learned score %v below equal weights' %v", *st.LearningQualityScore, *first.Score)
	}
	for _, tr := range st.WeightLearning.Trials {
		if tr.Score != nil && *tr.Score > *st.LearningQualityScore {
			t.Errorf("trial %s beats the learned score %v", jsonString(tr), *st.LearningQualityScore)
		}
	}
	wa, wb := st.LearnedWeights["a"], st.LearnedWeights["b"]
	t.Logf("learned a=%.3f b=%.3f, silhouette %.4f (equal weights %.4f)", wa, wb, *st.LearningQualityScore, *first.Score)
	if wb >= 0.5*wa {
		t.Errorf("learned weights a=%v b=%v: the noise feature was not turned down", wa, wb)
	}
	x := wide(joinedOf(t, w, col, wa, wb), 5)
	labels := make([]int, n)
	for r, m := range w.members(run) {
		fmt.Sscanf(m.ClusterID, "cl_%d", &labels[r])
	}
	sil, _, _ := bruteMetrics(x, labels)
	if !near(*st.LearningQualityScore, sil, 1e-6) || !near(*res.Metrics.SilhouetteScore, sil, 1e-6) {
		t.Errorf("learning score %v, run silhouette %v, brute force %v", *st.LearningQualityScore, *res.Metrics.SilhouetteScore, sil)
	}
	if py := sklearnPython(); py != "" {
		s2, _, _ := sklearnMetrics(t, py, x, labels)
		if !near(*st.LearningQualityScore, s2, 1e-6) {
			t.Errorf("learning score %v, scikit-learn's silhouette %v", *st.LearningQualityScore, s2)
		}
	} else {
		t.Log("scikit-learn not installed: compared with the brute-force silhouette only")
	}

	def("clust_sample", `{"method":"bayesian","max_iterations":5,"sample_size":100}`)
	_, sampled := w.completed("clust_sample")
	if sampled.Stats.WeightLearning.SampleSize != 100 || sampled.NumPoints != n || len(sampled.Stats.WeightLearning.Trials) != 5 {
		t.Errorf("sampled learning: %s over %d points", jsonString(sampled.Stats.WeightLearning), sampled.NumPoints)
	}

	w.cluster("clust_fixed", "", fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3},
		"feature_uris":["a","b"],"multi_feature_strategy":"weighted","feature_weights":{"a":1,"b":0.25}}}`, col.ID))
	_, fixed := w.completed("clust_fixed")
	if fixed.Stats.WeightLearning != nil || fixed.Stats.LearnedWeights != nil || fixed.Stats.FeatureWeights["b"] != 0.25 {
		t.Errorf("explicit weights: %s", jsonString(fixed.Stats))
	}
}

// TestGridBudget: a grid_search of more than model.MaxGridEvaluations
// clusterings is a 422 problem at max_iterations, and a stored definition
// that slipped through fails its run with the reason.
func TestGridBudget(t *testing.T) {
	body := `{"collection_ids":["c"],"vector_config":{"clustering_method":"kmeans","feature_uris":["a","b","c"],
		"multi_feature_strategy":"weighted","weight_learning_config":{"method":"grid_search","max_iterations":11}}}`
	_, ps := model.CreateClusterRequestModel.Decode([]byte(body), nil)
	if len(ps) != 1 || jsonString(ps[0].Loc) != `["vector_config","weight_learning_config","max_iterations"]` || !strings.Contains(ps[0].Msg, "11^3") {
		t.Fatalf("problems %v", ps)
	}
	for _, ok := range []string{
		strings.Replace(body, `"max_iterations":11`, `"max_iterations":10`, 1), // 1000: the limit
		strings.Replace(body, `"grid_search"`, `"bayesian"`, 1),
		strings.Replace(body, `"weighted"`, `"concatenate"`, 1),
	} {
		if _, ps := model.CreateClusterRequestModel.Decode([]byte(ok), nil); len(ps) != 0 {
			t.Errorf("%s: %v", ok, ps)
		}
	}
	w := newWorld(t)
	var docs []store.DocumentInput
	for i := 0; i < 10; i++ {
		docs = append(docs, store.DocumentInput{ID: fmt.Sprint(i), Features: map[string][]float32{"a": {float32(i)}, "b": {1}, "c": {2}}})
	}
	col := w.collection("three", docs)
	raw := strings.Replace(strings.Replace(body, `"c"]`, fmt.Sprintf("%q]", col.ID), 1), `"max_iterations":11`, `"max_iterations":10`, 1)
	cl := w.cluster("clust_g", "", raw)
	// The definition as an older clusterd stored it, without the check.
	cfg := strings.Replace(string(cl.Config), `"max_iterations":10`, `"max_iterations":11`, 1)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(w.dir, "clusterd.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE clusters SET config = ? WHERE id = ?`, cfg, cl.ID); err != nil {
		t.Fatal(err)
	}
	run, _ := w.execute(cl.ID)
	if run.Status != store.StatusFailed || !strings.Contains(run.ErrorMessage, "11^3") {
		t.Errorf("run %s: %s", run.Status, run.ErrorMessage)
	}
}

// TestExpectedImprovement: the closed form at known points.
func TestExpectedImprovement(t *testing.T) {
	for _, tc := range []struct{ mu, sd, best, xi, want float64 }{
		{0, 1, 0, 0, 1 / math.Sqrt(2*math.Pi)}, // φ(0)
		{2, 0, 1, 0, 1},
		{0, 0, 1, 0, 0},
		{1, 2, 0, 0, 1*0.691462461274013 + 2*0.3520653267642995}, // z = 0.5: Φ, φ from tables
	} {
		if got := expectedImprovement(tc.mu, tc.sd, tc.best, tc.xi); !near(got, tc.want, 1e-9) {
			t.Errorf("EI(%v, %v, %v) = %v, want %v", tc.mu, tc.sd, tc.best, got, tc.want)
		}
	}
}

// TestGaussianProcess: the posterior interpolates noise-free observations
// (tiny noise) with a small deviation there, and is uncertain far from
// them; compared with the posterior written out by explicit matrix
// inversion for the chosen length scale.
func TestGaussianProcess(t *testing.T) {
	xs := [][]float64{{0.1, 0.2}, {0.5, 0.5}, {0.9, 0.1}, {0.3, 0.8}, {0.7, 0.9}}
	ys := []float64{1, 3, 2, 0.5, 2.5}
	g, err := fitGP(xs, ys, 1e-8)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		mu, sd := g.predict(x)
		if !near(mu, ys[i], 1e-4) || sd > 1e-2 {
			t.Errorf("at observation %d: %v ± %v, want %v", i, mu, sd, ys[i])
		}
	}
	if _, sd := g.predict([]float64{5, 5}); !near(sd, g.std, 1e-6) {
		t.Errorf("far away: sd %v, want the prior's %v", sd, g.std)
	}
	// Explicit posterior mean: m + s · k*ᵀ (K + σ²I)⁻¹ (y − m)/s, by Gauss–Jordan.
	p := []float64{0.4, 0.4}
	nObs := len(xs)
	a := make([][]float64, nObs)
	for i := range a {
		a[i] = make([]float64, nObs+1)
		for j := range xs {
			a[i][j] = g.kernel(xs[i], xs[j])
			if i == j {
				a[i][j] += 1e-8
			}
		}
		a[i][nObs] = (ys[i] - g.mean) / g.std
	}
	for c := 0; c < nObs; c++ {
		piv := a[c][c]
		for j := range a[c] {
			a[c][j] /= piv
		}
		for r := range a {
			if r != c {
				f := a[r][c]
				for j := range a[r] {
					a[r][j] -= f * a[c][j]
				}
			}
		}
	}
	want := 0.0
	for i := range xs {
		want += g.kernel(p, xs[i]) * a[i][nObs]
	}
	want = g.mean + g.std*want
	if mu, _ := g.predict(p); !near(mu, want, 1e-6) {
		t.Errorf("posterior mean %v, explicit %v", mu, want)
	}
}

// TestBayesianFindsOptimum: the acquisition loop on a smooth function of
// two weights gets near its maximum in 20 evaluations.
func TestBayesianFindsOptimum(t *testing.T) {
	f := func(x []float64) float64 { return -((x[0]-0.3)*(x[0]-0.3) + (x[1]-0.7)*(x[1]-0.7)) }
	rng := rand.New(rand.NewPCG(1, 2))
	xs := [][]float64{{1, 1}, uniformPoint(rng, 2), uniformPoint(rng, 2)}
	var ys []float64
	for _, x := range xs {
		ys = append(ys, f(x))
	}
	best := func() int {
		b := 0
		for i, y := range ys {
			if y > ys[b] {
				b = i
			}
		}
		return b
	}
	for len(xs) < 20 {
		x, err := nextByExpectedImprovement(rng, xs, ys, best())
		if err != nil {
			t.Fatal(err)
		}
		xs, ys = append(xs, x), append(ys, f(x))
	}
	if b := best(); ys[b] < -0.0025 {
		t.Errorf("best after 20 evaluations %v at %v, want within 0.05 of (0.3, 0.7)", ys[b], xs[b])
	}
}
