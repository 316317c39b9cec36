package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/blob/blobtest"
	"github.com/parquet-go/parquet-go"
)

func p[T any](v T) *T { return &v }

// buckets are the kinds of bucket the tests run against: the data
// directory's files, and S3 (gofakes3) with and without the read cache.
func buckets(t *testing.T) map[string]func(t *testing.T) *Store {
	s3 := func(cacheBytes int64) func(t *testing.T) *Store {
		return func(t *testing.T) *Store {
			b, err := blob.Open(blobtest.Start(t, "art").URL("clusterd"), blob.Options{CacheDir: t.TempDir(), CacheBytes: cacheBytes})
			if err != nil {
				t.Fatal(err)
			}
			return New(b)
		}
	}
	return map[string]func(t *testing.T) *Store{
		"file":       func(t *testing.T) *Store { return Local(t.TempDir()) },
		"s3":         s3(0),
		"s3 cached":  s3(1 << 20),
		"s3 too big": s3(100), // the files exceed the cache: ranged reads from the server
	}
}

func TestRoundTrip(t *testing.T) {
	for name, open := range buckets(t) {
		t.Run(name, func(t *testing.T) { testRoundTrip(t, open(t)) })
	}
}

func testRoundTrip(t *testing.T, st *Store) {
	ctx := context.Background()
	dir := "run_1"
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
	// A first attempt's files are replaced.
	if err := st.Write(ctx, dir, cents[1:], members[:3]); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, dir, cents, members); err != nil {
		t.Fatal(err)
	}
	got, err := st.ReadCentroids(ctx, dir)
	if err != nil || len(got) != 2 || *got[0].Label != label || got[1].Label != nil || !slices.Equal(got[1].CentroidVector, []float32{4, 5, 6}) {
		t.Fatalf("centroids %+v %v", got, err)
	}
	page, total, err := st.ReadMembers(ctx, dir, 1000, 10)
	if err != nil || total != 2500 || len(page) != 10 || *page[0].X != 1000 || page[0].DistanceToCentroid == nil {
		t.Fatalf("members page %+v total %d %v", page, total, err)
	}
	if page[2].DistanceToCentroid != nil { // row 1002 is a multiple of 3
		t.Fatalf("row 1002 distance %v, want null", *page[2].DistanceToCentroid)
	}
	if page[1].Probability != nil || page[2].Probability == nil || *page[2].Probability != 0.2 {
		t.Fatalf("probabilities of rows 1001 and 1002: %v %v, want null and 0.2", page[1].Probability, page[2].Probability)
	}
	tail, _, _ := st.ReadMembers(ctx, dir, 2495, 100)
	if len(tail) != 5 {
		t.Fatalf("tail %d rows", len(tail))
	}
	if _, _, err := st.ReadMembers(ctx, "run_2", 0, 1); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing: %v", err)
	}
	for _, name := range []string{"../x", "x", "../run_1/members.parquet"} {
		if _, err := st.Open(ctx, dir, name); !errors.Is(err, ErrMissing) {
			t.Fatalf("Open(%q) = %v, want ErrMissing", name, err)
		}
	}
	// The download is the file: it reads back as the members.
	o, err := st.Open(ctx, dir, MembersFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(blob.Reader(o))
	o.Close()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[Member](bytesReaderAt(raw), int64(len(raw)))
	if err != nil || len(rows) != 2500 || rows[2499].PointID != members[2499].PointID {
		t.Fatalf("downloaded members: %d rows, %v", len(rows), err)
	}
	// Sweep removes the runs that are gone, Delete one run.
	if err := st.Write(ctx, "run_3", cents, members[:1]); err != nil {
		t.Fatal(err)
	}
	n, err := st.Sweep(ctx, func(_ context.Context, runID string) (bool, error) { return runID != "run_3", nil })
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 run removed", n, err)
	}
	if _, err := st.ReadCentroids(ctx, "run_3"); !errors.Is(err, ErrMissing) {
		t.Fatalf("after Sweep, run_3's centroids: %v", err)
	}
	if err := st.Delete(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if l, err := st.Bucket().List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("after Delete, the bucket holds %v, %v", l, err)
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestLayout: the file bucket keeps the layout of earlier versions,
// data/runs/<run_id>/{centroids,members}.parquet.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	if err := Local(dir).Write(context.Background(), "run_x", []Centroid{{ClusterID: "cl_0", Keywords: []string{}}}, []Member{{PointID: "d", ClusterID: "cl_0"}}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "runs", "run_x"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{CentroidsFile, MembersFile}) {
		t.Fatalf("the run's directory holds %v", names)
	}
}

