//go:build cudaemu

package gpu

// The driver side of the backend on the CPU model of package
// gpu/internal/emu, which compiles gpu/cuda/*.cu for the host: the rest of
// this package (planning, launches, the host's share of the algorithms) is
// the same code as on a GPU, and the shared conformance suite runs against
// it on machines without one. The model has one device, "gpu:0", with the
// compute capability CLUSTERD_EMU_CC names (default 8.0, which selects the
// tf32 kernel; 7.0 leaves only the fp32 ones) and CLUSTERD_EMU_MEMORY bytes
// of memory (default 4 GiB).

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/clusterd/clusterd/gpu/internal/emu"
)

// emulated reports whether kernels run in the CPU model: they do in this
// build.
const emulated = true

// peakIterations is the FMA chain length of MeasureFMAPeak's timed run,
// short in the model, which measures nothing about a device's speed.
const peakIterations = 1 << 10

// emuSMs is the multiprocessor count the model reports; launches sized by
// it (fma_peak) stay small.
const emuSMs = 2

// devState holds nothing in the model: its kernels are linked in.
type devState struct{}

// emuInfo describes the model's one device.
func emuInfo() (DeviceInfo, error) {
	info := DeviceInfo{Name: "clusterd CUDA model on the CPU (gpu/internal/emu)", Major: 8, DriverVersion: 11080}
	if s := os.Getenv("CLUSTERD_EMU_CC"); s != "" {
		if _, err := fmt.Sscanf(s, "%d.%d", &info.Major, &info.Minor); err != nil {
			return info, fmt.Errorf("gpu: CLUSTERD_EMU_CC=%q: want a compute capability such as 8.0", s)
		}
	}
	info.FreeMemory, info.TotalMemory = emu.MemInfo()
	return info, nil
}

// setup checks the options against the model's device and that the model
// has every kernel the backend launches.
func (b *Backend) setup(opts Options) error {
	if opts.Device != 0 {
		return fmt.Errorf("gpu: device %d does not exist (1 CUDA devices)", opts.Device)
	}
	info, err := emuInfo()
	if err != nil {
		return err
	}
	b.info = info
	if b.tf32, err = useTF32(opts.Precision, info.Major); err != nil {
		return err
	}
	if _, err := modulesFor(info.Major, info.Minor); err != nil {
		return err
	}
	b.sms = emuSMs
	for name := range kernelModule {
		if !emu.HasKernel(name) {
			return fmt.Errorf("gpu: the CPU model has no kernel %s (add it to gpu/internal/emu/kernels_*.cc)", name)
		}
	}
	return nil
}

// teardown has nothing to release: datasets free their own memory.
func (b *Backend) teardown() error { return nil }

// launchKernel runs kernel name in the model, to completion.
func (b *Backend) launchKernel(name string, l launch, args kernelArgs) error {
	return emu.Launch(name, l.grid, l.block, args.vals, args.types)
}

// syncDevice has nothing to wait for: launches are synchronous.
func syncDevice() error { return nil }

func memAlloc(size int64) (uintptr, error) { return emu.Alloc(size) }

func memFree(p uintptr) error { return emu.Free(p) }

func memcpyHtoD(dst uintptr, src unsafe.Pointer, size int64) error {
	return emu.CopyHtoD(dst, src, size)
}

func memcpyDtoH(dst unsafe.Pointer, src uintptr, size int64) error {
	return emu.CopyDtoH(dst, src, size)
}

// freeMemory is the model's free memory.
func freeMemory() (int64, error) {
	free, _ := emu.MemInfo()
	return free, nil
}

// resultCode is the CUresult the model's error stands for; −1 if none.
func resultCode(err error) int {
	var e *emu.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

// Devices lists the model's one device.
func Devices() ([]DeviceInfo, error) {
	info, err := emuInfo()
	if err != nil {
		return nil, err
	}
	return []DeviceInfo{info}, nil
}
