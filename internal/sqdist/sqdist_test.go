package sqdist

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactRef is ‖a − b‖² in 256-bit arithmetic: the reference, rounded once.
func exactRef(a, b []float32) float64 {
	sum := new(big.Float).SetPrec(256)
	for t := range a {
		e := new(big.Float).SetPrec(256).Sub(big.NewFloat(float64(a[t])), big.NewFloat(float64(b[t])))
		sum.Add(sum, e.Mul(e, e))
	}
	f, _ := sum.Float64()
	return f
}

// TestExact: every routine this machine runs, and Go alone, agree with the
// 256-bit reference to 64 ulps of float64 relative error (a length-n sum of
// non-negative terms errs by at most about n·2⁻⁵³) over lengths 0–100 (every
// remainder of Block) and values of mixed magnitude; AVX-512 and AVX2 give
// the same bits.
func TestExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	routines := map[string]func(a, b *float32, n int) float64{"go": nil}
	if best != nil {
		routines["best"] = best
	}
	for n := 0; n <= 100; n++ {
		a, b := make([]float32, n), make([]float32, n+3) // b may be longer
		for i := range a {
			a[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		want := exactRef(a, b[:n])
		for name, r := range routines {
			got := With(r, a, b)
			if math.Abs(got-want) > 64*0x1p-53*want {
				t.Errorf("n=%d %s: %v, want %v", n, name, got, want)
			}
		}
		if got := Exact(a, b); got != With(best, a, b) {
			t.Errorf("n=%d: Exact %v differs from its routine's %v", n, got, With(best, a, b))
		}
		if best != nil && n%Block == 0 && n > 0 {
			if x, y := sameBits(a, b[:n]); x != y {
				t.Errorf("n=%d: AVX-512 %v and AVX2 %v differ", n, x, y)
			}
		}
	}
}

// TestNorm: Norm is Exact against the zero vector, bit for bit, over
// lengths 0–100 and values of mixed magnitude, so it has Exact's accuracy;
// AVX-512 and AVX2 give the same bits.
func TestNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 100; n++ {
		a, zero := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
		}
		if got, want := Norm(a), Exact(a, zero); got != want {
			t.Errorf("n=%d: Norm %v, Exact against 0 %v", n, got, want)
		}
		if n%Block == 0 && n > 0 {
			if x, y := sameNormBits(a); x != y {
				t.Errorf("n=%d: AVX-512 %v and AVX2 %v differ", n, x, y)
			}
		}
	}
}
