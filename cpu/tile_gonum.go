//go:build amd64 && !noasm

// dotTile by gonum, whose float32 kernels have SSE assembly on amd64 (and
// beat plain Go there about 2.5×).

package cpu

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// dotTile writes out[r*ldc+j] = a_r · b_j for the ra rows of a and the nb
// rows of b (both row-major with d columns); ra ≤ rowTile, nb ≤ colTile.
//
// The sizes stay within one gonum block (64×128), where gonum's Sgemm runs
// serially and each entry is one dot product over all d features, so an
// entry's value does not depend on where its row sits in the tile.
func dotTile(a []float32, ra int, b []float32, nb int, d int, out []float32, ldc int) {
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, ra, nb, d, 1, a, d, b, d, 0, out, ldc)
}
