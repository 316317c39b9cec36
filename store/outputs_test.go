package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func documentIDs(t *testing.T, s *Store, colID string) []string {
	t.Helper()
	page, err := s.ListDocuments(context.Background(), colID, Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range page.Results {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}

// TestClusterOutputs: an output collection is created on the first write
// under the requested name, or the first free Name_N when a user's
// collection has it (which is never touched); later writes replace its
// documents exactly (stale ones go, kept ones keep their creation time,
// vectors may change dimension) and leave one segment file per feature;
// a failed write changes nothing; deleting the collection lets the next
// write recreate it; a deleted cluster gets no output and takes its outputs
// with it.
func TestClusterOutputs(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, user := setupCollection(t, s)
		user, err := s.CreateCollection(ctx, ns.ID, "topics_clusters", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Upsert(ctx, user.ID, &SliceSource{Docs: []DocumentInput{{ID: "cl_0", Payload: json.RawMessage(`{"mine":true}`)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCluster(ctx, Cluster{ID: "clust_a", NamespaceID: ns.ID, Name: "topics", Config: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		doc := func(id string, vec ...float32) DocumentInput {
			return DocumentInput{ID: id, Features: map[string][]float32{"emb": vec}, Payload: json.RawMessage(`{"label":"` + id + `"}`)}
		}
		write := func(docs ...DocumentInput) (Collection, error) {
			return s.WriteClusterOutput(ctx, OutputWrite{NamespaceID: ns.ID, ClusterID: "clust_a", Name: "topics_clusters", Documents: docs})
		}
		first, err := write(doc("cl_0", 1, 2), doc("cl_1", 3, 4))
		if err != nil {
			t.Fatal(err)
		}
		if first.Name != "topics_clusters_2" || first.DocumentCount != 2 {
			t.Fatalf("first output: %s with %d documents", first.Name, first.DocumentCount)
		}
		outs, err := s.ClusterOutputs(ctx, "clust_a")
		if err != nil || len(outs) != 1 || outs[0].CollectionID != first.ID || outs[0].Name != first.Name {
			t.Fatalf("outputs %+v %v", outs, err)
		}
		d0, _ := s.GetDocument(ctx, first.ID, "cl_0")

		second, err := write(doc("cl_0", 5, 6, 7), doc("cl_2", 8, 9, 10))
		if err != nil {
			t.Fatal(err)
		}
		if second.ID != first.ID || second.Name != first.Name {
			t.Fatalf("second write made another collection: %+v", second)
		}
		if got := documentIDs(t, s, first.ID); !slices.Equal(got, []string{"cl_0", "cl_2"}) {
			t.Fatalf("documents after the replacement: %v", got)
		}
		d, err := s.GetDocument(ctx, first.ID, "cl_0")
		if err != nil || !slices.Equal(d.Features["emb"], []float32{5, 6, 7}) || !d.CreatedAt.Equal(d0.CreatedAt) || string(d.Payload) != `{"label":"cl_0"}` {
			t.Fatalf("cl_0 after the replacement: %+v %v (created %v, first %v)", d, err, d.CreatedAt, d0.CreatedAt)
		}
		if files := db.segmentNames(t, s, first.ID); len(files) != 1 {
			t.Fatalf("segment files after the replacement: %v", files)
		}
		// A write that fails (a NaN vector) leaves the previous content.
		if _, err := write(doc("cl_9", 1, float32(math.NaN()), 3)); err == nil {
			t.Fatal("a NaN vector was written")
		}
		if got := documentIDs(t, s, first.ID); !slices.Equal(got, []string{"cl_0", "cl_2"}) {
			t.Fatalf("documents after a failed write: %v", got)
		}
		if files := db.segmentNames(t, s, first.ID); len(files) != 1 {
			t.Fatalf("segment files after a failed write: %v", files)
		}
		if got := documentIDs(t, s, user.ID); !slices.Equal(got, []string{"cl_0"}) {
			t.Fatalf("the user's collection changed: %v", got)
		}
		u, _ := s.GetDocument(ctx, user.ID, "cl_0")
		if string(u.Payload) != `{"mine":true}` {
			t.Fatalf("the user's document changed: %s", u.Payload)
		}

		// The user deletes the output collection: the next write recreates it.
		if err := s.DeleteCollection(ctx, ns.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if outs, _ := s.ClusterOutputs(ctx, "clust_a"); len(outs) != 0 {
			t.Fatalf("outputs after deleting the collection: %+v", outs)
		}
		third, err := write(doc("cl_0", 1, 1))
		if err != nil || third.ID == first.ID || third.Name != "topics_clusters_2" {
			t.Fatalf("recreated output: %+v %v", third, err)
		}

		// Deleting the cluster deletes its outputs, rows and files.
		if err := s.DeleteCluster(ctx, ns.ID, "clust_a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCollection(ctx, ns.ID, third.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("output collection after the cluster's deletion: %v", err)
		}
		if files := db.segmentNames(t, s, third.ID); files != nil {
			t.Fatalf("files left: %v", files)
		}
		if _, err := write(doc("cl_0", 1, 1)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("write for a deleted cluster: %v", err)
		}
		page, err := s.ListCollections(ctx, ns.ID, Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range page.Results {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "c,topics_clusters" {
			t.Fatalf("collections left: %v", names)
		}
	})
}

// TestOutputKeys: one cluster owns one collection per output key, listed
// in position order.
func TestOutputKeys(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, _ := setupCollection(t, s)
		s.CreateCluster(ctx, Cluster{ID: "clust_b", NamespaceID: ns.ID, Config: json.RawMessage(`{}`)})
		for _, w := range []OutputWrite{
			{Key: "mixpeek://img@v1/emb", Position: 1, Name: "b_clusters_img"},
			{Key: "mixpeek://text@v1/emb", Position: 0, Name: "b_clusters_text"},
		} {
			w.NamespaceID, w.ClusterID = ns.ID, "clust_b"
			if _, err := s.WriteClusterOutput(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		outs, err := s.ClusterOutputs(ctx, "clust_b")
		if err != nil || len(outs) != 2 || outs[0].Name != "b_clusters_text" || outs[1].Key != "mixpeek://img@v1/emb" {
			t.Fatalf("outputs %+v %v", outs, err)
		}
	})
}

// TestLoadPayloads: payloads of the documents matching filters, in
// insertion order, null for a document without one.
func TestLoadPayloads(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		in := []DocumentInput{{ID: "b", Payload: json.RawMessage(`{"k":1}`)}, {ID: "a"}, {ID: "c", Payload: json.RawMessage(`{"k":2}`)}}
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: in}); err != nil {
			t.Fatal(err)
		}
		ids, payloads, err := s.LoadPayloads(ctx, c.ID, nil)
		if err != nil || !slices.Equal(ids, []string{"b", "a", "c"}) || payloads[1] != nil || string(payloads[2]) != `{"k":2}` {
			t.Fatalf("all: %v %s %v", ids, payloads, err)
		}
		ids, _, err = s.LoadPayloads(ctx, c.ID, json.RawMessage(`{"field":"payload.k","operator":"gte","value":2}`))
		if err != nil || !slices.Equal(ids, []string{"c"}) {
			t.Fatalf("filtered: %v %v", ids, err)
		}
	})
}