// writeOld writes rows as an earlier version did: a file in the run's
// directory.
func writeOld[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := parquet.Write(f, rows); err != nil {
		t.Fatal(err)
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
	data := t.TempDir()
	dir := filepath.Join(data, "runs", "run_old")
	writeOld(t, filepath.Join(dir, CentroidsFile), []oldCentroid{{ClusterID: "cl_0", NumMembers: 3, Keywords: []string{"k"}, Variance: 0.25, X: 1, Y: 2, Z: 3, CentroidVector: []float32{1}}})
	writeOld(t, filepath.Join(dir, MembersFile), []oldMember{{PointID: "d", ClusterID: "cl_0", X: 4, Y: 5, Z: 6}})
	ctx := context.Background()
	st := Local(data)
	cs, err := st.ReadCentroids(ctx, "run_old")
	if err != nil || len(cs) != 1 || *cs[0].Variance != 0.25 || *cs[0].X != 1 || *cs[0].Z != 3 || cs[0].FeatureURI != nil || cs[0].Attributes != nil {
		t.Fatalf("centroids %+v %v", cs, err)
	}
	ms, _, err := st.ReadMembers(ctx, "run_old", 0, -1)
	if err != nil || len(ms) != 1 || *ms[0].X != 4 || *ms[0].Z != 6 || ms[0].FeatureURI != nil || ms[0].DistanceToCentroid != nil {
		t.Fatalf("members %+v %v", ms, err)
	}
}

// TestWriteFuncChunks: members made one at a time are encoded rowChunk at
// a time; a file of 2.5 chunks reads back whole and in order, each row as
// made (optional values absent and present), and a page across a chunk
// boundary too.
func TestWriteFuncChunks(t *testing.T) {
	ctx := context.Background()
	st := Local(t.TempDir())
	n := 2*rowChunk + rowChunk/2
	vals := make([]float32, n)
	made := 0
	member := func(i int) Member {
		if i != made {
			t.Fatalf("member(%d) asked after member(%d)", i, made-1)
		}
		made++
		m := Member{PointID: "doc_" + strconv.Itoa(i), ClusterID: "cl_" + strconv.Itoa(i%7)}
		if i%3 != 0 {
			vals[i] = float32(i) / 4
			m.DistanceToCentroid = &vals[i]
		}
		return m
	}
	if err := st.WriteFunc(ctx, "run_1", []Centroid{{ClusterID: "cl_0", Keywords: []string{}}}, n, member); err != nil {
		t.Fatal(err)
	}
	if made != n {
		t.Fatalf("%d members made, want %d", made, n)
	}
	check := func(rows []Member, from int) {
		t.Helper()
		for p, m := range rows {
			i := from + p
			want := Member{PointID: "doc_" + strconv.Itoa(i), ClusterID: "cl_" + strconv.Itoa(i%7)}
			if m.PointID != want.PointID || m.ClusterID != want.ClusterID || (m.DistanceToCentroid == nil) != (i%3 == 0) ||
				(m.DistanceToCentroid != nil && *m.DistanceToCentroid != float32(i)/4) {
				t.Fatalf("member %d read back as %+v", i, m)
			}
		}
	}
	all, total, err := st.ReadMembers(ctx, "run_1", 0, -1)
	if err != nil || total != n || len(all) != n {
		t.Fatalf("ReadMembers: %d rows of %d, %v; want %d", len(all), total, err, n)
	}
	check(all, 0)
	page, _, err := st.ReadMembers(ctx, "run_1", rowChunk-5, 10)
	if err != nil || len(page) != 10 {
		t.Fatalf("a page across a chunk boundary: %d rows, %v", len(page), err)
	}
	check(page, rowChunk-5)
}
