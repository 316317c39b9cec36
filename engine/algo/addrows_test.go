package algo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAddRows64 checks AddRows64 against the plain loop it replaces, bit
// for bit (the same additions in the same order), across dimensions with
// and without a remainder of 8 and row counts on both sides of its block
// of 256 rows, starting from non-zero sums and with values of mixed
// magnitude (so that a different order would round differently).
func TestAddRows64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, d := range []int{1, 3, 7, 8, 9, 16, 17, 128, 130} {
		for _, n := range []int{0, 1, 255, 256, 257, 600} {
			x := make([]float32, n*d)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-4)))
			}
			want, got := make([]float64, d), make([]float64, d)
			for f := range want {
				want[f] = rng.NormFloat64()
				got[f] = want[f]
			}
			for i := 0; i < n; i++ {
				for f, v := range x[i*d : (i+1)*d] {
					want[f] += float64(v)
				}
			}
			AddRows64(got, x)
			for f := range want {
				if got[f] != want[f] {
					t.Fatalf("d=%d n=%d feature %d: %v, the plain loop %v", d, n, f, got[f], want[f])
				}
			}
		}
	}
}
