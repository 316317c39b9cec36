//go:build amd64 && !purego

package quality

import "golang.org/x/sys/cpu"

// addRootsAVX2 adds the square roots of the n float32 at e, widened to
// float64, to the n float64 at acc; n is a multiple of 8 (AVX2).
//
//go:noescape
func addRootsAVX2(acc *float64, e *float32, n int)

var rootsAVX2 = cpu.X86.HasAVX2
