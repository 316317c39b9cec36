//go:build cudaemu

// The kernels of gpu/cuda/peak.cu, compiled for the CPU model.

#include "cuda_emu.h"
#include "registry.h"
#include "kernels_sum.h"  // rebuilds the model when a kernel changes

#include "peak.cu"

CLUSTERD_EMU_KERNEL(fma_peak);
