// Shared device code of the clusterd kernels: the fp32 register-tiled dot
// product (the inner loop of every GEMM-form distance), the running
// best/second-best of an assignment, and small helpers.
//
// Geometry constants are #defines named CLUSTERD_* so that the Go side
// (gpu/geometry.go) can check, in a unit test that reads this file, that it
// launches the kernels with the shapes they were written for.
#pragma once

// Tile of the fp32 GEMM-form kernels: a block of CLUSTERD_TILE_THREADS
// threads (16×16) computes a CLUSTERD_TILE_M × BN tile of dot products,
// BN = CLUSTERD_TILE_N (wide) or CLUSTERD_TILE_N_NARROW (few centroids),
// staging CLUSTERD_TILE_K features at a time through shared memory.
#define CLUSTERD_TILE_M 128
#define CLUSTERD_TILE_N 128
#define CLUSTERD_TILE_N_NARROW 32
#define CLUSTERD_TILE_K 8
#define CLUSTERD_TILE_THREADS 256

#define CLUSTERD_INF __int_as_float(0x7f800000)

// clamp0 maps negative rounding residue (and −0, NaN) to +0. Keys of the
// KNN radix select are the bit patterns of these values, which order like
// the numbers only when the sign bit is clear.
__device__ __forceinline__ float clamp0(float v) { return v > 0.f ? v : 0.f; }

// sq_dist_warp returns ‖a − b‖² (d features) summed by the calling warp:
// lanes stride the features (coalesced), differences and sums in float64,
// lanes combined by a fixed butterfly (every lane gets the same bits).
__device__ __forceinline__ double sq_dist_warp(const float* __restrict__ a, const float* __restrict__ b, int d) {
    double sum = 0;
    for (int t = threadIdx.x & 31; t < d; t += 32) {
        const double e = (double)a[t] - (double)b[t];
        sum = fma(e, e, sum);
    }
#pragma unroll
    for (int mask = 16; mask > 0; mask >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, mask);
    return sum;
}

// Nearest is the running best and second-best squared distance of one row
// and the index of the best.
struct Nearest {
    float best, second;
    int idx;
};

__device__ __forceinline__ Nearest nearest_init() {
    Nearest o;
    o.best = CLUSTERD_INF;
    o.second = CLUSTERD_INF;
    o.idx = 0;  // the reference loop's label when no distance is < +Inf
    return o;
}

// nearest_offer folds candidate j at squared distance e into o (an e of
// +Inf changes nothing, which is how padding columns are skipped). A thread
// offers its candidates in ascending index order, so the strict comparison
// keeps the lower index on ties, as the reference loop does. Written with
// selects rather than branches: it sits in unrolled epilogues.
__device__ __forceinline__ void nearest_offer(Nearest& o, float e, int j) {
    const bool first = e < o.best, second = e < o.second;
    o.second = first ? o.best : (second ? e : o.second);
    o.best = first ? e : o.best;
    o.idx = first ? j : o.idx;
}

// nearest_merge combines the results of two disjoint candidate sets: the
// best is the smaller (distance, index) pair, the second the smallest of
// everything else. It is symmetric, so a butterfly of merges leaves every
// lane with the same bits whatever the order.
__device__ __forceinline__ Nearest nearest_merge(Nearest a, Nearest b) {
    const bool aFirst = a.best < b.best || (a.best == b.best && a.idx < b.idx);
    Nearest r;
    if (aFirst) {
        r.best = a.best;
        r.idx = a.idx;
        r.second = fminf(a.second, b.best);
    } else {
        r.best = b.best;
        r.idx = b.idx;
        r.second = fminf(b.second, a.best);
    }
    return r;
}

