package kmeans

import (
	"math/rand/v2"
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

// TestPotentialsGroup: a full group of candidates (potentials8, sums in
// registers) gives the general loop's potentials bit for bit, weighted and
// not, over several chunks and a short last one. The general loop runs on
// the same distances with a ninth candidate appended.
func TestPotentialsGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 2*potChunk + 1234
	closest := make([]float32, n)
	w := make([]float64, n)
	dc8 := make([]float32, n*candidateGroup)
	dc9 := make([]float32, n*(candidateGroup+1))
	for i := range closest {
		closest[i] = rng.Float32() * 100
		w[i] = rng.Float64() * 30
		for c := 0; c <= candidateGroup; c++ {
			v := rng.Float32() * 100
			if c < candidateGroup {
				dc8[i*candidateGroup+c] = v
			}
			dc9[i*(candidateGroup+1)+c] = v
		}
	}
	for _, weights := range [][]float64{nil, w} {
		got, want := make([]float64, candidateGroup), make([]float64, candidateGroup+1)
		potentials(closest, weights, dc8, candidateGroup, got)
		potentials(closest, weights, dc9, candidateGroup+1, want)
		for c := range got {
			if got[c] != want[c] {
				t.Errorf("weighted %v, candidate %d: %v, the general loop %v", weights != nil, c, got[c], want[c])
			}
		}
	}
}
