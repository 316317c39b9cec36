// Package cpu implements kernels.Backend on the CPU in pure Go.
//
// Distances are computed in the GEMM form ‖x‖² − 2x·c + ‖c‖² over tiles of
// rows and centroids (the n×k matrix is never materialised), with the tile
// products done by gonum's BLAS; every core works on its own tiles. The
// assignment of work to goroutines never changes an arithmetic result: tiles
// have fixed sizes, each output is computed by one goroutine in a fixed
// order, and reductions are combined in a fixed order, so a seeded run gives
// bit-identical results whatever the core count.
package cpu

import (
	"fmt"
	"math"
	"runtime"

	"github.com/clusterd/clusterd/kernels"
)

// Options configure a Backend. The zero value is ready to use.
type Options struct {
	// Workers bounds the goroutines one call uses; 0 means GOMAXPROCS.
	Workers int
}

// Backend is the CPU implementation of kernels.Backend.
type Backend struct {
	workers int
}

var (
	_ kernels.Backend        = (*Backend)(nil)
	_ kernels.SubsetAssigner = (*Backend)(nil)
)

// New returns a CPU backend.
func New(opts Options) *Backend {
	w := opts.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return &Backend{workers: w}
}

// Name implements kernels.Backend.
func (b *Backend) Name() string { return "cpu" }

// Workers reports how many goroutines a call may use.
func (b *Backend) Workers() int { return b.workers }

// dataset is an n×d matrix kept by reference, with its row norms.
type dataset struct {
	x     []float32
	n, d  int
	norms []float32 // ‖x_i‖², length n
}

func (ds *dataset) Rows() int    { return ds.n }
func (ds *dataset) Dim() int     { return ds.d }
func (ds *dataset) Close() error { ds.x, ds.norms = nil, nil; return nil }
func (ds *dataset) row(i int) []float32 {
	return ds.x[i*ds.d : (i+1)*ds.d : (i+1)*ds.d]
}

// Upload implements kernels.Backend. x is kept by reference, not copied.
func (b *Backend) Upload(x []float32, n, d int) (kernels.Dataset, error) {
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("%w: dataset must be at least 1×1, got %d×%d", kernels.ErrShape, n, d)
	}
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	ds := &dataset{x: x, n: n, d: d, norms: make([]float32, n)}
	rowNorms(b, x, n, d, ds.norms)
	return ds, nil
}

func (b *Backend) own(x kernels.Dataset) *dataset {
	ds, ok := x.(*dataset)
	if !ok {
		// Handing one backend's dataset to another is a programming error.
		panic(fmt.Sprintf("cpu: dataset of type %T was not made by this backend", x))
	}
	if ds.x == nil {
		panic("cpu: dataset used after Close")
	}
	return ds
}

// rowNorms writes ‖x_i‖² for every row, accumulated in float64.
func rowNorms(b *Backend, x []float32, n, d int, out []float32) {
	_ = parallelFor(nil, b.workers, blocks(n, normBlock), func(t int) {
		lo, hi := t*normBlock, min(n, (t+1)*normBlock)
		for i := lo; i < hi; i++ {
			out[i] = float32(sqNorm(x[i*d : (i+1)*d]))
		}
	})
}

const normBlock = 1024

func sqNorm(v []float32) float64 {
	var s float64
	for _, e := range v {
		s += float64(e) * float64(e)
	}
	return s
}

// exactSqDist is ‖a−b‖² accumulated in float64: the slow, precise form
// used to settle near ties and near-zero distances.
func exactSqDist(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for t, v := range a {
		e := float64(v) - float64(b[t])
		s += e * e
	}
	return s
}

func blocks(n, size int) int { return (n + size - 1) / size }

var inf32 = float32(math.Inf(1))
