// Assignment kernels of the gpu backend: row norms, the exact fp32 fused
// squared-L2 distance + argmin (which also serves AssignSubset through a
// row gather, and re-checks the tf32 path's near ties), and the exact
// distance of every row to its own centroid (LabelDistances, and the tf32
// path's dist2). The tensor-core assignment is in assign_tc.cu.
//
// All matrices are row-major float32 as in kernels.Backend: x is n×d, c is
// k×d. Distances use the GEMM form ‖x‖² + ‖c‖² − 2x·c, and the n×k matrix
// is never written: each block keeps the running best and second best of
// its rows on chip while it sweeps every centroid tile.
//
// Compiled to compute_70 PTX by gpu/ptx/generate.sh (the driver JITs it for
// newer chips).
#include "common.cuh"

// row_norms writes out[i] = ‖x_i‖² for the n rows of x (n×d), accumulated
// with fmaf in feature order exactly like tile_dot, so that x_i·x_i from
// the tiles and ‖x_i‖² agree to the last bit.
//
// Launch: block 32×32, grid ⌈n/32⌉. The block stages a 32×32 sub-matrix
// in shared memory with coalesced loads; one thread per row then folds its
// 32 features sequentially.
extern "C" __global__ void __launch_bounds__(1024)
row_norms(const float* __restrict__ x, int d, int n, float* __restrict__ out) {
    __shared__ float s[32][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const long long r0 = (long long)blockIdx.x * 32;
    float acc = 0.f;
    for (int t0 = 0; t0 < d; t0 += 32) {
        const long long row = r0 + ty;
        const int t = t0 + tx;
        s[ty][tx] = (row < n && t < d) ? x[row * d + t] : 0.f;
        __syncthreads();
        if (ty == 0) {
#pragma unroll
            for (int q = 0; q < 32; ++q) acc = fmaf(s[tx][q], s[tx][q], acc);
        }
        __syncthreads();
    }
    if (ty == 0 && r0 + tx < n) out[r0 + tx] = acc;
}

// assign_fp32_tile is the exact fp32 fused assignment for BN-wide centroid
// tiles. Block b handles list positions p ∈ [128b, 128b+128) of the m rows
// to assign: row src(p) = rows[p], or p when rows is null. For each it
// finds the nearest centroid and the second-smallest distance, sweeping all
// ⌈k/BN⌉ centroid tiles with tile_dot and folding each tile's distances
// ‖x‖² + ‖c_j‖² − 2x·c_j into the running Nearest of the thread's 8 rows,
// then merging the 16 threads that share rows with a butterfly of shuffles.
// The running state and the row norms live in shared memory rather than
// registers: they are touched once per tile, and the registers are needed by
// the 8×TN accumulators of the inner loop. Outputs go to position p, or to
// src(p) when scatter is set (the tf32 path's re-check writes into the
// full-length arrays); second2 may be null. Distances are clamped at 0.
template <int BN>
__device__ __forceinline__ void assign_fp32_tile(
    const float* __restrict__ x, const float* __restrict__ xn, int d, const int* __restrict__ rows, int m,
    const float* __restrict__ c, const float* __restrict__ cn, int k, int scatter, int* __restrict__ labels,
    float* __restrict__ dist2, float* __restrict__ second2) {
    constexpr int TN = BN / 16;
    constexpr int LB = BN * CLUSTERD_TILE_K / CLUSTERD_TILE_THREADS;
    __shared__ __align__(16) TileSmem<BN> s;
    __shared__ Nearest near_s[8][CLUSTERD_TILE_THREADS];
    __shared__ float xr_s[CLUSTERD_TILE_M];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const long long p0 = (long long)blockIdx.x * CLUSTERD_TILE_M;

    const float* arow = nullptr;
    {
        const long long p = p0 + (tid >> 1);
        if (p < m) arow = x + (long long)(rows ? rows[p] : p) * d;
    }
    if (tid < CLUSTERD_TILE_M) {
        const long long p = p0 + tid;
        xr_s[tid] = p < m ? xn[rows ? rows[p] : p] : 0.f;
    }
#pragma unroll 1
    for (int i = 0; i < 8; ++i) near_s[i][tid] = nearest_init();
    // tile_dot's first barrier orders these stores before any read.

    const int lb_r = tid / (CLUSTERD_TILE_K / LB);
    const bool vec = rows_vec4(x, d) && rows_vec4(c, d);
    for (int n0 = 0; n0 < k; n0 += BN) {
        const float* brow = n0 + lb_r < k ? c + (long long)(n0 + lb_r) * d : nullptr;
        float acc[8][TN];
        tile_dot_any<BN>(s, arow, brow, d, vec, acc);
        float cj[TN];  // ‖c_j‖², +Inf past the last centroid so that padding never wins
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int col = n0 + tile_col<BN>(tx, j);
            cj[j] = col < k ? __ldg(cn + col) : CLUSTERD_INF;
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            Nearest o = near_s[i][tid];
            const float xr = xr_s[tile_row(ty, i)];
#pragma unroll
            for (int j = 0; j < TN; ++j) nearest_offer(o, fmaf(-2.f, acc[i][j], xr + cj[j]), n0 + tile_col<BN>(tx, j));
            near_s[i][tid] = o;
        }
    }

#pragma unroll 1
    for (int i = 0; i < 8; ++i) {
        Nearest o = near_s[i][tid];
#pragma unroll
        for (int mask = 8; mask > 0; mask >>= 1) o = nearest_shfl_merge(o, mask);
        const long long p = p0 + tile_row(ty, i);
        if (tx == 0 && p < m) {
            const long long out = scatter ? (long long)(rows ? rows[p] : p) : p;
            labels[out] = o.idx;
            dist2[out] = clamp0(o.best);
            if (second2 != nullptr) second2[out] = clamp0(o.second);  // +Inf stays +Inf (k = 1)
        }
    }
}

