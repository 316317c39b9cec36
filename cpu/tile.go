package cpu

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Tile sizes. A task is one tile of rowTile rows; within it the centroids
// (or the other rows) are visited colTile at a time. They are fixed
// constants, not derived from the core count, so the arithmetic each output
// sees is the same on every machine.
const (
	rowTile = 64
	colTile = 128
)

// dotTile writes out[r*nb+j] = a_r · b_j for the ra rows of a and the nb rows
// of b (both row-major with d columns). out has length ≥ ra·nb.
//
// The sizes stay within one gonum block (64×128), where gonum's Sgemm runs
// serially and each entry is one dot product over all d features, so an
// entry's value does not depend on where its row sits in the tile.
func dotTile(a []float32, ra int, b []float32, nb int, d int, out []float32) {
	gonum.Implementation{}.Sgemm(blas.NoTrans, blas.Trans, ra, nb, d, 1, a, d, b, d, 0, out, nb)
}

// tileBuf is a scratch tile reused across tasks.
type tileBuf struct {
	prod []float32 // rowTile × colTile products
	rows []float32 // rowTile × d gathered rows (subset assignment)
}

var tilePool = sync.Pool{New: func() any { return &tileBuf{prod: make([]float32, rowTile*colTile)} }}

func getTile(d int) *tileBuf {
	t := tilePool.Get().(*tileBuf)
	if cap(t.rows) < rowTile*d {
		t.rows = make([]float32, rowTile*d)
	}
	t.rows = t.rows[:rowTile*d]
	return t
}

func putTile(t *tileBuf) { tilePool.Put(t) }
