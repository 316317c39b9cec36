package api_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The API extensions the dashboard uses: a seeded sample of a run's members
// (artifacts ?sample=N&seed=S) and the data endpoint's cluster_ids and
// document_ids filters and first lines of text (include_text).

type artifactsBody struct {
	Members []struct {
		PointID   string   `json:"point_id"`
		ClusterID string   `json:"cluster_id"`
		X         *float32 `json:"x"`
	} `json:"members"`
	Centroids []struct {
		ClusterID  string `json:"cluster_id"`
		NumMembers int    `json:"num_members"`
	} `json:"centroids"`
	TotalMembers int     `json:"total_members"`
	SampleSeed   *uint64 `json:"sample_seed"`
}

func TestArtifactsSample(t *testing.T) {
	e := newEnv(t, envOpts{})
	cid := e.setup("sampled", blobDocs(3000, 4, 3, 11), `{"n_clusters": 3, "n_init": 1}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	run := e.wait(cid)
	base := "/v1/clusters/" + cid + "/executions/" + run.RunID + "/artifacts?include_members=true"
	var all artifactsBody
	e.ok("GET", base+"&limit=1000000", nil, &all)
	if len(all.Members) != 3000 || all.TotalMembers != 3000 || all.SampleSeed != nil {
		t.Fatalf("all members: %d of %d, seed %v", len(all.Members), all.TotalMembers, all.SampleSeed)
	}
	position := map[string]int{}
	for i, m := range all.Members {
		position[m.PointID] = i
	}
	get := func(q string) artifactsBody {
		var b artifactsBody
		e.ok("GET", base+q, nil, &b)
		return b
	}
	s7 := get("&sample=1500&seed=7")
	if len(s7.Members) != 1500 || s7.TotalMembers != 3000 || s7.SampleSeed == nil || *s7.SampleSeed != 7 {
		t.Fatalf("sample: %d of %d, seed %v", len(s7.Members), s7.TotalMembers, s7.SampleSeed)
	}
	// In file order, without repeats, each member as the full list has it.
	perCluster := map[string]int{}
	last := -1
	for _, m := range s7.Members {
		p, ok := position[m.PointID]
		if !ok || p <= last || all.Members[p].ClusterID != m.ClusterID || m.X == nil || *all.Members[p].X != *m.X {
			t.Fatalf("sampled member %+v is not the next member of the file after row %d", m, last)
		}
		last = p
		perCluster[m.ClusterID]++
	}
	// Uniform: each cluster has 1,000 of the 3,000 members, so a uniform
	// sample of 1,500 holds 500 of each (hypergeometric, sd ≈ 15.8); the
	// bound of ±80 is five standard deviations.
	for id, n := range perCluster {
		if n < 420 || n > 580 {
			t.Errorf("cluster %s has %d of 1,500 sampled members; a uniform sample has 500 ± 80", id, n)
		}
	}
	if len(perCluster) != 3 {
		t.Errorf("sample covers clusters %v", perCluster)
	}
	if again := get("&sample=1500&seed=7"); !reflect.DeepEqual(again, s7) {
		t.Error("the same seed drew a different sample")
	}
	if other := get("&sample=1500&seed=8"); reflect.DeepEqual(other.Members, s7.Members) {
		t.Error("seeds 7 and 8 drew the same sample")
	}
	if whole := get("&sample=5000"); len(whole.Members) != 3000 || whole.Members[0].PointID != all.Members[0].PointID || *whole.SampleSeed != 0 {
		t.Errorf("sample above the total: %d members, seed %v", len(whole.Members), whole.SampleSeed)
	}
	var none artifactsBody
	e.ok("GET", strings.Replace(base, "include_members=true", "include_members=false", 1)+"&sample=10", nil, &none)
	if len(none.Members) != 0 || none.TotalMembers != 3000 {
		t.Errorf("include_members=false with sample: %d members of %d", len(none.Members), none.TotalMembers)
	}

	// Every problem of the query in one 422.
	code, body := e.call("GET", base+"&sample=0&offset=5&limit=3&projection_method=4d&include_centroids=maybe", nil)
	checkError(t, code, body, 422, `"loc":["query","sample"]`)
	for _, loc := range []string{`["query","offset"]`, `["query","limit"]`, `["query","projection_method"]`, `["query","include_centroids"]`} {
		if !strings.Contains(string(body), loc) {
			t.Errorf("422 lacks %s: %s", loc, body)
		}
	}
	code, body = e.call("GET", base+"&seed=3", nil)
	checkError(t, code, body, 422, `"loc":["query","seed"]`)
}

type dataBody struct {
	Members []struct {
		DocumentID string         `json:"document_id"`
		ClusterID  string         `json:"cluster_id"`
		Metadata   map[string]any `json:"metadata"`
	} `json:"members"`
	TotalMembers int `json:"total_members"`
	Offset       int `json:"offset"`
}

func TestDataFiltersAndText(t *testing.T) {
	e := newEnv(t, envOpts{})
	docs := blobDocs(300, 4, 3, 5)
	long := strings.Repeat("é", 250)
	docs[1]["payload"] = map[string]any{"text": "\n   \n  first line here  \nsecond line"}
	docs[2]["payload"] = map[string]any{"text": long}
	docs[4]["payload"] = map[string]any{"title": "no text field"}
	docs[5]["payload"] = map[string]any{"text": "  \n\t"}
	cid := e.setup("texts", docs, `{"n_clusters": 3, "n_init": 1}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	run := e.wait(cid)
	path := "/v1/clusters/" + cid + "/executions/" + run.RunID + "/data"

	var b dataBody
	e.ok("POST", path, map[string]any{"document_ids": []string{"doc_0", "doc_1", "doc_2", "doc_4", "doc_5", "nope"}, "include_text": true, "include_centroids": false}, &b)
	got := map[string]any{}
	for _, m := range b.Members {
		got[m.DocumentID] = m.Metadata["first_line"]
	}
	want := map[string]any{"doc_0": "alpha document number 0", "doc_1": "first line here", "doc_2": strings.Repeat("é", 199) + "…", "doc_4": nil, "doc_5": nil}
	if b.TotalMembers != 5 || !reflect.DeepEqual(got, want) {
		t.Fatalf("document_ids with include_text: %d members %v, want %v", b.TotalMembers, got, want)
	}

	// cluster_ids: every member of one cluster, paged; total_members counts them.
	var cl struct {
		Centroids []struct {
			ClusterID  string `json:"cluster_id"`
			NumMembers int    `json:"num_members"`
		} `json:"centroids"`
	}
	e.ok("GET", "/v1/clusters/"+cid+"/executions", nil, &cl)
	target := cl.Centroids[1]
	seen := map[string]bool{}
	for off := 0; off < target.NumMembers; off += 30 {
		var page dataBody
		e.ok("POST", path, map[string]any{"cluster_ids": []string{target.ClusterID}, "offset": off, "limit": 30}, &page)
		if page.TotalMembers != target.NumMembers || page.Offset != off {
			t.Fatalf("page at %d: total %d, want %d", off, page.TotalMembers, target.NumMembers)
		}
		for _, m := range page.Members {
			if m.ClusterID != target.ClusterID || seen[m.DocumentID] {
				t.Fatalf("page at %d: member %s of %s (seen before: %v)", off, m.DocumentID, m.ClusterID, seen[m.DocumentID])
			}
			if _, ok := m.Metadata["first_line"]; ok {
				t.Fatal("first_line without include_text")
			}
			seen[m.DocumentID] = true
		}
	}
	if len(seen) != target.NumMembers {
		t.Errorf("paged %d members of %s, want %d", len(seen), target.ClusterID, target.NumMembers)
	}
	var past dataBody
	e.ok("POST", path, map[string]any{"cluster_ids": []string{target.ClusterID}, "offset": 1000}, &past)
	if len(past.Members) != 0 || past.TotalMembers != target.NumMembers {
		t.Errorf("past the end: %d members, total %d", len(past.Members), past.TotalMembers)
	}
	// Both filters: their intersection.
	var both dataBody
	e.ok("POST", path, map[string]any{"cluster_ids": []string{target.ClusterID}, "document_ids": []string{"doc_0", "doc_1", "doc_2"}}, &both)
	for _, m := range both.Members {
		if m.ClusterID != target.ClusterID {
			t.Errorf("intersection holds %s of %s", m.DocumentID, m.ClusterID)
		}
	}
	if both.TotalMembers != 1 { // blobDocs puts doc_i in blob i%3, and the blobs are the clusters
		t.Errorf("intersection: %d members, want 1", both.TotalMembers)
	}

	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	code, body := e.call("POST", path, map[string]any{"document_ids": many, "cluster_ids": "cl_0", "include_text": "yes"})
	checkError(t, code, body, 422, `"loc":["body","document_ids"]`)
	var v struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	json.Unmarshal(body, &v)
	if len(v.Detail) != 3 {
		t.Errorf("want 3 problems in one 422: %s", body)
	}
}
