package kmeans

import (
	"math"
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

// TestPotentialsRows: the potentials of candidate groups give the bits of
// the plain loop (w·min(closest, d) added row after row, per candidate),
// weighted and not, for 8 candidates (the vector path) and 5, over row
// ranges from empty to 40 rows, with ties and zeros among the values.
func TestPotentialsRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for _, trials := range []int{8, 5} {
		for _, weighted := range []bool{false, true} {
			for rows := 0; rows <= 40; rows++ {
				lo, hi := 3, 3+rows
				n := hi + 2
				closest := make([]float32, n)
				dc := make([]float32, n*trials)
				var w []float64
				if weighted {
					w = make([]float64, n)
				}
				for i := range closest {
					closest[i] = float32(rng.ExpFloat64() * 10)
					if i%7 == 0 {
						closest[i] = 0
					}
					if w != nil {
						w[i] = rng.Float64() * 50
					}
					for t := range trials {
						dc[i*trials+t] = float32(rng.ExpFloat64() * 10)
						if (i+t)%5 == 0 {
							dc[i*trials+t] = closest[i]
						}
					}
				}
				want := make([]float64, trials)
				for t := range want {
					want[t] = rng.NormFloat64()
				}
				got := slices.Clone(want)
				for i := lo; i < hi; i++ {
					for t := range trials {
						term := float64(min(closest[i], dc[i*trials+t]))
						if w != nil {
							term = w[i] * term
						}
						want[t] += term
					}
				}
				potentialsRows(got, closest, w, dc, lo, hi)
				if !slices.EqualFunc(got, want, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
					t.Fatalf("%d candidates, weighted %v, %d rows: %v, want %v", trials, weighted, rows, got, want)
				}
			}
		}
	}
}
