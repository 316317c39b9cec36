// Package cpu implements kernels.Backend on the CPU.
//
// Distances are computed in the GEMM form ‖x‖² − 2x·c + ‖c‖² over tiles of
// rows and centroids (the n×k matrix is never materialised). Three kernel
// paths compute the tile products, chosen at run time (Options.Kernel):
//
//   - avx512 and avx2: register-blocked assembly micro-kernels (see
//     kernel_avx512_amd64.s) that hold a panel of 32 (16) rows, packed
//     feature-major per task, against panels of 12 (6) candidates read in
//     place, and fuse the norm add with the consumer of the distances (the
//     running best and second best of Assign, the KNN screen, the square
//     roots of the silhouette sums), so products never go through memory;
//     Distances with few points streams the rows through a skinny kernel
//     instead (skinny_amd64.s);
//   - generic: portable Go, with tile products by gonum's BLAS on amd64
//     (which has SSE assembly there) and by a register-blocked Go loop
//     elsewhere.
//
// ClusterDistanceSums measures each pair of labelled rows once, on every
// path. The float64 reductions (exact distances, per-cluster sums) have
// vector versions on the SIMD paths.
//
// The assignment of work to goroutines never changes an arithmetic result:
// every distance is one dot product summed in a fixed order whatever the
// tiling, each output is computed by one goroutine in a fixed order, and
// reductions are combined in a fixed order, so a seeded run gives
// bit-identical results whatever the core count. Different paths may differ
// in the last bits, within the kernels.Backend tolerances.
package cpu

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/clusterd/clusterd/internal/sqdist"
	"github.com/clusterd/clusterd/kernels"
)

// Options configure a Backend. The zero value is ready to use.
type Options struct {
	// Threads bounds the goroutines one call uses; 0 means GOMAXPROCS.
	Threads int
	// Kernel forces a kernel path: KernelAVX512, KernelAVX2 or
	// KernelGeneric; "" or KernelAuto picks the fastest one Kernels lists.
	Kernel string
}

// Backend is the CPU implementation of kernels.Backend.
type Backend struct {
	threads int
	simd    *simd // nil: the generic path
}

var (
	_ kernels.Backend        = (*Backend)(nil)
	_ kernels.SubsetAssigner = (*Backend)(nil)
)

// New returns a CPU backend. A Kernel this CPU does not support (or an
// unknown name) falls back to the fastest supported path, which is then the
// best one below the requested; use NewChecked to get an error instead, and
// Backend.Kernel to see the path in use.
func New(opts Options) *Backend {
	b, err := NewChecked(opts)
	if err != nil {
		opts.Kernel = KernelAuto
		b, _ = NewChecked(opts)
	}
	return b
}

// NewChecked is New, but fails when opts.Kernel names a path that is
// unknown or not supported by this CPU (see Kernels).
func NewChecked(opts Options) (*Backend, error) {
	s, err := pickKernel(opts.Kernel)
	if err != nil {
		return nil, err
	}
	w := opts.Threads
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return &Backend{threads: w, simd: s}, nil
}

// Name implements kernels.Backend.
func (b *Backend) Name() string { return "cpu" }

// Threads reports how many goroutines a call may use.
func (b *Backend) Threads() int { return b.threads }

// Kernel reports the kernel path in use (one of those Kernels lists).
func (b *Backend) Kernel() string {
	if b.simd == nil {
		return KernelGeneric
	}
	return b.simd.name
}

// dataset is an n×d matrix kept by reference, with its row norms.
type dataset struct {
	x     []float32
	n, d  int
	norms []float32 // ‖x_i‖², length n
}

// Rows implements kernels.Dataset.
func (ds *dataset) Rows() int { return ds.n }

// Dim implements kernels.Dataset.
func (ds *dataset) Dim() int { return ds.d }

// Close implements kernels.Dataset; it drops the reference to the data.
func (ds *dataset) Close() error { ds.x, ds.norms = nil, nil; return nil }

// row returns row i of the data, capped so that appends cannot spill.
func (ds *dataset) row(i int) []float32 {
	return ds.x[i*ds.d : (i+1)*ds.d : (i+1)*ds.d]
}

// Upload implements kernels.Backend. x is kept by reference, not copied or
// transformed: the only per-dataset memory is the n row norms. The kernels
// pack the few rows they work on per task.
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

// own returns x as this package's dataset, panicking on misuse.
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

// rowNorms writes ‖x_i‖² for every row, accumulated in float64 (as the
// distance from a zero row, which the SIMD paths vectorise).
func rowNorms(b *Backend, x []float32, n, d int, out []float32) {
	zero := make([]float32, d)
	_ = parallelFor(context.Background(), b.threads, blocks(n, normBlock), func(t int) {
		lo, hi := t*normBlock, min(n, (t+1)*normBlock)
		for i := lo; i < hi; i++ {
			out[i] = float32(b.simd.exactSqDist(x[i*d:(i+1)*d], zero))
		}
	})
}

// normBlock is the number of rows per task of the row-wise loops.
const normBlock = 1024

// sqNorm is ‖v‖² accumulated in float64 (sqdist.Norm).
func sqNorm(v []float32) float64 { return sqdist.Norm(v) }

// blocks is the number of blocks of size needed to cover n.
func blocks(n, size int) int { return (n + size - 1) / size }

var inf32 = float32(math.Inf(1))
