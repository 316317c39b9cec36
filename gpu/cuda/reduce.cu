// Reduction kernels of the gpu backend: per-cluster sums (the k-means
// update step) and per-cluster sums of pairwise distances (the silhouette).
//
// Both are segmented reductions over the rows grouped by label: the host
// counting-sorts the labelled rows by label (order, ascending row index
// within a label) and cuts the groups into pieces, so every output is summed
// by one thread in a fixed order, with no floating-point atomics. Results
// are therefore bit-identical from run to run, whatever the scheduling.
//
// Compiled to compute_70 PTX by gpu/ptx/generate.sh.
#include "common.cuh"

// Rows per piece of sum_partial; mirrored by the host's plan (gpu.planSums).
#define CLUSTERD_SUM_CHUNK 256
// sum_partial's block: 32 features × 8 row lanes.
#define CLUSTERD_SUM_FEATURES 32
#define CLUSTERD_SUM_LANES 8

// sum_partial adds up, in float64, the rows of one piece: piece c covers
// order[start[c] … start[c+1]) (at most CLUSTERD_SUM_CHUNK rows, all of one
// label) and partial[c·d + t] receives Σ x[order[p]·d + t]. Within the
// block, row lane ty sums rows ty, ty+8, … in order, and lane 0 adds the 8
// lane sums in order.
//
// Launch: block (CLUSTERD_SUM_FEATURES, CLUSTERD_SUM_LANES), grid
// (pieces, ⌈d/32⌉): consecutive threads read consecutive features of a row.
extern "C" __global__ void __launch_bounds__(CLUSTERD_SUM_FEATURES * CLUSTERD_SUM_LANES)
sum_partial(const float* __restrict__ x, int d, const int* __restrict__ order, const int* __restrict__ start,
            double* __restrict__ partial) {
    __shared__ double lanes[CLUSTERD_SUM_LANES][CLUSTERD_SUM_FEATURES];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const long long c = blockIdx.x;
    const int t = blockIdx.y * CLUSTERD_SUM_FEATURES + tx;
    double sum = 0;
    if (t < d) {
        const int end = start[c + 1];
        for (int p = start[c] + ty; p < end; p += CLUSTERD_SUM_LANES) sum += (double)x[(long long)order[p] * d + t];
    }
    lanes[ty][tx] = sum;
    __syncthreads();
    if (ty == 0 && t < d) {
        double total = lanes[0][tx];
#pragma unroll
        for (int q = 1; q < CLUSTERD_SUM_LANES; ++q) total += lanes[q][tx];
        partial[c * d + t] = total;
    }
}

// sum_combine writes sums[l·d + t] = Σ partial[c·d + t] over the pieces
// c ∈ [first[l], first[l+1]) of cluster l, in piece order (0 for an empty
// cluster), for the k×d entries.
//
// Launch: block 256, grid ⌈k·d/256⌉.
extern "C" __global__ void __launch_bounds__(256)
sum_combine(const double* __restrict__ partial, const int* __restrict__ first, int k, int d,
            double* __restrict__ sums) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)k * d) return;
    const int l = (int)(e / d), t = (int)(e % d);
    double total = 0;
    for (int c = first[l]; c < first[l + 1]; ++c) total += partial[(long long)c * d + t];
    sums[e] = total;
}

// Tile of cluster_dist_sums: 64 rows × 64 members, staged 16 features at a
// time; 16×16 threads, 4×4 pairs each.
#define CLUSTERD_CDS_TILE 64
#define CLUSTERD_CDS_K 16
#define CLUSTERD_CDS_THREADS 256

// cluster_dist_sums writes out[(i−r0)·k + l] = Σ_{j in cluster l} ‖x_i − x_j‖
// for the rows i ∈ [r0 + 64·bx, r0 + 64·bx + 64) below end, and cluster
// l = l0 + by, whose members are order[start[l] … start[l+1]). out holds
// the chunk of rows [r0, end).
//
// Distances come from differences, not the GEMM form: a square root
// magnifies the GEMM form's cancellation error near zero, which the
// silhouette of tight clusters far from the origin would feel. Each stage's
// 16 squared differences are summed in fp32 and added to a float64
// accumulator, so the relative error stays near 16 fp32 roundings whatever
// d; square roots and the per-row sums are float64. Each thread sums its 4
// rows over its members in member order, and the 16 threads of a row are
// combined by a fixed butterfly.
//
// Launch: block CLUSTERD_CDS_THREADS, grid (row tiles, clusters) with at
// most 65535 clusters per launch; the host splits larger k and bounds the
// rows per launch so that cancellation is checked between launches.
extern "C" __global__ void __launch_bounds__(CLUSTERD_CDS_THREADS)
cluster_dist_sums(const float* __restrict__ x, int d, int end, long long r0, const int* __restrict__ order,
                  const int* __restrict__ start, int k, int l0, double* __restrict__ out) {
    constexpr int B = CLUSTERD_CDS_TILE, BK = CLUSTERD_CDS_K;
    __shared__ __align__(16) float sa[BK][B + 4];
    __shared__ __align__(16) float sb[BK][B + 4];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int l = l0 + blockIdx.y;
    const long long i0 = r0 + (long long)blockIdx.x * B;
    const int lr = tid >> 2, lk = (tid & 3) * 4;  // stage loads: 4 consecutive features of one row
    const float* arow = i0 + lr < end ? x + (i0 + lr) * d : nullptr;
    const int mbeg = start[l], mend = start[l + 1];

    double rowsum[4] = {0, 0, 0, 0};
    for (int c0 = mbeg; c0 < mend; c0 += B) {
        const float* brow = c0 + lr < mend ? x + (long long)order[c0 + lr] * d : nullptr;
        double acc[4][4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] = 0;
        for (int k0 = 0; k0 < d; k0 += BK) {
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const int t = k0 + lk + q;
                sa[lk + q][lr] = (arow != nullptr && t < d) ? __ldg(arow + t) : 0.f;
                sb[lk + q][lr] = (brow != nullptr && t < d) ? __ldg(brow + t) : 0.f;
            }
            __syncthreads();
            float part[4][4];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) part[i][j] = 0.f;
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                const float4 a = *reinterpret_cast<const float4*>(&sa[kk][ty * 4]);
                const float4 b = *reinterpret_cast<const float4*>(&sb[kk][tx * 4]);
                const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        const float e = av[i] - bv[j];
                        part[i][j] = fmaf(e, e, part[i][j]);
                    }
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += part[i][j];
            __syncthreads();
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            if (c0 + tx * 4 + j < mend) {
#pragma unroll
                for (int i = 0; i < 4; ++i) rowsum[i] += sqrt(acc[i][j]);
            }
        }
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int mask = 8; mask > 0; mask >>= 1) rowsum[i] += __shfl_xor_sync(0xffffffffu, rowsum[i], mask);
        const long long row = i0 + ty * 4 + i;
        if (tx == 0 && row < end) out[(row - r0) * k + l] = rowsum[i];
    }
}
