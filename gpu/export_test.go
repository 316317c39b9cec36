//go:build cuda || cudaemu

package gpu

// Emulated reports whether the tests run the kernels in the CPU model
// (build tag cudaemu) rather than on a device.
const Emulated = emulated
