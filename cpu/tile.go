// Tile sizes and scratch of the generic path; dotTile is in
// tile_gonum.go (amd64) or tile_go.go (elsewhere).

package cpu

import "sync"

// Tile sizes of the generic path. A task is one tile of rowTile rows; within
// it the centroids (or the other rows) are visited colTile at a time. They
// are fixed constants, not derived from the core count, so the arithmetic
// each output sees is the same on every machine.
const (
	rowTile = 64
	colTile = 128
)

// tileBuf is a scratch tile of the generic path reused across tasks.
type tileBuf struct {
	prod []float32 // rowTile × colTile products
	rows []float32 // rowTile × d gathered rows (subset assignment)
}

var tilePool = sync.Pool{New: func() any { return &tileBuf{prod: make([]float32, rowTile*colTile)} }}

// getTile returns a scratch tile whose rows hold rowTile rows of d floats.
func getTile(d int) *tileBuf {
	t := tilePool.Get().(*tileBuf)
	if cap(t.rows) < rowTile*d {
		t.rows = make([]float32, rowTile*d)
	}
	t.rows = t.rows[:rowTile*d]
	return t
}

// putTile returns a scratch tile to the pool.
func putTile(t *tileBuf) { tilePool.Put(t) }
