// Package sqdist computes exact squared Euclidean distances between float32
// vectors: ‖a − b‖² accumulated in float64 from exact differences, the
// slow, precise form that settles near ties, near-zero distances and the
// bound tests of the bounded assignments. On amd64 with AVX2 and FMA the
// head of the vectors (a multiple of Block floats) runs in assembly, 16
// floats a step; the rest, and every float on other machines, in Go.
package sqdist

// Block is the number of floats the assembly routines take a step: they
// accept only lengths that are multiples of it.
const Block = 16

// best and bestNorm are the fastest assembly routines this machine runs
// (nil: none).
var (
	best     = bestRoutine()
	bestNorm = bestNormRoutine()
)

// Exact returns Σ (a_t − b_t)² in float64 over t < len(a); b must be at
// least as long as a. The differences are exact (float32 widened to
// float64), so the only rounding is the sum's: a relative error of about
// len(a)·2⁻⁵³. The result depends only on a, b and whether the machine
// runs the assembly (AVX-512 and AVX2 give the same bits).
func Exact(a, b []float32) float64 {
	return With(best, a, b)
}

// With is Exact with the vector part on routine (nil: Go only), for
// callers that pick the instruction set themselves (the CPU backend's
// kernel paths).
func With(routine func(a, b *float32, n int) float64, a, b []float32) float64 {
	b = b[:len(a)]
	var sum float64
	head := 0
	if routine != nil && len(a) >= Block {
		head = len(a) - len(a)%Block
		sum = routine(&a[0], &b[0], head)
	}
	for t := head; t < len(a); t++ {
		e := float64(a[t]) - float64(b[t])
		sum += e * e
	}
	return sum
}

// Norm returns Σ a_t² in float64: Exact(a, 0), the squared distance to the
// origin, with the same accuracy (each square exact, the sum rounded) and
// the same bits on AVX-512 and AVX2.
func Norm(a []float32) float64 {
	var sum float64
	head := 0
	if bestNorm != nil && len(a) >= Block {
		head = len(a) - len(a)%Block
		sum = bestNorm(&a[0], head)
	}
	for _, v := range a[head:] {
		sum += float64(v) * float64(v)
	}
	return sum
}
