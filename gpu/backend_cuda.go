//go:build cuda

package gpu

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	// Initialises the driver before gorgonia.org/cu can exit the process.
	_ "github.com/clusterd/clusterd/gpu/internal/cuinit"
	"github.com/clusterd/clusterd/kernels"
)

// Backend is kernels.Backend on one CUDA device.
type Backend struct {
	name   string
	thread *owner

	// Set up on the owner's thread by New, read-only afterwards.
	info DeviceInfo
	ctx  cu.CUContext
	mods []cu.Module
	fn   map[string]cu.Function
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
	b := &Backend{name: fmt.Sprintf("gpu:%d", opts.Device), fn: map[string]cu.Function{}}
	own, err := startOwner(func() error { return b.setup(opts) })
	if err != nil {
		return nil, err
	}
	b.thread = own
	return b, nil
}

// setup runs on the owner's thread: it creates the context (current on
// that thread from then on) and loads the modules.
func (b *Backend) setup(opts Options) (err error) {
	count, err := cu.NumDevices()
	if err != nil {
		return drv(err, "cuDeviceGetCount")
	}
	if opts.Device < 0 || opts.Device >= count {
		return fmt.Errorf("gpu: device %d does not exist (%d CUDA devices)", opts.Device, count)
	}
	dev, err := cu.GetDevice(opts.Device)
	if err != nil {
		return drv(err, "cuDeviceGet %d", opts.Device)
	}
	info, err := describe(dev, opts.Device)
	if err != nil {
		return err
	}
	b.info = info
	if b.tf32, err = useTF32(opts.Precision, info.Major); err != nil {
		return err
	}
	mods, err := modulesFor(info.Major, info.Minor)
	if err != nil {
		return err
	}
	if b.sms, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return drv(err, "cuDeviceGetAttribute multiprocessor count")
	}
	// Blocking sync: the owner's thread sleeps while the device works
	// instead of spinning a core the CPU backend or the service could use.
	if b.ctx, err = dev.MakeContext(cu.SchedBlockingSync); err != nil {
		return drv(err, "cuCtxCreate on device %d", opts.Device)
	}
	defer func() {
		if err != nil {
			b.ctx.Destroy()
		}
	}()
	loaded := map[string]cu.Module{}
	for _, m := range mods {
		mod, err := cu.LoadData(m.source)
		if err != nil {
			return drv(err, "cuModuleLoadData %s (compute_%d PTX, %d B)", m.name, m.arch, len(m.source))
		}
		b.mods = append(b.mods, mod)
		loaded[m.name] = mod
	}
	for name, modName := range kernelModule {
		if name == kAssignTF32 && !b.tf32 {
			continue
		}
		mod, ok := loaded[modName]
		if !ok {
			return fmt.Errorf("gpu: no embedded PTX module %q for compute capability %s", modName, info.ComputeCapability())
		}
		if b.fn[name], err = mod.Function(name); err != nil {
			return drv(err, "cuModuleGetFunction %s in %s", name, modName)
		}
	}
	return nil
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
		var errs []error
		for _, m := range b.mods {
			errs = append(errs, drv(m.Unload(), "cuModuleUnload"))
		}
		errs = append(errs, drv(b.ctx.Destroy(), "cuCtxDestroy"))
		return errors.Join(errs...)
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
		defer func() { cu.MemFree(out) }()
		run := func(iters int) (time.Duration, error) {
			start := time.Now()
			if err := b.launch(kFMAPeak, l, fmaPeakArgs(uintptr(out), iters, 0.999999, 1e-7)); err != nil {
				return 0, err
			}
			err := b.sync(kFMAPeak)
			return time.Since(start), err
		}
		if _, err := run(1 << 10); err != nil { // warm-up: JIT, clocks
			return err
		}
		const iters = 1 << 20
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
	ptrs := make([]unsafe.Pointer, len(args.vals))
	for i := range args.vals {
		ptrs[i] = unsafe.Pointer(&args.vals[i])
	}
	err := b.fn[name].Launch(l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2], 0, cu.NoStream, ptrs)
	return drv(err, "cuLaunchKernel %s grid %v block %v", name, l.grid, l.block)
}

// sync waits for the device, attributing a failure (a kernel's fault
// surfaces here) to what was launched.
func (b *Backend) sync(after string) error {
	return drv(cu.Synchronize(), "cuCtxSynchronize after %s", after)
}

// freeMemory is cuMemGetInfo's free bytes.
func freeMemory() (int64, error) {
	free, _, err := cu.MemInfo()
	return free, drv(err, "cuMemGetInfo")
}

// drv wraps a driver error with the call that failed; nil stays nil.
func drv(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &DriverError{Op: fmt.Sprintf(format, args...), Code: resultCode(err), Err: err}
}

// resultCode digs the CUresult out of an error of gorgonia.org/cu, whose
// type (an int) is unexported and sometimes wrapped; −1 if there is none.
func resultCode(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if v := reflect.ValueOf(e); v.Kind() == reflect.Int {
			return int(v.Int())
		}
	}
	return -1
}

// describe queries one device. Free memory needs a context, so it is read
// from a temporary one on the calling (owner's) thread.
func describe(dev cu.Device, index int) (DeviceInfo, error) {
	info := DeviceInfo{Index: index, DriverVersion: cu.Version()}
	var err error
	if info.Name, err = dev.Name(); err != nil {
		return info, drv(err, "cuDeviceGetName %d", index)
	}
	if info.Major, info.Minor, err = dev.ComputeCapability(); err != nil {
		return info, drv(err, "cuDeviceGetAttribute compute capability of %d", index)
	}
	if info.TotalMemory, err = dev.TotalMem(); err != nil {
		return info, drv(err, "cuDeviceTotalMem %d", index)
	}
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return info, drv(err, "cuCtxCreate on device %d", index)
	}
	info.FreeMemory, err = freeMemory()
	if derr := ctx.Destroy(); err == nil {
		err = drv(derr, "cuCtxDestroy on device %d", index)
	}
	return info, err
}

// Devices lists the CUDA devices with their compute capability and memory.
// It runs on a thread of its own (one context at a time is current there).
func Devices() ([]DeviceInfo, error) {
	var infos []DeviceInfo
	own, err := startOwner(func() error {
		count, err := cu.NumDevices()
		if err != nil {
			return drv(err, "cuDeviceGetCount")
		}
		for i := range count {
			dev, err := cu.GetDevice(i)
			if err != nil {
				return drv(err, "cuDeviceGet %d", i)
			}
			info, err := describe(dev, i)
			if err != nil {
				return err
			}
			infos = append(infos, info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	own.shutdown(func() error { return nil })
	return infos, nil
}
