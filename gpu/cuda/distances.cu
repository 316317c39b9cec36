// Distance-matrix kernels of the gpu backend: squared distances from a
// range of dataset rows to m points, written out as a row-major matrix.
// Backend.Distances uses them with the m points (k-means++ candidates, a
// Prim step's point), and Backend.KNN with the dataset itself, one chunk of
// rows at a time, before selecting each row's k smallest.
//
// Distances use the GEMM form of assign.cu, through the same tile_dot and
// the same norms, so a row's distance to an identical point is exactly 0.
//
// Compiled to compute_70 PTX by gpu/ptx/generate.sh.
#include "common.cuh"

// dist_tile writes out[(p−r0)·ldo + j] = max(0, ‖x_p‖² + ‖y_j‖² − 2x_p·y_j)
// for rows p ∈ [r0, r0+rn) of x (·×d, norms xn) and the m rows of y (m×d,
// norms yn). Block (bx, by) computes rows r0 + 128·by … and columns
// BN·bx …: columns on the grid's x dimension, whose limit (2³¹−1) admits
// any m, rows on y (≤ 65535 tiles per launch, which the host respects).
template <int BN>
__device__ __forceinline__ void dist_tile(const float* __restrict__ x, const float* __restrict__ xn, int d,
                                          long long r0, int rn, const float* __restrict__ y,
                                          const float* __restrict__ yn, int m, float* __restrict__ out,
                                          long long ldo) {
    constexpr int TN = BN / 16;
    constexpr int LB = BN * CLUSTERD_TILE_K / CLUSTERD_TILE_THREADS;
    __shared__ __align__(16) TileSmem<BN> s;
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int pr0 = blockIdx.y * CLUSTERD_TILE_M;  // tile's first row, relative to r0
    const int n0 = blockIdx.x * BN;

    const int la_r = tid >> 1, lb_r = tid / (CLUSTERD_TILE_K / LB);
    const float* arow = pr0 + la_r < rn ? x + (r0 + pr0 + la_r) * d : nullptr;
    const float* brow = n0 + lb_r < m ? y + (long long)(n0 + lb_r) * d : nullptr;
    float acc[8][TN];
    tile_dot_any<BN>(s, arow, brow, d, rows_vec4(x, d) && rows_vec4(y, d), acc);

#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int pr = pr0 + tile_row(ty, i);
        if (pr >= rn) continue;
        const float xr = xn[r0 + pr];
        float* o = out + (long long)pr * ldo;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int col = n0 + tile_col<BN>(tx, j);
            if (col < m) o[col] = clamp0(fmaf(-2.f, acc[i][j], xr + yn[col]));
        }
    }
}

// dist_fp32 is dist_tile with 128-wide column tiles.
// Launch: block CLUSTERD_TILE_THREADS, grid (⌈m/128⌉, ⌈rn/128⌉).
extern "C" __global__ void __launch_bounds__(CLUSTERD_TILE_THREADS, 2)
dist_fp32(const float* __restrict__ x, const float* __restrict__ xn, int d, long long r0, int rn,
          const float* __restrict__ y, const float* __restrict__ yn, int m, float* __restrict__ out, long long ldo) {
    dist_tile<CLUSTERD_TILE_N>(x, xn, d, r0, rn, y, yn, m, out, ldo);
}

// dist_fp32_narrow is dist_tile with 32-wide column tiles, for m ≤ 32.
// Launch: block CLUSTERD_TILE_THREADS, grid (⌈m/32⌉, ⌈rn/128⌉).
extern "C" __global__ void __launch_bounds__(CLUSTERD_TILE_THREADS, 2)
dist_fp32_narrow(const float* __restrict__ x, const float* __restrict__ xn, int d, long long r0, int rn,
                 const float* __restrict__ y, const float* __restrict__ yn, int m, float* __restrict__ out,
                 long long ldo) {
    dist_tile<CLUSTERD_TILE_N_NARROW>(x, xn, d, r0, rn, y, yn, m, out, ldo);
}
