package api_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// payloads lists every document's payload of a collection, by id.
func (e *env) payloads(collection string) map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	for off := 0; ; off += 1000 {
		var page struct {
			Results []struct {
				DocumentID string         `json:"document_id"`
				Payload    map[string]any `json:"payload"`
			}
		}
		e.ok("POST", fmt.Sprintf("/v1/collections/%s/documents/list?limit=1000&offset=%d", collection, off), nil, &page)
		for _, d := range page.Results {
			out[d.DocumentID] = d.Payload
		}
		if len(page.Results) < 1000 || off+1000 > 10000 {
			return out
		}
	}
}

// TestEnrichment: enriching 20,000 documents twice leaves the same payloads;
// a later re-cluster with other parameters updates them; a cluster created
// with enrich_source_collection enriches on every run.
func TestEnrichment(t *testing.T) {
	e := newEnv(t, envOpts{})
	const n = 20000
	cid := e.setup("enr", blobDocs(n, 8, 6, 11), `{"n_clusters":6}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	first := e.wait(cid)
	var st struct{ Processed, Enriched, Failed, Batches int }
	req := map[string]any{"clustering_ids": []string{cid}, "source_collection_id": "enr", "batch_size": 5000}
	e.ok("POST", "/v1/clusters/enrich", req, &st)
	if st.Processed != n || st.Enriched != n || st.Failed != 0 || st.Batches != 4 {
		t.Fatalf("enrich: %+v", st)
	}
	once := e.payloads("enr")
	e.ok("POST", "/v1/clusters/enrich", map[string]any{"clustering_ids": []string{first.RunID}, "source_collection_id": "enr"}, &st)
	twice := e.payloads("enr")
	for id, p := range once {
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(twice[id])
		if string(a) != string(b) {
			t.Fatalf("%s: payload changed on the second enrichment:\n%s\n%s", id, a, b)
		}
		if p["cluster_id"] == nil || p["cluster_label"] == nil || p["distance_to_centroid"] == nil || p["text"] == nil {
			t.Fatalf("%s: enriched payload %v", id, p)
		}
	}
	if len(once) != 11000 { // the list endpoint pages up to offset 10,000
		t.Fatalf("listed %d documents", len(once))
	}
	// Re-cluster with 3 clusters and enrich again: the fields follow.
	e.ok("PATCH", "/v1/clusters/"+cid, map[string]any{"description": "re-clustered"}, nil)
	var cl2 struct {
		ClusterID string `json:"cluster_id"`
	}
	e.ok("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"enr"}, "enrich_source_collection": true,
		"source_enrichment_config": map[string]any{"cluster_id_field": "cluster_id", "keywords_field": "topic_keywords"},
		"vector_config":            map[string]any{"clustering_method": "kmeans", "algorithm_params": map[string]any{"n_clusters": 3}}}, &cl2)
	e.ok("POST", "/v1/clusters/"+cl2.ClusterID+"/execute", nil, nil)
	if res := e.wait(cl2.ClusterID); res.Status != "completed" {
		t.Fatalf("%v", res)
	}
	after := e.payloads("enr")
	changed := 0
	for id, p := range after {
		if p["topic_keywords"] == nil {
			t.Fatalf("%s: no keywords written by the automatic enrichment: %v", id, p)
		}
		if c := p["cluster_id"].(string); c != "cl_0" && c != "cl_1" && c != "cl_2" {
			t.Fatalf("%s: cluster_id %s after re-clustering into 3", id, c)
		}
		if p["cluster_id"] != once[id]["cluster_id"] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("re-clustering changed no assignment")
	}
	code, body := e.call("POST", "/v1/clusters/enrich", map[string]any{"clustering_ids": []string{"run_nope"}, "source_collection_id": "enr"})
	checkError(t, code, body, 404, "run_not_found")
	code, body = e.call("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"enr"}, "source_enrichment_config": map[string]any{"colour": 1},
		"vector_config": map[string]any{"clustering_method": "kmeans"}})
	checkError(t, code, body, 422, `"loc":["body","source_enrichment_config","colour"]`)
}
