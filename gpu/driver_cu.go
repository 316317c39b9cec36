//go:build cuda && !cudaemu

package gpu

// The CUDA driver side of the backend, on gorgonia.org/cu: contexts,
// modules, memory, launches. driver_emu.go has the same functions on the
// CPU model of package gpu/internal/emu, so that everything else in this
// package is the same code on a GPU and in the model's tests.

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"gorgonia.org/cu"

	// Initialises the driver before gorgonia.org/cu can exit the process.
	_ "github.com/clusterd/clusterd/gpu/internal/cuinit"
)

// emulated reports whether kernels run in the CPU model: not in this build.
const emulated = false

// peakIterations is the FMA chain length of MeasureFMAPeak's timed run.
const peakIterations = 1 << 20

// devState is a Backend's context, its loaded modules and their kernels.
type devState struct {
	ctx  cu.CUContext
	mods []cu.Module
	fn   map[string]cu.Function
}

// setup runs on the owner's thread: it creates the context (current on
// that thread from then on) and loads the modules.
func (b *Backend) setup(opts Options) (err error) {
	b.dev.fn = map[string]cu.Function{}
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
	if b.dev.ctx, err = dev.MakeContext(cu.SchedBlockingSync); err != nil {
		return drv(err, "cuCtxCreate on device %d", opts.Device)
	}
	defer func() {
		if err != nil {
			b.dev.ctx.Destroy()
		}
	}()
	loaded := map[string]cu.Module{}
	for _, m := range mods {
		mod, err := cu.LoadData(m.source)
		if err != nil {
			return drv(err, "cuModuleLoadData %s (compute_%d PTX, %d B)", m.name, m.arch, len(m.source))
		}
		b.dev.mods = append(b.dev.mods, mod)
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
		if b.dev.fn[name], err = mod.Function(name); err != nil {
			return drv(err, "cuModuleGetFunction %s in %s", name, modName)
		}
	}
	return nil
}

// teardown unloads the modules and destroys the context (freeing all the
// device memory allocated in it); on the owner's thread.
func (b *Backend) teardown() error {
	var errs []error
	for _, m := range b.dev.mods {
		errs = append(errs, drv(m.Unload(), "cuModuleUnload"))
	}
	errs = append(errs, drv(b.dev.ctx.Destroy(), "cuCtxDestroy"))
	return errors.Join(errs...)
}

// launchKernel starts kernel name on the default stream. gorgonia.org/cu's
// Launch takes a pointer to each parameter's 8-byte slot.
func (b *Backend) launchKernel(name string, l launch, args kernelArgs) error {
	ptrs := make([]unsafe.Pointer, len(args.vals))
	for i := range args.vals {
		ptrs[i] = unsafe.Pointer(&args.vals[i])
	}
	return b.dev.fn[name].Launch(l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2], 0, cu.NoStream, ptrs)
}

// syncDevice is cuCtxSynchronize.
func syncDevice() error { return cu.Synchronize() }

// memAlloc is cuMemAlloc.
func memAlloc(size int64) (uintptr, error) {
	p, err := cu.MemAlloc(size)
	return uintptr(p), err
}

// memFree is cuMemFree.
func memFree(p uintptr) error { return cu.MemFree(cu.DevicePtr(p)) }

// memcpyHtoD is cuMemcpyHtoD of size bytes.
func memcpyHtoD(dst uintptr, src unsafe.Pointer, size int64) error {
	return cu.MemcpyHtoD(cu.DevicePtr(dst), src, size)
}

// memcpyDtoH is cuMemcpyDtoH of size bytes.
func memcpyDtoH(dst unsafe.Pointer, src uintptr, size int64) error {
	return cu.MemcpyDtoH(dst, cu.DevicePtr(src), size)
}

// freeMemory is cuMemGetInfo's free bytes.
func freeMemory() (int64, error) {
	free, _, err := cu.MemInfo()
	return free, drv(err, "cuMemGetInfo")
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
