package artifacts

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func p[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	label := "Product reviews"
	d := float32(1.5)
	cents := []Centroid{
		{ClusterID: "cl_0", NumMembers: 2, Label: &label, Keywords: []string{"a", "b"}, Variance: p(0.5), X: p[float32](1), Y: p[float32](2), Z: p[float32](3), CentroidVector: []float32{1, 2, 3}},
		{ClusterID: "cl_1", NumMembers: 1, Keywords: []string{}, HierarchyLevel: 1, CentroidVector: []float32{4, 5, 6}},
	}
	var members []Member
	for i := 0; i < 2500; i++ {
		m := Member{PointID: "doc_" + string(rune('a'+i%26)), ClusterID: "cl_0", X: p(float32(i))}
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
	if err != nil || total != 2500 || len(page) != 10 || *page[0].X != 1000 || page[0].DistanceToCentroid == nil {
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

// TestReadsEarlierFiles: files written before x, y, z and variance became
// optional and feature_uri and attributes existed still read, with their
// values and nulls for the new columns.
func TestReadsEarlierFiles(t *testing.T) {
	type oldCentroid struct {
		ClusterID      string    `parquet:"cluster_id"`
		NumMembers     int64     `parquet:"num_members"`
		Keywords       []string  `parquet:"keywords,list"`
		Variance       float64   `parquet:"variance"`
		X              float32   `parquet:"x"`
		Y              float32   `parquet:"y"`
		Z              float32   `parquet:"z"`
		HierarchyLevel int32     `parquet:"hierarchy_level"`
		CentroidVector []float32 `parquet:"centroid_vector,list"`
	}
	type oldMember struct {
		PointID   string  `parquet:"point_id"`
		ClusterID string  `parquet:"cluster_id"`
		X         float32 `parquet:"x"`
		Y         float32 `parquet:"y"`
		Z         float32 `parquet:"z"`
	}
	dir := t.TempDir()
	if err := writeFile(filepath.Join(dir, CentroidsFile), []oldCentroid{{ClusterID: "cl_0", NumMembers: 3, Keywords: []string{"k"}, Variance: 0.25, X: 1, Y: 2, Z: 3, CentroidVector: []float32{1}}}); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, MembersFile), []oldMember{{PointID: "d", ClusterID: "cl_0", X: 4, Y: 5, Z: 6}}); err != nil {
		t.Fatal(err)
	}
	cs, err := ReadCentroids(dir)
	if err != nil || len(cs) != 1 || *cs[0].Variance != 0.25 || *cs[0].X != 1 || *cs[0].Z != 3 || cs[0].FeatureURI != nil || cs[0].Attributes != nil {
		t.Fatalf("centroids %+v %v", cs, err)
	}
	ms, _, err := ReadMembers(dir, 0, -1)
	if err != nil || len(ms) != 1 || *ms[0].X != 4 || *ms[0].Z != 6 || ms[0].FeatureURI != nil || ms[0].DistanceToCentroid != nil {
		t.Fatalf("members %+v %v", ms, err)
	}
}
