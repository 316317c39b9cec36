// k-nearest-neighbour kernels of the gpu backend. For a chunk of rows, the
// host first writes the chunk's squared distances to every row with
// dist_fp32 (distances.cu), then:
//
//  1. knn_select picks each row's k smallest by a radix select on the bit
//     patterns of the (non-negative) distances, ties at the k-th value
//     going to the lowest indices;
//  2. knn_measure recomputes the k chosen distances exactly, from
//     differences in float64, so reported distances are exact to float32
//     rounding as in the cpu backend;
//  3. knn_sort orders each row's k neighbours by (exact distance, index)
//     with a bitonic sort in shared memory, for k ≤ CLUSTERD_KNN_SORT_MAX;
//     larger k are sorted on the host (gpu.sortNeighbours).
//
// Every step is deterministic: histogram counts are integers, selections
// are written in index order through block-wide prefix sums, and sums run in
// a fixed order.
//
// Compiled to compute_70 PTX by gpu/ptx/generate.sh.
#include "common.cuh"

#define CLUSTERD_KNN_SELECT_THREADS 256
#define CLUSTERD_KNN_SORT_MAX 1024
#define CLUSTERD_KNN_SORT_THREADS 512

// knn_select writes, for row r of a chunk of distances D (rows of n values,
// leading dimension ldd), the indices of its k smallest values to
// idx[r·k … r·k+k): all values below the k-th smallest in index order, then
// the lowest indices equal to it. Keys are the float bit patterns, which
// order like the values because dist_fp32 clamps at +0.
//
// Four passes of 8-bit histograms (most significant byte first) narrow the
// k-th smallest key down to one value T; a fifth pass collects. Shared
// histogram counters use integer atomics, whose sums do not depend on order.
//
// Launch: block CLUSTERD_KNN_SELECT_THREADS, grid = rows in the chunk.
extern "C" __global__ void __launch_bounds__(CLUSTERD_KNN_SELECT_THREADS)
knn_select(const float* __restrict__ D, long long ldd, int n, int k, int* __restrict__ idx) {
    constexpr int T = CLUSTERD_KNN_SELECT_THREADS, W = T / 32;
    __shared__ unsigned hist[256];
    __shared__ unsigned sh_prefix, sh_want;
    __shared__ unsigned warp_lt[W], warp_eq[W];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const float* row = D + (long long)blockIdx.x * ldd;
    int* out = idx + (long long)blockIdx.x * k;

    unsigned prefix = 0, mask = 0, want = (unsigned)k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += T) hist[b] = 0;
        __syncthreads();
        for (int j = tid; j < n; j += T) {
            const unsigned key = __float_as_uint(row[j]);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
            // The digit whose bucket holds the want-th smallest remaining key.
            unsigned below = 0;
            int b = 0;
            for (; b < 255; ++b) {
                if (below + hist[b] >= want) break;
                below += hist[b];
            }
            sh_prefix = prefix | ((unsigned)b << shift);
            sh_want = want - below;
        }
        __syncthreads();
        prefix = sh_prefix;
        want = sh_want;
        mask |= 255u << shift;
    }

    // prefix is now the k-th smallest key; k − want keys are below it, and
    // the want lowest indices equal to it complete the selection.
    const unsigned nlt = (unsigned)k - want;
    const unsigned lanes_below = (1u << lane) - 1u;
    unsigned base_lt = 0, base_eq = 0;
    for (int j0 = 0; j0 < n && (base_lt < nlt || base_eq < want); j0 += T) {
        const int j = j0 + tid;
        const unsigned key = j < n ? __float_as_uint(row[j]) : 0xffffffffu;
        const bool lt = j < n && key < prefix, eq = j < n && key == prefix;
        const unsigned blt = __ballot_sync(0xffffffffu, lt), beq = __ballot_sync(0xffffffffu, eq);
        if (lane == 0) {
            warp_lt[warp] = __popc(blt);
            warp_eq[warp] = __popc(beq);
        }
        __syncthreads();
        unsigned off_lt = 0, off_eq = 0, tot_lt = 0, tot_eq = 0;
#pragma unroll
        for (int w = 0; w < W; ++w) {
            if (w < warp) {
                off_lt += warp_lt[w];
                off_eq += warp_eq[w];
            }
            tot_lt += warp_lt[w];
            tot_eq += warp_eq[w];
        }
        if (lt) out[base_lt + off_lt + __popc(blt & lanes_below)] = j;
        if (eq) {
            const unsigned pos = base_eq + off_eq + __popc(beq & lanes_below);
            if (pos < want) out[nlt + pos] = j;
        }
        base_lt += tot_lt;
        base_eq += tot_eq;
        __syncthreads();  // warp_lt/warp_eq are rewritten by the next round
    }
}

// knn_measure writes dist[q] = ‖x_r − x_idx[q]‖² for the rows·k entries q
// of a chunk (row r = r0 + q/k), from differences in float64 summed by a
// fixed butterfly.
//
// Launch: block 256 (one warp per entry; lanes stride the features,
// coalesced), grid ⌈rows·k/8⌉.
extern "C" __global__ void __launch_bounds__(256)
knn_measure(const float* __restrict__ x, int d, long long r0, int rows, int k, const int* __restrict__ idx,
            float* __restrict__ dist) {
    const long long q = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (q >= (long long)rows * k) return;  // whole warps leave together
    const double e = sq_dist_warp(x + (r0 + q / k) * d, x + (long long)idx[q] * d, d);
    if ((threadIdx.x & 31) == 0) dist[q] = (float)e;
}

// knn_sort sorts each row's k (dist, idx) pairs in place by distance, then
// index: a bitonic sort of the pairs padded with (+Inf, INT_MAX) to the next
// power of two P ≤ CLUSTERD_KNN_SORT_MAX. Indices within a row are
// distinct, so the order is total and the result unique.
//
// Launch: block CLUSTERD_KNN_SORT_THREADS, grid = rows; k ≤
// CLUSTERD_KNN_SORT_MAX.
extern "C" __global__ void __launch_bounds__(CLUSTERD_KNN_SORT_THREADS)
knn_sort(int k, int* __restrict__ idx, float* __restrict__ dist) {
    constexpr int T = CLUSTERD_KNN_SORT_THREADS;
    __shared__ float sd[CLUSTERD_KNN_SORT_MAX];
    __shared__ int si[CLUSTERD_KNN_SORT_MAX];
    const int tid = threadIdx.x;
    int* ri = idx + (long long)blockIdx.x * k;
    float* rd = dist + (long long)blockIdx.x * k;
    int P = 1;
    while (P < k) P <<= 1;
    for (int i = tid; i < P; i += T) {
        sd[i] = i < k ? rd[i] : CLUSTERD_INF;
        si[i] = i < k ? ri[i] : 0x7fffffff;
    }
    __syncthreads();
    for (int size = 2; size <= P; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = tid; i < P; i += T) {
                const int j = i ^ stride;
                if (j <= i) continue;
                const float di = sd[i], dj = sd[j];
                const int ii = si[i], ij = si[j];
                const bool after = di > dj || (di == dj && ii > ij);  // (i) belongs after (j)
                const bool ascending = (i & size) == 0;
                if (after == ascending) {
                    sd[i] = dj;
                    sd[j] = di;
                    si[i] = ij;
                    si[j] = ii;
                }
            }
            __syncthreads();
        }
    }
    for (int i = tid; i < k; i += T) {
        rd[i] = sd[i];
        ri[i] = si[i];
    }
}
