package dense

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/kernels"
)

// plainPrim is the reference loop (hdbscan's mst_linkage_core_vector) on
// float64 distances computed for every pair.
func plainPrim(x []float32, n, d int, core []float64, alpha float64) []PrimStep {
	inTree := make([]bool, n)
	cur := make([]float64, n)
	src := make([]int32, n)
	for j := range cur {
		cur[j] = math.Inf(1)
	}
	var steps []PrimStep
	node := 0
	for len(steps) < n-1 {
		inTree[node] = true
		best, next := math.MaxFloat64, 0
		for j := 0; j < n; j++ {
			if inTree[j] {
				continue
			}
			v := math.Sqrt(SqDist(x[node*d:(node+1)*d], x[j*d:(j+1)*d])) / alpha
			if core != nil {
				v = max(v, core[node], core[j])
			}
			if v < cur[j] {
				cur[j], src[j] = v, int32(node)
			}
			if cur[j] < best {
				best, next = cur[j], j
			}
		}
		steps = append(steps, PrimStep{int32(next), src[next], best})
		node = next
	}
	return steps
}

// distancesOnly hides the backend's SubsetAssigner, forcing the
// Distances path.
type distancesOnly struct{ kernels.Backend }

// TestPrimMatchesPlainLoop compares Prim, through both backend paths, with
// the plain loop on continuous data and on small integers (duplicates and
// many equal distances), with and without core distances and alpha.
func TestPrimMatchesPlainLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ties := range []bool{false, true} {
		n, d := 300, 5
		x := make([]float32, n*d)
		for i := range x {
			if ties {
				x[i] = float32(rng.IntN(3))
			} else {
				x[i] = float32(rng.NormFloat64())
			}
		}
		core := make([]float64, n)
		for i := range core {
			core[i] = math.Sqrt(SqDist(x[i*d:(i+1)*d], x[((i*7)%n)*d:((i*7)%n+1)*d]))
		}
		be := cpu.New(cpu.Options{})
		ds, err := be.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			core  []float64
			alpha float64
		}{{nil, 1}, {core, 1}, {core, 1.7}} {
			want := plainPrim(x, n, d, c.core, c.alpha)
			for _, b := range []kernels.Backend{be, distancesOnly{be}} {
				got, err := Prim(context.Background(), b, ds, x, c.core, c.alpha)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("ties=%v core=%v alpha=%g subset=%T: steps differ from the plain loop", ties, c.core != nil, c.alpha, b)
				}
			}
		}
		ds.Close()
	}
}
