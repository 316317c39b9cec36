package gpu

import (
	"errors"
	"fmt"

	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/worker"
)

// ErrNoCUDA is returned by New and Devices in a binary built without the
// cuda build tag.
var ErrNoCUDA = errors.New("built without CUDA; build with -tags cuda")

// ErrClosed is returned by calls on a Backend after Close.
var ErrClosed = errors.New("gpu: backend closed")

// cudaErrorOutOfMemory is CUDA_ERROR_OUT_OF_MEMORY (cuda.h; a stable ABI
// value), the one CUresult the backend treats specially.
const cudaErrorOutOfMemory = 2

// DriverError is a failed CUDA driver call.
type DriverError struct {
	// Op names the call and what it was for, with sizes, for example
	// "cuMemAlloc 3072000000 B (dataset 1000000×768 float32)".
	Op string
	// Code is the CUresult (CUDA_ERROR_OUT_OF_MEMORY is 2).
	Code int
	// Err is the driver's error as gorgonia.org/cu reports it.
	Err error
}

func (e *DriverError) Error() string {
	return fmt.Sprintf("gpu: %s: %v (CUresult %d)", e.Op, e.Err, e.Code)
}

func (e *DriverError) Unwrap() error { return e.Err }

// OutOfMemory reports whether the call failed for lack of device memory.
func (e *DriverError) OutOfMemory() bool { return e.Code == cudaErrorOutOfMemory }

// Classify maps an error of this backend to the worker protocol's kind, for
// worker.ServeOptions.Classify: worker.KindOutOfMemory when device memory
// ran out (a failed allocation, or a request kernels.ErrUnsupported because
// it cannot fit), worker.KindDevice for any other driver failure (which may
// have left the context unusable, so the service reruns the work on the CPU
// and restarts the worker), and "" for errors that are not the device's
// (shapes, cancellation), which the worker reports by its own rules.
func Classify(err error) string {
	var de *DriverError
	switch {
	case errors.As(err, &de) && de.OutOfMemory(), errors.Is(err, kernels.ErrUnsupported):
		return worker.KindOutOfMemory
	case errors.As(err, &de), errors.Is(err, ErrClosed):
		return worker.KindDevice
	}
	return ""
}

// unsupported wraps err, a failure to fit a request on the device, so that
// callers see kernels.ErrUnsupported and may retry on the CPU.
func unsupported(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", kernels.ErrUnsupported, what, err)
}