// assign_fp32 is assign_fp32_tile with 128-wide centroid tiles.
// Launch: block CLUSTERD_TILE_THREADS, grid ⌈m/CLUSTERD_TILE_M⌉.
extern "C" __global__ void __launch_bounds__(CLUSTERD_TILE_THREADS, 2)
assign_fp32(const float* __restrict__ x, const float* __restrict__ xn, int d, const int* __restrict__ rows, int m,
            const float* __restrict__ c, const float* __restrict__ cn, int k, int scatter, int* __restrict__ labels,
            float* __restrict__ dist2, float* __restrict__ second2) {
    assign_fp32_tile<CLUSTERD_TILE_N>(x, xn, d, rows, m, c, cn, k, scatter, labels, dist2, second2);
}

// assign_fp32_narrow is assign_fp32_tile with 32-wide centroid tiles, for
// k ≤ 32 (k-means++ candidates, Prim's single-point AssignSubset), where a
// 128-wide tile would mostly multiply padding.
// Launch: as assign_fp32.
extern "C" __global__ void __launch_bounds__(CLUSTERD_TILE_THREADS, 2)
assign_fp32_narrow(const float* __restrict__ x, const float* __restrict__ xn, int d, const int* __restrict__ rows,
                   int m, const float* __restrict__ c, const float* __restrict__ cn, int k, int scatter,
                   int* __restrict__ labels, float* __restrict__ dist2, float* __restrict__ second2) {
    assign_fp32_tile<CLUSTERD_TILE_N_NARROW>(x, xn, d, rows, m, c, cn, k, scatter, labels, dist2, second2);
}


// label_dist writes out[i] = ‖x_i − c_{labels[i]}‖² from differences, in
// float64 (so exact to float32 rounding, even for near-zero distances and
// data far from the origin), and −1 for rows with a negative label. Labels
// are checked against k on the host.
//
// alt, when not null, names for each row a second candidate (or −1): the
// tf32 path's near ties between its two best centroids. Both are measured
// and the nearer (the lower index on a tie) replaces labels[i], which makes
// the choice exact.
//
// Launch: block 256, one warp per row, grid ⌈n/8⌉.
extern "C" __global__ void __launch_bounds__(256)
label_dist(const float* __restrict__ x, int d, int n, const float* __restrict__ c, int* __restrict__ labels,
           const int* __restrict__ alt, float* __restrict__ out) {
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (w >= n) return;  // whole warps leave together
    int l = labels[w];
    if (l < 0) {
        if (lane == 0) out[w] = -1.f;
        return;
    }
    const float* xi = x + w * d;
    double best = sq_dist_warp(xi, c + (long long)l * d, d);
    const int a = alt != nullptr ? alt[w] : -1;
    if (a >= 0) {
        const double e = sq_dist_warp(xi, c + (long long)a * d, d);
        if (e < best || (e == best && a < l)) {
            best = e;
            l = a;
        }
    }
    if (lane == 0) {
        labels[w] = l;
        out[w] = (float)best;
    }
}
