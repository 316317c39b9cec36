//go:build cudaemu

package emu

// #cgo CXXFLAGS: -std=c++17 -O2 -march=haswell -fno-strict-aliasing -Wno-unknown-pragmas -I${SRCDIR}/../../cuda
// #cgo LDFLAGS: -lstdc++ -lpthread -lm
// #include <stdlib.h>
// #include "emu.h"
import "C"

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Error is a failed call, with the CUresult a driver would have returned.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// The CUresult values the model returns.
const (
	CodeInvalidValue = 1   // CUDA_ERROR_INVALID_VALUE
	CodeOutOfMemory  = 2   // CUDA_ERROR_OUT_OF_MEMORY
	CodeNotFound     = 500 // CUDA_ERROR_NOT_FOUND
	CodeLaunchFailed = 719 // CUDA_ERROR_LAUNCH_FAILED
)

// DefaultMemory is the device memory the model offers unless
// CLUSTERD_EMU_MEMORY (bytes) says otherwise.
const DefaultMemory = 4 << 30

const page = 4096

// allocation is one mapping: size bytes at ptr, which ends where a
// PROT_NONE guard page begins.
type allocation struct {
	mapping []byte
	buf     []byte // the size bytes at ptr, within mapping
	ptr     uintptr
	size    int64
}

// launches counts the launches of each kernel, for tests that check how a
// call was split.
var launches struct {
	sync.Mutex
	count map[string]int
}

// Launches returns how many times kernel name has been launched.
func Launches(name string) int {
	launches.Lock()
	defer launches.Unlock()
	return launches.count[name]
}

// SetMemory sets the model's device memory to total bytes (tests of how
// calls fit in little memory) and returns the previous total.
func SetMemory(total int64) int64 {
	memory.Lock()
	defer memory.Unlock()
	prev := memory.total
	memory.total = total
	return prev
}

var memory struct {
	sync.Mutex
	total, used int64
	allocs      map[uintptr]allocation
}

func init() {
	memory.total = DefaultMemory
	if s := os.Getenv("CLUSTERD_EMU_MEMORY"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
			memory.total = v
		}
	}
	memory.allocs = map[uintptr]allocation{}
	launches.count = map[string]int{}
}

// MemInfo returns the free and total device memory of the model.
func MemInfo() (free, total int64) {
	memory.Lock()
	defer memory.Unlock()
	return memory.total - memory.used, memory.total
}

// Alloc returns size bytes of device memory, 256-byte aligned as
// cuMemAlloc's are, ending at most 255 bytes before a guard page and filled
// with 0xff. It fails with CodeOutOfMemory beyond the model's memory.
func Alloc(size int64) (uintptr, error) {
	if size < 1 {
		return 0, &Error{CodeInvalidValue, fmt.Sprintf("cuMemAlloc of %d bytes", size)}
	}
	memory.Lock()
	defer memory.Unlock()
	if memory.used+size > memory.total {
		return 0, &Error{CodeOutOfMemory, fmt.Sprintf("out of memory: %d bytes requested, %d of %d free",
			size, memory.total-memory.used, memory.total)}
	}
	reserve := (size + 255) &^ 255
	pages := (reserve + page - 1) / page
	m, err := syscall.Mmap(-1, 0, int((pages+1)*page), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return 0, &Error{CodeOutOfMemory, fmt.Sprintf("mmap %d bytes: %v", size, err)}
	}
	if err := syscall.Mprotect(m[pages*page:], syscall.PROT_NONE); err != nil {
		syscall.Munmap(m)
		return 0, &Error{CodeOutOfMemory, fmt.Sprintf("mprotect guard page: %v", err)}
	}
	off := pages*page - reserve
	buf := m[off : off+size]
	for i := range buf {
		buf[i] = 0xff
	}
	p := uintptr(unsafe.Pointer(&buf[0]))
	memory.allocs[p] = allocation{mapping: m, buf: buf, ptr: p, size: size}
	memory.used += size
	return p, nil
}

