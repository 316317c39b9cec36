//go:build cuda || cudaemu

package gpu

import (
	"context"
	"fmt"
	"time"

	"github.com/clusterd/clusterd/kernels"
)

// Backend is kernels.Backend on one CUDA device.
type Backend struct {
	name   string
	thread *owner

	// Set up on the owner's thread by New, read-only afterwards.
	info DeviceInfo
	//lint:ignore U1000 empty and unread in the model (driver_emu.go), whose kernels are linked in
	dev  devState // the driver's context and kernels (driver_cu.go, driver_emu.go)
	tf32 bool
	sms  int

	// Owner's thread only.
	closed bool
	stats  Stats
}

var (
	_ kernels.Backend        = (*Backend)(nil)
	_ kernels.SubsetAssigner = (*Backend)(nil)
)

// Stats counts the rows Assign sent through the tensor cores and how their
// near ties were settled.
type Stats struct {
	TF32Rows int64
	// PairRechecks are rows whose nearest centroid was one of the two tf32
	// best, settled by measuring both exactly.
	PairRechecks int64
	// FullRechecks are rows re-assigned by the exact fp32 kernel.
	FullRechecks int64
}

// New creates a context on device opts.Device, loads the embedded PTX for
// its compute capability and returns the backend, named "gpu:N". Close
// releases it.
func New(opts Options) (*Backend, error) {
	b := &Backend{name: fmt.Sprintf("gpu:%d", opts.Device)}
	own, err := startOwner(func() error { return b.setup(opts) })
	if err != nil {
		return nil, err
	}
	b.thread = own
	return b, nil
}

// Name implements kernels.Backend: "gpu:N".
func (b *Backend) Name() string { return b.name }

// Device describes the backend's device (free memory as of New).
func (b *Backend) Device() DeviceInfo { return b.info }

// TensorCores reports whether Assign uses the tf32 kernel (for k > 32).
func (b *Backend) TensorCores() bool { return b.tf32 }

// Stats returns the tf32 counters accumulated since New.
func (b *Backend) Stats() Stats {
	var s Stats
	if err := b.thread.do(func() error { s = b.stats; return nil }); err != nil {
		return Stats{}
	}
	return s
}

// Close destroys the context, freeing every dataset still open, and stops
// the owner's thread. Later calls fail with ErrClosed.
func (b *Backend) Close() error {
	return b.thread.shutdown(func() error {
		b.closed = true
		return b.teardown()
	})
}

// do runs f on the owner's thread, after checking ctx and that the backend
// is open.
func (b *Backend) do(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.thread.do(func() error {
		if b.closed {
			return ErrClosed
		}
		return f()
	})
}

// MeasureFMAPeak measures the device's fp32 fused multiply-add throughput,
// in FMA/s (twice that in FLOP/s), with fma_peak: independent FMA chains in
// every thread of a grid that fills all multiprocessors. Benchmarks divide
// the fused assignment's rate by it.
func (b *Backend) MeasureFMAPeak(ctx context.Context) (float64, error) {
	var rate float64
	err := b.do(ctx, func() error {
		l := peakLaunch(b.sms)
		threads := l.grid[0] * l.block[0]
		out, err := alloc(int64(threads)*4, "fma_peak output")
		if err != nil {
			return err
		}
		defer memFree(out)
		run := func(iters int) (time.Duration, error) {
			start := time.Now()
			if err := b.launch(kFMAPeak, l, fmaPeakArgs(out, iters, 0.999999, 1e-7)); err != nil {
				return 0, err
			}
			err := b.sync(kFMAPeak)
			return time.Since(start), err
		}
		if _, err := run(1 << 10); err != nil { // warm-up: JIT, clocks
			return err
		}
		const iters = peakIterations
		elapsed, err := run(iters)
		if err != nil {
			return err
		}
		rate = float64(threads) * iters * peakChains / elapsed.Seconds()
		return nil
	})
	return rate, err
}

// launch starts kernel name with the given geometry and parameters on the
// default stream.
func (b *Backend) launch(name string, l launch, args kernelArgs) error {
	if err := l.check(); err != nil {
		return fmt.Errorf("gpu: launching %s: %w", name, err)
	}
	return drv(b.launchKernel(name, l, args), "cuLaunchKernel %s grid %v block %v", name, l.grid, l.block)
}

// sync waits for the device, attributing a failure (a kernel's fault
// surfaces here) to what was launched.
func (b *Backend) sync(after string) error {
	return drv(syncDevice(), "cuCtxSynchronize after %s", after)
}

// drv wraps a driver error with the call that failed; nil stays nil.
func drv(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &DriverError{Op: fmt.Sprintf(format, args...), Code: resultCode(err), Err: err}
}
