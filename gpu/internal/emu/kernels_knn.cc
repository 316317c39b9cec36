//go:build cudaemu

// The kernels of gpu/cuda/knn.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "knn.cu"

CLUSTERD_EMU_KERNEL(knn_select);
CLUSTERD_EMU_KERNEL(knn_measure);
CLUSTERD_EMU_KERNEL(knn_sort);
