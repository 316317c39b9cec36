// Throughput probe of the gpu backend: a kernel that does nothing but fp32
// fused multiply-adds, so that benchmarks can state the fused assignment's
// speed as a fraction of what this device, at its current clocks, can do
// (gpu.Backend.MeasureFMAPeak), rather than of a datasheet figure.
//
// Compiled to compute_70 PTX by gpu/ptx/generate.sh.

// Independent FMA chains per thread: enough instruction-level parallelism to
// cover the FMA latency (4 cycles) at full occupancy.
#define CLUSTERD_PEAK_CHAINS 8

// fma_peak runs CLUSTERD_PEAK_CHAINS independent chains v = v·a + b of
// iters steps per thread (iters·CLUSTERD_PEAK_CHAINS FMAs) and stores their
// sum, which keeps the compiler from removing them. a and b are parameters
// so that nothing folds at compile time.
//
// Launch: any grid of 256-thread blocks, typically 8 blocks per SM;
// out holds one float per thread.
extern "C" __global__ void __launch_bounds__(256)
fma_peak(float* __restrict__ out, int iters, float a, float b) {
    const long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    float v[CLUSTERD_PEAK_CHAINS];
#pragma unroll
    for (int q = 0; q < CLUSTERD_PEAK_CHAINS; ++q) v[q] = (float)(g + q) * 1e-9f;
#pragma unroll 16
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int q = 0; q < CLUSTERD_PEAK_CHAINS; ++q) v[q] = fmaf(v[q], a, b);
    }
    float s = 0.f;
#pragma unroll
    for (int q = 0; q < CLUSTERD_PEAK_CHAINS; ++q) s += v[q];
    out[g] = s;
}
