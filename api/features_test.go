package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// TestAttributeCluster: Mixpeek's own example (orders grouped by status
// over three collections) runs through the API: the execution matches the
// seed's schema, the cluster reports its attributes and output collection,
// whose documents the collections API reads, and the artifacts and data
// endpoints show the clusters without coordinates (the orders have no
// vectors).
func TestAttributeCluster(t *testing.T) {
	e := newEnv(t, envOpts{})
	statuses := []string{"shipped", "pending", "delivered"}
	for c := 1; c <= 3; c++ {
		name := fmt.Sprintf("col_orders_v%d", c)
		e.ok("POST", "/v1/collections", map[string]any{"collection_name": name}, nil)
		var docs []map[string]any
		for i := 0; i < 10; i++ {
			docs = append(docs, map[string]any{"document_id": fmt.Sprintf("o%d_%d", c, i),
				"payload": map[string]any{"status": statuses[(i+c)%3], "text": "order " + statuses[(i+c)%3]}})
		}
		e.ok("POST", "/v1/collections/"+name+"/documents", map[string]any{"documents": docs}, nil)
	}
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"attribute_config": map[string]any{"attributes": []string{"status"}, "hierarchical_grouping": true},
		"cluster_name": "orders_group_by_status", "cluster_type": "attribute", "collection_ids": []string{"col_orders_v1", "col_orders_v2", "col_orders_v3"}}, &cl)
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, nil)
	res := e.wait(cl.ClusterID)
	if res.Status != "completed" || res.NumClusters != 3 || res.NumPoints != 30 || res.Algorithm != "attribute_based" {
		t.Fatalf("execution %v", res)
	}
	labels := []string{}
	for _, c := range res.Centroids {
		labels = append(labels, str(c.Label))
		if c.NumMembers != 10 || c.Attributes["status"] != str(c.Label) || c.HierarchyLevel == nil || *c.HierarchyLevel != 0 {
			t.Errorf("centroid %+v", c)
		}
	}
	if strings.Join(labels, ",") != "delivered,pending,shipped" {
		t.Errorf("labels %v", labels)
	}
	var meta struct {
		ClusteredAttributes   []string `json:"clustered_attributes"`
		AggregationMethod     string   `json:"aggregation_method"`
		HierarchicalGrouping  bool     `json:"hierarchical_grouping"`
		Algorithm             string   `json:"algorithm"`
		OutputCollectionIDs   []string `json:"output_collection_ids"`
		OutputCollectionNames []string `json:"output_collection_names"`
		NumClusters           int      `json:"num_clusters"`
	}
	e.ok("GET", "/v1/clusters/"+cl.ClusterID, nil, &meta)
	if meta.Algorithm != "attribute_based" || !meta.HierarchicalGrouping || meta.AggregationMethod != "most_frequent" || meta.NumClusters != 3 || len(meta.OutputCollectionIDs) != 1 ||
		meta.OutputCollectionNames[0] != "orders_group_by_status_clusters" {
		t.Fatalf("cluster %+v", meta)
	}
	out := e.payloads(meta.OutputCollectionIDs[0])
	if len(out) != 3 || out["cl_0"]["label"] != "delivered" || out["cl_0"]["cluster_id"] != cl.ClusterID || out["cl_0"]["num_members"] != 10.0 {
		t.Fatalf("output documents %v", out)
	}
	var arts struct {
		Centroids []map[string]any
		Members   []map[string]any
	}
	e.ok("GET", "/v1/clusters/"+cl.ClusterID+"/artifacts?include_members=true", nil, &arts)
	if len(arts.Centroids) != 3 || arts.Centroids[0]["x"] != nil || arts.Centroids[0]["attributes"] == nil || len(arts.Members) != 30 ||
		arts.Members[0]["x"] != nil || arts.Members[0]["distance_to_centroid"] != nil {
		t.Fatalf("artifacts %v", arts)
	}
	var data struct {
		Members []map[string]any
	}
	e.ok("POST", "/v1/clusters/"+cl.ClusterID+"/executions/"+res.RunID+"/data", map[string]any{}, &data)
	if len(data.Members) != 30 || data.Members[0]["coordinates"] != nil {
		t.Fatalf("data members %v", data.Members[:1])
	}
}