// nearest_shfl_merge merges o with the value held by lane (lane ^ mask).
__device__ __forceinline__ Nearest nearest_shfl_merge(Nearest o, int mask) {
    Nearest p;
    p.best = __shfl_xor_sync(0xffffffffu, o.best, mask);
    p.second = __shfl_xor_sync(0xffffffffu, o.second, mask);
    p.idx = __shfl_xor_sync(0xffffffffu, o.idx, mask);
    return nearest_merge(o, p);
}

// rows_vec4 reports whether every row of a matrix of d-float rows starting
// at m can be read four features at a time with 128-bit loads: d is a
// multiple of 4 and m is 16-byte aligned (the driver's allocations are
// 256-byte aligned, so this fails only for d % 4 ≠ 0). Kernels test it on
// their matrix arguments, which makes the choice the same for every thread.
__device__ __forceinline__ bool rows_vec4(const float* m, int d) {
    return (d & 3) == 0 && (reinterpret_cast<unsigned long long>(m) & 15) == 0;
}

// load_span reads row[t], …, row[t+N−1] into r, with zeros past feature d
// and for a null row. VEC (rows_vec4 of the row's matrix, t a multiple of
// 4) reads each group of four features, which is then wholly inside the
// row or wholly past it, with one 128-bit load instead of four predicated
// ones: 2 load instructions per stage instead of 8, and none of the
// per-element address and predicate arithmetic.
template <bool VEC, int N>
__device__ __forceinline__ void load_span(float (&r)[N], const float* __restrict__ row, int t, int d) {
    if constexpr (VEC && N % 4 == 0) {
#pragma unroll
        for (int q = 0; q < N; q += 4) {
            float4 v{0.f, 0.f, 0.f, 0.f};
            if (row != nullptr && t + q < d) v = __ldg(reinterpret_cast<const float4*>(row + t + q));
            r[q] = v.x;
            r[q + 1] = v.y;
            r[q + 2] = v.z;
            r[q + 3] = v.w;
        }
    } else {
#pragma unroll
        for (int q = 0; q < N; ++q) r[q] = (row != nullptr && t + q < d) ? __ldg(row + t + q) : 0.f;
    }
}

// TileSmem is the double-buffered shared memory of tile_dot: the A (row)
// and B (centroid) stages stored feature-major, so that a thread reads its
// 4 consecutive rows or columns with one 128-bit load. The +4 padding keeps
// the transposing stores free of bank conflicts and the rows 16-byte aligned.
template <int BN>
struct TileSmem {
    float a[2][CLUSTERD_TILE_K][CLUSTERD_TILE_M + 4];
    float b[2][CLUSTERD_TILE_K][BN + 4];
};

// tile_row and tile_col give the tile-relative row of accumulator i
// (0..7) and column of accumulator j (0..BN/16−1) of thread (tx, ty): two
// groups of 4 rows, ty·4 and 64 + ty·4, and two groups of BN/32 columns,
// tx·BN/32 and BN/2 + tx·BN/32. Splitting each thread's outputs in two
// halves makes a warp's shared-memory reads contiguous (conflict-free) and
// keeps a thread's columns in ascending order, which the tie rule needs.
__device__ __forceinline__ int tile_row(int ty, int i) {
    return i < 4 ? ty * 4 + i : CLUSTERD_TILE_M / 2 + ty * 4 + (i - 4);
}

template <int BN>
__device__ __forceinline__ int tile_col(int tx, int j) {
    constexpr int HALF = BN / 32;
    return j < HALF ? tx * HALF + j : BN / 2 + tx * HALF + (j - HALF);
}