// Free releases an allocation made by Alloc.
func Free(p uintptr) error {
	memory.Lock()
	defer memory.Unlock()
	a, ok := memory.allocs[p]
	if !ok {
		return &Error{CodeInvalidValue, fmt.Sprintf("cuMemFree of %#x, which is not an allocation", p)}
	}
	delete(memory.allocs, p)
	memory.used -= a.size
	return syscall.Munmap(a.mapping)
}

// span returns the device bytes [p, p+size), which must lie in one
// allocation.
func span(p uintptr, size int64, op string) ([]byte, error) {
	memory.Lock()
	defer memory.Unlock()
	for _, a := range memory.allocs {
		if p >= a.ptr && p < a.ptr+uintptr(a.size) {
			if int64(p-a.ptr)+size > a.size {
				return nil, &Error{CodeInvalidValue, fmt.Sprintf("%s of %d bytes at offset %d of a %d-byte allocation", op, size, p-a.ptr, a.size)}
			}
			off := int64(p - a.ptr)
			return a.buf[off : off+size], nil
		}
	}
	return nil, &Error{CodeInvalidValue, fmt.Sprintf("%s at %#x, which is in no allocation", op, p)}
}

// CopyHtoD copies size bytes from host memory src to device address dst.
func CopyHtoD(dst uintptr, src unsafe.Pointer, size int64) error {
	d, err := span(dst, size, "cuMemcpyHtoD")
	if err != nil {
		return err
	}
	copy(d, unsafe.Slice((*byte)(src), size))
	return nil
}

// CopyDtoH copies size bytes from device address src to host memory dst.
func CopyDtoH(dst unsafe.Pointer, src uintptr, size int64) error {
	s, err := span(src, size, "cuMemcpyDtoH")
	if err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(dst), size), s)
	return nil
}

// FlipOrder flips (true) or restores (false) the scheduling order of every
// block: tests run a call both ways and demand the same bits from kernels
// that claim results independent of scheduling.
func FlipOrder(flip bool) {
	f := 0
	if flip {
		f = 1
	}
	C.clusterd_emu_set_order(C.int(f))
}

// TF32Gap is tf32_gap of gpu/cuda/assign_tc.cu, compiled from the kernel's
// source: the tie bound of two tf32 distance estimates a and b of a row
// with ‖x‖² = xr, largest rounded centroid norm cmax and d features.
func TF32Gap(a, b, xr, cmax float64, d int) float64 {
	return float64(C.clusterd_emu_tf32_gap(C.double(a), C.double(b), C.double(xr), C.double(cmax), C.int(d)))
}

// HasKernel reports whether the model can run kernel name.
func HasKernel(name string) bool {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.clusterd_emu_has_kernel(cs) != 0
}

// Launch runs kernel name to completion over the grid. args holds each
// parameter in an 8-byte slot and types their PTX types (".u64", ".u32",
// ".f32"), which must match the kernel's C++ signature. A kernel that
// breaks a rule of the programming model fails with CodeLaunchFailed.
func Launch(name string, grid, block [3]int, args []uint64, types []string) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	ct := C.CString(strings.ReplaceAll(strings.Join(types, " "), ".", ""))
	defer C.free(unsafe.Pointer(ct))
	var g, b [3]C.uint
	for i := range 3 {
		if grid[i] < 1 || grid[i] > 1<<31-1 || block[i] < 1 || block[i] > 1024 {
			return &Error{CodeInvalidValue, fmt.Sprintf("%s: grid %v block %v", name, grid, block)}
		}
		g[i], b[i] = C.uint(grid[i]), C.uint(block[i])
	}
	launches.Lock()
	launches.count[name]++
	launches.Unlock()
	var errBuf [512]C.char
	var argp *C.uint64_t
	if len(args) > 0 {
		argp = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	switch C.clusterd_emu_launch(cs, &g[0], &b[0], argp, C.int(len(args)), ct, &errBuf[0], C.int(len(errBuf))) {
	case C.CLUSTERD_EMU_OK:
		return nil
	case C.CLUSTERD_EMU_INVALID:
		return &Error{CodeInvalidValue, C.GoString(&errBuf[0])}
	default:
		return &Error{CodeLaunchFailed, C.GoString(&errBuf[0])}
	}
}
