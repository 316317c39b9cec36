//go:build cudaemu

// The kernels of kernels/assign_tc.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "assign_tc.cu"

CLUSTERD_EMU_KERNEL(assign_tf32);
