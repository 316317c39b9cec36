package kmeans

import (
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine/algo"
)

// TestRelocateEmpty follows scikit-learn's _relocate_empty_clusters_dense: each
// empty cluster takes the point farthest from its centre, and that point's
// contribution moves from its old cluster's sums.
func TestRelocateEmpty(t *testing.T) {
	in := algo.Input{X: []float32{0, 0, 1, 0, 10, 0, 11, 0, 50, 0}, N: 5, D: 2}
	labels := []int32{0, 0, 1, 1, 1}
	dist := []float32{0.25, 0.25, 400, 380, 900} // row 4 is farthest, then row 2
	sums := []float64{1, 0, 71, 0, 0, 0, 0, 0}
	counts := []int64{2, 3, 0, 0}
	relocateEmpty(in, labels, dist, sums, counts, 4)
	if !slices.Equal(counts, []int64{2, 1, 1, 1}) {
		t.Fatalf("counts %v", counts)
	}
	if !slices.Equal(sums, []float64{1, 0, 11, 0, 50, 0, 10, 0}) {
		t.Fatalf("sums %v", sums)
	}
}

func TestFarthestTies(t *testing.T) {
	got := farthest([]float32{3, 9, 9, 1, 9}, 2)
	if !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("farthest = %v, want [1 2] (ties to the lower index)", got)
	}
}

// TestEmptyClustersAreRelocated: with every centre started on one point of
// a duplicated set, all but one cluster starts empty; the run must still end
// with k non-empty clusters.
func TestEmptyClustersAreRelocated(t *testing.T) {
	x := make([]float32, 0, 200)
	for i := 0; i < 100; i++ {
		x = append(x, float32(i%10), float32(i%10*i%7))
	}
	in := algo.Input{X: x, N: 100, D: 2}
	centers := make([]float32, 8)
	for j := 0; j < 4; j++ {
		copy(centers[j*2:], x[:2]) // four identical centres
	}
	r := &algo.State{In: in, Backend: cpu.New(cpu.Options{})}
	var err error
	r.DS, err = r.Backend.Upload(in.X, in.N, in.D)
	if err != nil {
		t.Fatal(err)
	}
	res, err := lloyd(t.Context(), r, centers, 4, 50, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int32]int{}
	for _, l := range res.labels {
		seen[l]++
	}
	if len(seen) != 4 {
		t.Fatalf("clusters used: %v", seen)
	}
}
