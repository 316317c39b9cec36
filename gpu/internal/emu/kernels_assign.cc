//go:build cudaemu

// The kernels of gpu/cuda/assign.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "assign.cu"

CLUSTERD_EMU_KERNEL(row_norms);
CLUSTERD_EMU_KERNEL(assign_fp32);
CLUSTERD_EMU_KERNEL(assign_fp32_narrow);
CLUSTERD_EMU_KERNEL(label_dist);
