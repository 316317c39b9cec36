//go:build cudaemu

// The kernels of gpu/cuda/assign_tc.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "assign_tc.cu"

CLUSTERD_EMU_KERNEL(assign_tf32);

// clusterd_emu_tf32_gap exposes the device function tf32_gap to the tests,
// which compare it with their mirror of it (gpu.tf32Gap in model_test.go).
extern "C" double clusterd_emu_tf32_gap(double a, double b, double xr, double cmax, int d) {
    return tf32_gap(a, b, xr, sqrt(xr), cmax, d);
}
