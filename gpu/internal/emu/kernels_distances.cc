//go:build cudaemu

// The kernels of gpu/cuda/distances.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "distances.cu"

CLUSTERD_EMU_KERNEL(dist_fp32);
CLUSTERD_EMU_KERNEL(dist_fp32_narrow);
