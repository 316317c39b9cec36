package artifacts

import (
	"errors"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	label := "Product reviews"
	d := float32(1.5)
	cents := []Centroid{
		{ClusterID: "cl_0", NumMembers: 2, Label: &label, Keywords: []string{"a", "b"}, Variance: 0.5, X: 1, Y: 2, Z: 3, CentroidVector: []float32{1, 2, 3}},
		{ClusterID: "cl_1", NumMembers: 1, Keywords: []string{}, HierarchyLevel: 1, CentroidVector: []float32{4, 5, 6}},
	}
	var members []Member
	for i := 0; i < 2500; i++ {
		m := Member{PointID: "doc_" + string(rune('a'+i%26)), ClusterID: "cl_0", X: float32(i)}
		if i%3 != 0 {
			m.DistanceToCentroid = &d
		}
		if i%2 == 0 {
			pr := float32(i%10) / 10
			m.Probability = &pr // a Gaussian mixture's membership probability
		}
		members = append(members, m)
	}
	if err := Write(dir, cents, members); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCentroids(dir)
	if err != nil || len(got) != 2 || *got[0].Label != label || got[1].Label != nil || !slices.Equal(got[1].CentroidVector, []float32{4, 5, 6}) {
		t.Fatalf("centroids %+v %v", got, err)
	}
	page, total, err := ReadMembers(dir, 1000, 10)
	if err != nil || total != 2500 || len(page) != 10 || page[0].X != 1000 || page[0].DistanceToCentroid == nil {
		t.Fatalf("members page %+v total %d %v", page, total, err)
	}
	if page[2].DistanceToCentroid != nil { // row 1002 is a multiple of 3
		t.Fatalf("row 1002 distance %v, want null", *page[2].DistanceToCentroid)
	}
	if page[1].Probability != nil || page[2].Probability == nil || *page[2].Probability != 0.2 {
		t.Fatalf("probabilities of rows 1001 and 1002: %v %v, want null and 0.2", page[1].Probability, page[2].Probability)
	}
	tail, _, _ := ReadMembers(dir, 2495, 100)
	if len(tail) != 5 {
		t.Fatalf("tail %d rows", len(tail))
	}
	if _, _, err := ReadMembers(t.TempDir(), 0, 1); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := Path(dir, "../x"); !errors.Is(err, ErrMissing) {
		t.Fatal("path traversal accepted")
	}
}
