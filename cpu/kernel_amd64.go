//go:build amd64 && !purego

// Assembly declarations and CPU feature detection on amd64.

package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/clusterd/clusterd/internal/sqdist"
)

// Assembly routines; see kernel_avx512_amd64.s, kernel_avx2_amd64.s,
// pack_amd64.s and reduce_amd64.s for what each computes (the exact
// squared distances are package sqdist's).

//go:noescape
func panelAVX512(a *panelArgs)

//go:noescape
func panelAVX2(a *panelArgs)

//go:noescape
func packAVX512(dst *float32, rows **float32, d int)

//go:noescape
func packAVX2(dst *float32, rows **float32, d int)

//go:noescape
func distRowsAVX512(x *float32, n, d int, yp, xn, yn, out *float32, m int, aux *int32)

//go:noescape
func distRowsAVX2(x *float32, n, d int, yp, xn, yn, out *float32, m int, aux *int32)

//go:noescape
func addRowsAVX2(sums *float64, x *float32, labels *int32, n, d, lo, hi int)

//go:noescape
func sumRowsAVX2(dst *float64, src *float32, rows, ld, w int)

//go:noescape
func segSumAVX2(dst *float64, src *float32, rows, ld, a, b int)

// The assembly paths, fastest first. AVX-512 needs only AVX-512F among the
// AVX-512 subsets (x/sys/cpu also checks that the OS saves the ZMM state),
// plus AVX2 and FMA for the helpers it shares with the AVX2 path.
var (
	avx512Path = &simd{
		name: KernelAVX512, lanes: 32, cands: 12, packBlock: 16,
		panel: panelAVX512, pack: packAVX512, distRows: distRowsAVX512, rowWidth: 16,
		sqDist:     sqdist.AVX512,
		addRowsVec: addRowsAVX2, sumRowsVec: sumRowsAVX2, sumBlock: 8, segSumVec: segSumAVX2,
	}
	avx2Path = &simd{
		name: KernelAVX2, lanes: 16, cands: 6, packBlock: 8,
		panel: panelAVX2, pack: packAVX2, distRows: distRowsAVX2, rowWidth: 8,
		sqDist:     sqdist.AVX2,
		addRowsVec: addRowsAVX2, sumRowsVec: sumRowsAVX2, sumBlock: 8, segSumVec: segSumAVX2,
	}
	simdPaths = supportedPaths()
)

func supportedPaths() []*simd {
	var paths []*simd
	hasAVX2 := cpu.X86.HasAVX2 && cpu.X86.HasFMA
	if hasAVX2 && cpu.X86.HasAVX512F {
		paths = append(paths, avx512Path)
	}
	if hasAVX2 {
		paths = append(paths, avx2Path)
	}
	return paths
}