// tile_dot computes acc[i][j] = Σ_t a_row(i)[t] · b_col(j)[t] over t < d
// for this thread's 8 × BN/16 outputs of a CLUSTERD_TILE_M × BN tile.
//
// arow is the A row this thread loads (row tid/2 of the tile, nullptr past
// the end: zeros), brow the B row it loads (row tid/(8/LB), LB = BN/32
// floats per stage). Every product is accumulated with one fmaf in feature
// order t = 0, 1, …, d−1 (padding adds exact zeros), the same sequence
// row_norms uses for ‖x‖², so that a row's distance to an identical
// centroid cancels to exactly 0.
//
// Pipeline: the next stage is loaded from global memory into registers
// while the current one is multiplied out of shared memory, then stored into
// the other buffer; one __syncthreads per stage. tile_dot ends with a
// barrier, so consecutive calls may reuse s. VEC selects load_span's
// 128-bit loads (rows_vec4 of both matrices; the same for the whole block).
template <int BN, bool VEC>
__device__ __forceinline__ void tile_dot(TileSmem<BN>& s, const float* __restrict__ arow,
                                         const float* __restrict__ brow, int d,
                                         float (&acc)[8][BN / 16]) {
    constexpr int TN = BN / 16;            // outputs per thread along the columns
    constexpr int HALF = TN / 2;           // columns per half
    constexpr int LB = BN * CLUSTERD_TILE_K / CLUSTERD_TILE_THREADS;  // B floats per thread per stage
    constexpr int BK = CLUSTERD_TILE_K;
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int la_r = tid >> 1, la_k = (tid & 1) * 4;
    const int lb_r = tid / (BK / LB), lb_k = (tid % (BK / LB)) * LB;

    float ra[4], rb[LB];
    auto load = [&](int k0) {
        load_span<VEC>(ra, arow, k0 + la_k, d);
        load_span<VEC>(rb, brow, k0 + lb_k, d);
    };
    auto store = [&](int buf) {
#pragma unroll
        for (int q = 0; q < 4; ++q) s.a[buf][la_k + q][la_r] = ra[q];
#pragma unroll
        for (int q = 0; q < LB; ++q) s.b[buf][lb_k + q][lb_r] = rb[q];
    };

#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    load(0);
    store(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < d; k0 += BK) {
        // The last stage also "prefetches" (zeros, every load predicated
        // off) into the idle buffer: one copy of the loop body, not two.
        load(k0 + BK);
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float a[8], b[TN];
            const float4 a0 = *reinterpret_cast<const float4*>(&s.a[buf][kk][ty * 4]);
            const float4 a1 = *reinterpret_cast<const float4*>(&s.a[buf][kk][CLUSTERD_TILE_M / 2 + ty * 4]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w;
            a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
            if constexpr (HALF == 4) {
                const float4 b0 = *reinterpret_cast<const float4*>(&s.b[buf][kk][tx * 4]);
                const float4 b1 = *reinterpret_cast<const float4*>(&s.b[buf][kk][BN / 2 + tx * 4]);
                b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w;
                b[HALF + 0] = b1.x; b[HALF + 1] = b1.y; b[HALF + 2] = b1.z; b[HALF + 3] = b1.w;
            } else {
#pragma unroll
                for (int q = 0; q < HALF; ++q) {
                    b[q] = s.b[buf][kk][tx * HALF + q];
                    b[HALF + q] = s.b[buf][kk][BN / 2 + tx * HALF + q];
                }
            }
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        store(buf ^ 1);
        __syncthreads();
        buf ^= 1;
    }
}

// tile_dot_any is tile_dot with load_span's 128-bit loads when vec
// (rows_vec4 of both matrices, the same for the whole block). Only the wide
// tiles get both variants: narrow tiles (at most 32 columns: k-means++
// candidates, Prim steps) are a small share of any run, and a second copy
// of their loop would add about 80 KB to the PTX the driver JIT-compiles.
template <int BN>
__device__ __forceinline__ void tile_dot_any(TileSmem<BN>& s, const float* __restrict__ arow,
                                             const float* __restrict__ brow, int d, bool vec,
                                             float (&acc)[8][BN / 16]) {
    if (BN == CLUSTERD_TILE_N && vec)
        tile_dot<BN, BN == CLUSTERD_TILE_N>(s, arow, brow, d, acc);
    else
        tile_dot<BN, false>(s, arow, brow, d, acc);
}
