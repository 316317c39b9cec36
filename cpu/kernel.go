// Kernel paths: the names Options.Kernel accepts, run-time selection, and
// the argument block and lane packing shared by the assembly micro-kernels.

package cpu

import (
	"fmt"
	"unsafe"

	"github.com/clusterd/clusterd/internal/sqdist"
)

// Kernel paths, the values of Options.Kernel.
const (
	// KernelAuto picks the fastest path this CPU supports (also "").
	KernelAuto = "auto"
	// KernelAVX512 runs the AVX-512 assembly micro-kernels.
	KernelAVX512 = "avx512"
	// KernelAVX2 runs the AVX2+FMA assembly micro-kernels.
	KernelAVX2 = "avx2"
	// KernelGeneric runs portable Go: tile products by gonum's BLAS on
	// amd64 and by a register-blocked Go loop elsewhere.
	KernelGeneric = "generic"
)

// Kernels lists the kernel paths this CPU supports, fastest first; the last
// is always KernelGeneric.
func Kernels() []string {
	names := make([]string, 0, len(simdPaths)+1)
	for _, s := range simdPaths {
		names = append(names, s.name)
	}
	return append(names, KernelGeneric)
}

// pickKernel resolves an Options.Kernel value to a supported path: nil is
// the generic path. It fails for unknown names and for paths this CPU (or
// this build: non-amd64, or the purego tag) does not support.
func pickKernel(name string) (*simd, error) {
	switch name {
	case "", KernelAuto:
		if len(simdPaths) > 0 {
			return simdPaths[0], nil
		}
		return nil, nil
	case KernelGeneric:
		return nil, nil
	case KernelAVX512, KernelAVX2:
		for _, s := range simdPaths {
			if s.name == name {
				return s, nil
			}
		}
		return nil, fmt.Errorf("cpu: kernel %q is not supported on this CPU (supported: %v)", name, Kernels())
	}
	return nil, fmt.Errorf("cpu: unknown kernel %q (want %q, %q, %q or %q)", name, KernelAuto, KernelAVX512, KernelAVX2, KernelGeneric)
}

// simd describes one assembly path. Its distance kernel works on a lane
// panel of `lanes` rows packed feature-major (see packRows) against panels of
// `cands` candidates read in place through row pointers. A nil *simd is the
// generic path: the helper methods then run scalar Go.
type simd struct {
	name  string
	lanes int // rows per lane panel (bits of a lane mask)
	cands int // candidates per candidate panel
	// packBlock is how many features pack transposes at a time; packRows
	// copies the remaining d mod packBlock in Go.
	packBlock int
	panel     func(a *panelArgs)
	pack      func(dst *float32, rows **float32, d int)
	// distRows is the skinny distance kernel (see skinny_amd64.s), which
	// reads rows rowWidth features at a time.
	distRows func(x *float32, n, d int, yp, xn, yn, out *float32, m int, aux *int32)
	rowWidth int
	// sqDist sums (a−b)² in float64 over n floats, n a multiple of
	// sqdist.Block.
	sqDist func(a, b *float32, n int) float64
	// Float64 reductions; see addRows, sumRows and segSum.
	addRowsVec func(sums *float64, x *float32, labels *int32, n, d, lo, hi int)
	sumRowsVec func(dst *float64, src *float32, rows, ld, w int)
	sumBlock   int // sumRowsVec handles w a multiple of sumBlock
	segSumVec  func(dst *float64, src *float32, rows, ld, a, b int)
}

// maxLanes is the widest lane panel of any path.
const maxLanes = 32

// Epilogues of the panel kernels (panelArgs.mode); see kernel_avx512_amd64.s.
const (
	modeAssign = 0 // running best/second best per lane into a panelState
	modeMask   = 1 // per candidate, lanes with e ≤ thr
	modeSqrt   = 2 // sqrt(max(e,0)) rows and near-zero lane masks
	modeStore  = 3 // e rows
)

// panelArgs is the argument block of a panel kernel call. The kernel runs
// np candidate panels against one packed lane panel; for lane r and
// candidate c it forms e = (xn[r] + cn[c]) − 2·(x_r · cand_c) and applies
// the epilogue of mode. Its field offsets are used by the assembly (via
// go_asm.h).
type panelArgs struct {
	xt    *float32       // packed lane panel, d × lanes
	cands **float32      // np·cands candidate row pointers (d floats each)
	cn    *float32       // np·cands candidate norms
	xn    *float32       // lanes lane norms
	thr   *float32       // modeMask: lanes thresholds
	out   unsafe.Pointer // modeAssign: *panelState; modeSqrt, modeStore: *float32, np·cands rows of ldo bytes
	mask  *uint32        // modeMask, modeSqrt: np·cands lane masks
	d     int            // features
	np    int            // candidate panels
	j0    int            // modeAssign: index reported for the first candidate
	ldo   int            // modeSqrt, modeStore: bytes between rows of out
	mode  int
	nz    float32 // modeSqrt: near-zero fraction of xn + cn
}

// panelState is the running nearest-candidate state of one lane panel in
// modeAssign: per lane the smallest e, the second smallest, and the index of
// the smallest. Paths with fewer lanes use the first `lanes` entries.
type panelState struct {
	best   [maxLanes]float32
	second [maxLanes]float32
	idx    [maxLanes]int32
}

// reset prepares the state for a new scan: nothing seen yet.
func (st *panelState) reset() {
	for r := range st.best {
		st.best[r], st.second[r], st.idx[r] = inf32, inf32, 0
	}
}

// packRows packs the rows of x (row-major, d features) listed in rows
// (at most s.lanes of them; missing lanes read as zero) into dst, which must
// hold d·s.lanes floats: dst[t*lanes+r] = x[rows[r]*d+t]. ptrs is scratch of
// s.lanes entries and zero a row of d zeros.
func (s *simd) packRows(dst []float32, x []float32, d int, rows []int32, ptrs []*float32, zero []float32) {
	L := s.lanes
	for r := range ptrs[:L] {
		if r < len(rows) {
			ptrs[r] = &x[int(rows[r])*d]
		} else {
			ptrs[r] = &zero[0]
		}
	}
	if d >= s.packBlock {
		s.pack(&dst[0], &ptrs[0], d)
	}
	dst = dst[:d*L]
	for t := d - d%s.packBlock; t < d; t++ {
		col := dst[t*L : (t+1)*L]
		for r := range col {
			if r < len(rows) {
				col[r] = x[int(rows[r])*d+t]
			} else {
				col[r] = 0
			}
		}
	}
}

// exactSqDist is ‖a−b‖² accumulated in float64 from exact differences: the
// slow, precise form used to settle near ties and near-zero distances. The
// vector part runs on s (nil: Go only).
func (s *simd) exactSqDist(a, b []float32) float64 {
	if s == nil {
		return sqdist.With(nil, a, b)
	}
	return sqdist.With(s.sqDist, a, b)
}
