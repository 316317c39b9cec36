//go:build cuda

// Package cuinit initialises the CUDA driver before gorgonia.org/cu does,
// so that a machine without a usable driver or device gets a one-line
// reason on standard error and exit status 4, dispatch.ExitNoDevice (a
// literal here: see below for why this package imports nothing of
// clusterd's; cmd/clusterd-gpu's TestDevicesContract checks the value).
//
// gorgonia.org/cu calls cuInit in its package init and, when that fails,
// prints a multi-part message to standard output and exits with status 1:
// `clusterd-gpu devices --json` would then write something that is not JSON
// to the stream its caller parses, and nothing to standard error, where the
// caller looks for the reason. Go initialises packages in import-path order
// among those whose imports are initialised (Go spec, "Package
// initialization"); this package's path sorts before gorgonia.org/cu and it
// imports nothing cu does not, so its init runs first and exits cleanly
// instead. When cuInit succeeds, cu's own call is a no-op.
//
// In a test binary (named *.test, or run with -test.* flags) a failure exits
// with status 0 after saying so: the tests of a package that needs a GPU are
// skipped on a machine without one, as package kernels/conformance asks.
package cuinit

// #cgo LDFLAGS: -lcuda
// #cgo linux CFLAGS: -I/usr/local/cuda/include
// #cgo linux LDFLAGS: -L/usr/local/cuda/lib64
// #include <cuda.h>
import "C"

import "os"

func init() {
	r := C.cuInit(0)
	if r == C.CUDA_SUCCESS {
		return
	}
	name, desc := "unknown CUresult", "no description"
	var s *C.char
	if C.cuGetErrorName(r, &s) == C.CUDA_SUCCESS {
		name = C.GoString(s)
	}
	if C.cuGetErrorString(r, &s) == C.CUDA_SUCCESS {
		desc = C.GoString(s)
	}
	msg := program() + ": no usable CUDA driver or device: cuInit: " + name + " (" + desc + ")"
	if testBinary() {
		os.Stderr.WriteString(msg + "; skipping every test of this binary\n")
		os.Exit(0)
	}
	os.Stderr.WriteString(msg + "\n")
	os.Exit(4)
}

// program is the base name of the running binary.
func program() string {
	p := os.Args[0]
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// testBinary reports whether this is a `go test` binary. (testing.Testing
// would say it exactly, but importing package testing here could let
// gorgonia.org/cu initialise first; see the package comment.)
func testBinary() bool {
	if p := program(); len(p) > 5 && p[len(p)-5:] == ".test" {
		return true
	}
	for _, a := range os.Args[1:] {
		if len(a) > 6 && a[:6] == "-test." {
			return true
		}
	}
	return false
}
