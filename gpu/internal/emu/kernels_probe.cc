//go:build cudaemu

// Probe kernels that break the programming model's rules on purpose, for
// the tests of the model's checks (emu_test.go). They are not CUDA sources
// of the backend and are registered only in the model.

#include "cuda_emu.h"
#include "registry.h"

// probe_fault writes p[i], past the end of p when i is its length.
extern "C" __global__ void probe_fault(float* p, int i) {
    if (threadIdx.x == 0) p[i] = 1.f;
}

// probe_divergent_barrier lets the two halves of the block wait at
// different __syncthreads.
extern "C" __global__ void probe_divergent_barrier(int* out) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}

// probe_exited_lane shuffles with a full mask after lane 0 has returned.
extern "C" __global__ void probe_exited_lane(float* out) {
    if (threadIdx.x == 0) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.f, 1);
}

// probe_missing_barrier has every thread store its index and then read its
// neighbour's without a __syncthreads in between: out[i] = i+1 only if the
// neighbour happened to store first.
extern "C" __global__ void probe_missing_barrier(int* out) {
    __shared__ int s[64];
    s[threadIdx.x] = threadIdx.x;
    out[threadIdx.x] = s[(threadIdx.x + 1) % 64];
}

// probe_shuffle_sum sums threadIdx.x over each warp with a butterfly, as the
// kernels do: every lane must get 496 (0 + 1 + … + 31).
extern "C" __global__ void probe_shuffle_sum(int* out) {
    int v = threadIdx.x & 31;
    for (int mask = 16; mask > 0; mask >>= 1) v += __shfl_xor_sync(0xffffffffu, v, mask);
    out[threadIdx.x] = v;
}

// probe_misaligned_vec4 reads a float4 4 bytes into an allocation, which
// faults on the device.
extern "C" __global__ void probe_misaligned_vec4(int* out) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(reinterpret_cast<const float*>(out) + 1));
    out[threadIdx.x] = (int)v.x;
}

CLUSTERD_EMU_KERNEL(probe_fault);
CLUSTERD_EMU_KERNEL(probe_misaligned_vec4);
CLUSTERD_EMU_KERNEL(probe_divergent_barrier);
CLUSTERD_EMU_KERNEL(probe_exited_lane);
CLUSTERD_EMU_KERNEL(probe_missing_barrier);
CLUSTERD_EMU_KERNEL(probe_shuffle_sum);
