//go:build cudaemu

// The kernels of gpu/cuda/reduce.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "reduce.cu"

CLUSTERD_EMU_KERNEL(sum_partial);
CLUSTERD_EMU_KERNEL(sum_combine);
CLUSTERD_EMU_KERNEL(cluster_dist_sums);
