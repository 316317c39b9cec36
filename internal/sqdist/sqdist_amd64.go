//go:build amd64 && !purego

package sqdist

import "golang.org/x/sys/cpu"

// AVX512 sums (a_t − b_t)² in float64 over t < n, n a multiple of Block,
// with AVX-512F (four accumulators of 8 lanes, folded in a fixed order).
//
//go:noescape
func AVX512(a, b *float32, n int) float64

// AVX2 is AVX512 on 4-lane registers (AVX2 and FMA), folded in the same
// tree, so both return the same bits.
//
//go:noescape
func AVX2(a, b *float32, n int) float64

// NormAVX512 sums a_t² in float64 over t < n, n a multiple of Block: AVX512
// with b = 0 (the same accumulators and fold).
//
//go:noescape
func NormAVX512(a *float32, n int) float64

// NormAVX2 is NormAVX512 on 4-lane registers, folded in the same tree.
//
//go:noescape
func NormAVX2(a *float32, n int) float64

func bestNormRoutine() func(a *float32, n int) float64 {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	if cpu.X86.HasAVX512F {
		return NormAVX512
	}
	return NormAVX2
}

func bestRoutine() func(a, b *float32, n int) float64 {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	if cpu.X86.HasAVX512F {
		return AVX512
	}
	return AVX2
}