// TestOutputCollections: a run writes its output collection under the
// first free name (a user's collection of the same name is untouched); a
// cluster with enrich_source_collection writes none; deleting the cluster
// deletes its output collection.
func TestOutputCollections(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("topics", blobDocs(300, 4, 3, 2), `{"n_clusters":3}`)
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "topics-clusters_clusters"}, nil)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	if res := e.wait(cid); res.Status != "completed" {
		t.Fatalf("%v", res)
	}
	var meta struct {
		OutputCollectionIDs   []string `json:"output_collection_ids"`
		OutputCollectionNames []string `json:"output_collection_names"`
	}
	e.ok("GET", "/v1/clusters/"+cid, nil, &meta)
	if len(meta.OutputCollectionNames) != 1 || meta.OutputCollectionNames[0] != "topics-clusters_clusters_2" {
		t.Fatalf("outputs %+v", meta)
	}
	var col struct {
		DocumentCount int64 `json:"document_count"`
		Features      []struct {
			Name      string
			Dimension int
		}
	}
	e.ok("GET", "/v1/collections/"+meta.OutputCollectionIDs[0], nil, &col)
	if col.DocumentCount != 3 || len(col.Features) != 1 || col.Features[0].Name != "emb" || col.Features[0].Dimension != 4 {
		t.Fatalf("output collection %+v", col)
	}
	if user := e.payloads("topics-clusters_clusters"); len(user) != 0 {
		t.Fatalf("the user's collection got documents: %v", user)
	}
	var other struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"topics"}, "enrich_source_collection": true,
		"vector_config": map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 2}}}, &other)
	e.ok("POST", "/v1/clusters/"+other.ClusterID+"/execute", nil, nil)
	e.wait(other.ClusterID)
	e.ok("GET", "/v1/clusters/"+other.ClusterID, nil, &meta)
	if len(meta.OutputCollectionIDs) != 0 {
		t.Fatalf("enrich_source_collection wrote outputs %+v", meta)
	}
	e.ok("GET", "/v1/clusters/"+cid, nil, &meta)
	e.ok("DELETE", "/v1/clusters/"+cid, nil, nil)
	code, body := e.call("GET", "/v1/collections/"+meta.OutputCollectionIDs[0], nil)
	checkError(t, code, body, http.StatusNotFound, "collection_not_found")
	e.ok("GET", "/v1/collections/topics-clusters_clusters", nil, nil)
}

// TestStrategiesInClusterMetadata: a weighted cluster reports its learned
// weights by feature URI and its learning score; an independent one the
// hierarchy it detected and each feature's metrics.
func TestStrategiesInClusterMetadata(t *testing.T) {
	e := newEnv(t, envOpts{})
	rng := rand.New(rand.NewPCG(4, 4))
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "mm"}, nil)
	var docs []map[string]any
	for i := 0; i < 120; i++ {
		g := i % 3
		text := []float64{float64(g*10) + rng.NormFloat64()*0.3, rng.NormFloat64() * 0.3}
		img := []float64{float64(g/2*10) + rng.NormFloat64()*0.3, rng.NormFloat64() * 0.3, rng.NormFloat64() * 0.3}
		docs = append(docs, map[string]any{"document_id": fmt.Sprint(i), "features": map[string]any{"text_embedding": text, "image_embedding": img}})
	}
	e.ok("POST", "/v1/collections/mm/documents", map[string]any{"documents": docs}, nil)
	uris := []string{"mixpeek://text_extractor@v1/text_embedding", "mixpeek://image_extractor@v1/image_embedding"}
	var weighted, independent struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"mm"}, "vector_config": map[string]any{
		"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 3}, "feature_uris": uris, "multi_feature_strategy": "weighted",
		"weight_learning_config": map[string]any{"method": "grid_search", "max_iterations": 5}}}, &weighted)
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"mm"}, "vector_config": map[string]any{
		"clustering_method": "hdbscan", "algorithm_params": map[string]any{"min_cluster_size": 10}, "feature_uris": uris, "multi_feature_strategy": "independent"}}, &independent)
	// Each feature is clustered on its own: PCA to 3 dimensions fits the
	// joined 5 but not the 2-dimensional text feature.
	code, body := e.call("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"mm"}, "vector_config": map[string]any{
		"clustering_method": "kmeans", "feature_uris": uris, "multi_feature_strategy": "independent",
		"preprocessing_steps": []any{map[string]any{"method": "pca", "n_components": 3}}}})
	checkError(t, code, body, http.StatusUnprocessableEntity, `"loc":["body","vector_config","preprocessing_steps",0,"n_components"]`)
	for _, id := range []string{weighted.ClusterID, independent.ClusterID} {
		e.ok("POST", "/v1/clusters/"+id+"/execute", nil, nil)
		if res := e.wait(id); res.Status != "completed" {
			t.Fatalf("%s: %v", id, res)
		}
	}
	var meta struct {
		LearnedWeights         map[string]float64 `json:"learned_weights"`
		LearningQualityScore   *float64           `json:"learning_quality_score"`
		HierarchyDetected      bool               `json:"hierarchy_detected"`
		HierarchyRelationships []map[string]any   `json:"hierarchy_relationships"`
		ClusterStats           struct {
			Extra map[string]any `json:"extra"`
		} `json:"cluster_stats"`
		OutputCollectionNames []string `json:"output_collection_names"`
	}
	e.ok("GET", "/v1/clusters/"+weighted.ClusterID, nil, &meta)
	if len(meta.LearnedWeights) != 2 || meta.LearnedWeights[uris[0]] == 0 || meta.LearningQualityScore == nil || *meta.LearningQualityScore < 0.5 {
		t.Fatalf("weighted: %+v", meta)
	}
	e.ok("GET", "/v1/clusters/"+independent.ClusterID, nil, &meta)
	if !meta.HierarchyDetected || len(meta.HierarchyRelationships) == 0 || meta.ClusterStats.Extra["features"] == nil {
		t.Fatalf("independent: %+v", meta)
	}
	for _, h := range meta.HierarchyRelationships {
		if h["parent_feature_uri"] != uris[1] || h["child_feature_uri"] != uris[0] || h["source"] != "membership_overlap" {
			t.Errorf("relationship %v", h)
		}
	}
	// Executions carry each centroid's feature and stay the seed's shape.
	res := e.wait(independent.ClusterID)
	for _, c := range res.Centroids {
		if c.FeatureURI == nil {
			t.Errorf("centroid without feature_uri: %+v", c)
		}
	}
}
