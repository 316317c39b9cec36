//go:build cuda || cudaemu

package gpu

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/clusterd/clusterd/kernels"
)

// devBuf is a device allocation that grows on demand and is reused across
// calls (its contents are not kept when it grows).
type devBuf struct {
	ptr  uintptr
	size int64
}

// alloc is cuMemAlloc of size bytes for what.
func alloc(size int64, what string) (uintptr, error) {
	p, err := memAlloc(max(size, 1))
	return p, drv(err, "cuMemAlloc %d B for %s", size, what)
}

// ensure makes buf hold at least size bytes and returns its address.
func (buf *devBuf) ensure(size int64, what string) (uintptr, error) {
	if buf.ptr != 0 && buf.size >= size {
		return buf.ptr, nil
	}
	if err := buf.free(); err != nil {
		return 0, err
	}
	p, err := alloc(size, what)
	if err != nil {
		return 0, err
	}
	buf.ptr, buf.size = p, size
	return p, nil
}

// free releases buf.
func (buf *devBuf) free() error {
	if buf.ptr == 0 {
		return nil
	}
	err := drv(memFree(buf.ptr), "cuMemFree %d B", buf.size)
	buf.ptr, buf.size = 0, 0
	return err
}

// htod copies src to device address dst.
func htod[T any](dst uintptr, src []T, what string) error {
	if len(src) == 0 {
		return nil
	}
	size := int64(len(src)) * int64(unsafe.Sizeof(src[0]))
	err := memcpyHtoD(dst, unsafe.Pointer(&src[0]), size)
	return drv(err, "cuMemcpyHtoD %d B (%s)", size, what)
}

// dtoh copies len(dst) elements from device address src.
func dtoh[T any](dst []T, src uintptr, what string) error {
	if len(dst) == 0 {
		return nil
	}
	size := int64(len(dst)) * int64(unsafe.Sizeof(dst[0]))
	err := memcpyDtoH(unsafe.Pointer(&dst[0]), src, size)
	return drv(err, "cuMemcpyDtoH %d B (%s)", size, what)
}

// dataset is an n×d matrix resident on the device with its row norms,
// and the per-call buffers its methods reuse. Touched on the owner's
// thread only, except n and d.
type dataset struct {
	b      *Backend
	n, d   int
	x, xn  devBuf
	bufs   map[string]*devBuf
	closed bool
}

// Rows implements kernels.Dataset.
func (ds *dataset) Rows() int { return ds.n }

// Dim implements kernels.Dataset.
func (ds *dataset) Dim() int { return ds.d }

// Close implements kernels.Dataset: it frees the dataset's device memory.
// Closing twice, or after the backend, is harmless.
func (ds *dataset) Close() error {
	err := ds.b.thread.do(func() error {
		if ds.closed || ds.b.closed { // the context's destruction freed everything
			ds.closed = true
			return nil
		}
		ds.closed = true
		errs := []error{ds.x.free(), ds.xn.free()}
		for _, buf := range ds.bufs {
			errs = append(errs, buf.free())
		}
		return errors.Join(errs...)
	})
	if errors.Is(err, ErrClosed) { // the backend's Close destroyed the context and all in it
		return nil
	}
	return err
}

// buf returns the dataset's buffer for purpose what, grown to size bytes.
func (ds *dataset) buf(what string, size int64) (uintptr, error) {
	b, ok := ds.bufs[what]
	if !ok {
		b = &devBuf{}
		ds.bufs[what] = b
	}
	return b.ensure(size, what)
}

// release frees the dataset's buffers for the given purposes: the large
// scratch of calls made once per run (KNN's distance chunks), which would
// otherwise hold device memory that later uploads may need.
func (ds *dataset) release(whats ...string) error {
	var errs []error
	for _, what := range whats {
		if b, ok := ds.bufs[what]; ok {
			errs = append(errs, b.free())
			delete(ds.bufs, what)
		}
	}
	return errors.Join(errs...)
}

// upload copies host data into the dataset's buffer for what.
func upload[T any](ds *dataset, what string, src []T) (uintptr, error) {
	var zero T
	p, err := ds.buf(what, int64(len(src))*int64(unsafe.Sizeof(zero)))
	if err != nil {
		return 0, err
	}
	return p, htod(p, src, what)
}

// own checks that x is an open dataset of this backend; it runs on the
// owner's thread.
func (b *Backend) own(x kernels.Dataset) (*dataset, error) {
	ds, ok := x.(*dataset)
	if !ok || ds.b != b {
		return nil, fmt.Errorf("gpu: dataset of type %T was not made by %s", x, b.name)
	}
	if ds.closed {
		return nil, errors.New("gpu: dataset used after Close")
	}
	return ds, nil
}

// Upload implements kernels.Backend: x is copied to the device (the caller
// may reuse it at once) and its row norms computed there. A dataset larger
// than the device's free memory fails with kernels.ErrUnsupported.
func (b *Backend) Upload(x []float32, n, d int) (kernels.Dataset, error) {
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("%w: dataset must be at least 1×1, got %d×%d", kernels.ErrShape, n, d)
	}
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	if n > math.MaxInt32 || d > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d×%d: the kernels index rows and features with 32-bit ints", kernels.ErrUnsupported, n, d)
	}
	ds := &dataset{b: b, n: n, d: d, bufs: map[string]*devBuf{}}
	err := b.thread.do(func() error {
		if b.closed {
			return ErrClosed
		}
		what := fmt.Sprintf("dataset %d×%d float32", n, d)
		p, err := ds.x.ensure(4*int64(n)*int64(d), what)
		if err != nil {
			return err
		}
		if err := htod(p, x, what); err != nil {
			return err
		}
		norms, err := ds.xn.ensure(4*int64(n), "dataset row norms")
		if err != nil {
			return err
		}
		if err := b.rowNorms(p, n, d, norms); err != nil {
			return err
		}
		return b.sync(kRowNorms)
	})
	if err != nil {
		ds.Close()
		var de *DriverError
		if errors.As(err, &de) && de.OutOfMemory() {
			return nil, unsupported(fmt.Sprintf("uploading %d×%d float32", n, d), err)
		}
		return nil, err
	}
	return ds, nil
}

// rowNorms launches row_norms: out[i] = ‖x_i‖² for the n rows of x (n×d).
func (b *Backend) rowNorms(x uintptr, n, d int, out uintptr) error {
	return b.launch(kRowNorms, normsLaunch(n), rowNormsArgs(x, d, n, out))
}

// points uploads m points (m×d, e.g. centroids) into the dataset's buffers
// for what and computes their norms there, with the same kernel (the same
// summation order) as the dataset's.
func (b *Backend) points(ds *dataset, what string, y []float32, m int) (py, pn uintptr, err error) {
	if py, err = upload(ds, what, y); err != nil {
		return 0, 0, err
	}
	if pn, err = ds.buf(what+" norms", 4*int64(m)); err != nil {
		return 0, 0, err
	}
	return py, pn, b.rowNorms(py, m, ds.d, pn)
}
