package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAddRoots: addRoots gives the scalar loop's bits (acc[j] +=
// √float64(e[j])) for every length from 0 to 100, so the vector head and
// the scalar tail meet everywhere, on values from 0 and subnormals to
// 1e30.
func TestAddRoots(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for n := 0; n <= 100; n++ {
		e := make([]float32, n)
		acc := make([]float64, n)
		for j := range e {
			switch j % 5 {
			case 0:
				e[j] = 0
			case 1:
				e[j] = math.SmallestNonzeroFloat32 * float32(rng.IntN(1000))
			default:
				e[j] = float32(math.Pow(10, rng.Float64()*60-30))
			}
			acc[j] = rng.NormFloat64() * 100
		}
		want := make([]float64, n)
		for j := range want {
			want[j] = acc[j] + math.Sqrt(float64(e[j]))
		}
		addRoots(acc, e)
		for j := range acc {
			if math.Float64bits(acc[j]) != math.Float64bits(want[j]) {
				t.Fatalf("n=%d: acc[%d] = %v, want %v (√%v)", n, j, acc[j], want[j], e[j])
			}
		}
	}
}
