//go:build amd64 && !purego

package sqdist

import "golang.org/x/sys/cpu"

// sameBits returns the AVX-512 and AVX2 sums of a and b (n a multiple of
// Block), or twice the AVX2 one where AVX-512 is missing.
func sameBits(a, b []float32) (float64, float64) {
	y := AVX2(&a[0], &b[0], len(a))
	if !cpu.X86.HasAVX512F {
		return y, y
	}
	return AVX512(&a[0], &b[0], len(a)), y
}

// sameNormBits is sameBits for the norm routines.
func sameNormBits(a []float32) (float64, float64) {
	y := NormAVX2(&a[0], len(a))
	if !cpu.X86.HasAVX512F {
		return y, y
	}
	return NormAVX512(&a[0], len(a)), y
}
