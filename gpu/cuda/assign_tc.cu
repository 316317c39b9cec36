// Tensor-core assignment of the gpu backend: the fused squared-L2 distance
// + argmin with x·cᵀ on tf32 tensor cores (wmma m16n16k8, fp32
// accumulation), for sm_80 and newer. Rows whose nearest centroids are too
// close for tf32 to order are flagged; the host resolves them exactly, so
// the labels equal the exact fp32 path's and every returned distance is
// recomputed from differences (label_dist, assign.cu).
//
// Compiled to compute_80 PTX by gpu/ptx/generate.sh and loaded, next to the
// compute_70 module, only on devices of compute capability 8.0 or newer.
#include <mma.h>

#include "common.cuh"

// Tile of assign_tf32: 128 rows × 128 centroids per block, staged 16
// features at a time; 8 warps in a 2×4 grid, each owning a 64×32 sub-tile
// as 4×2 m16n16k8 accumulators.
#define CLUSTERD_TF32_M 128
#define CLUSTERD_TF32_N 128
#define CLUSTERD_TF32_K 16
#define CLUSTERD_TF32_THREADS 256
#define CLUSTERD_TF32_LD (CLUSTERD_TF32_K + 4)

// Near3 is the running three smallest tf32 distances of a row, with the
// indices of the first two: enough to tell whether only the best two can be
// the true nearest (then an exact comparison of the two settles it).
struct Near3 {
    float d1, d2, d3;
    int i1, i2;
};

__device__ __forceinline__ Near3 near3_init() {
    Near3 o;
    o.d1 = o.d2 = o.d3 = CLUSTERD_INF;
    o.i1 = o.i2 = 0;
    return o;
}

// near3_offer folds candidate j at distance e into o; candidates come in
// ascending index order, so strict comparisons keep lower indices first.
// Selects, not branches, as in nearest_offer.
__device__ __forceinline__ void near3_offer(Near3& o, float e, int j) {
    const bool b1 = e < o.d1, b2 = e < o.d2, b3 = e < o.d3;
    o.d3 = b2 ? o.d2 : (b3 ? e : o.d3);
    o.d2 = b1 ? o.d1 : (b2 ? e : o.d2);
    o.i2 = b1 ? o.i1 : (b2 ? j : o.i2);
    o.d1 = b1 ? e : o.d1;
    o.i1 = b1 ? j : o.i1;
}

__device__ __forceinline__ bool near3_less(float da, int ia, float db, int ib) {
    return da < db || (da == db && ia < ib);
}

// near3_merge combines the lists of two disjoint candidate sets, ordering
// by (distance, index); symmetric, so butterflies leave every lane with
// the same bits.
__device__ __forceinline__ Near3 near3_merge(Near3 a, Near3 b) {
    if (!near3_less(a.d1, a.i1, b.d1, b.i1)) {
        const Near3 t = a;
        a = b;
        b = t;
    }
    // a holds the overall first; the second is a's second or b's first.
    Near3 r;
    r.d1 = a.d1;
    r.i1 = a.i1;
    if (near3_less(a.d2, a.i2, b.d1, b.i1)) {
        r.d2 = a.d2;
        r.i2 = a.i2;
        r.d3 = fminf(a.d3, b.d1);
    } else {
        r.d2 = b.d1;
        r.i2 = b.i1;
        r.d3 = fminf(a.d2, b.d2);
    }
    return r;
}

__device__ __forceinline__ Near3 near3_shfl_merge(Near3 o, int mask) {
    Near3 p;
    p.d1 = __shfl_xor_sync(0xffffffffu, o.d1, mask);
    p.d2 = __shfl_xor_sync(0xffffffffu, o.d2, mask);
    p.d3 = __shfl_xor_sync(0xffffffffu, o.d3, mask);
    p.i1 = __shfl_xor_sync(0xffffffffu, o.i1, mask);
    p.i2 = __shfl_xor_sync(0xffffffffu, o.i2, mask);
    return near3_merge(o, p);
}

// Tf32Smem holds two stages of the row and centroid tiles, row-major with a
// leading dimension of 20 floats, which puts every fragment (16-row and
// 8-feature offsets) on the 32-byte boundary load_matrix_sync requires. The
// first stage doubles as the warps' 16×16 read-back scratch in the
// epilogue (the register layout of a wmma accumulator is unspecified) and as
// the cross-warp reduction buffer at the end.
struct Tf32Smem {
    float a[2][CLUSTERD_TF32_M][CLUSTERD_TF32_LD];
    float b[2][CLUSTERD_TF32_N][CLUSTERD_TF32_LD];
    float xr[CLUSTERD_TF32_M];
};

// load_shared is wmma::load_matrix_sync for a tf32 fragment in shared
// memory: M = 'a' for a row-major matrix_a, 'b' for a column-major
// matrix_b, LD the leading dimension in floats. nvcc 11.8's wmma loads take
// a generic pointer and do not infer the state space through the
// intrinsic, so each element became a generic LD with its own 64-bit
// address arithmetic; the same wmma.load with .shared and a 32-bit address
// is an LDS. The "memory" clobber keeps the loads between the barriers and
// stores that order them. Elsewhere (the CPU model in gpu/internal/emu) it
// is the wmma call itself.
template <char M, int LD, class Frag>
__device__ __forceinline__ void load_shared(Frag& f, const float* p) {
    static_assert(M == 'a' || M == 'b', "matrix a or b");
#ifdef __CUDA_ARCH__
    unsigned* r = reinterpret_cast<unsigned*>(f.x);
    const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
#define CLUSTERD_WMMA_LOAD(matrix_layout)                                                               \
    asm volatile("wmma.load." matrix_layout ".m16n16k8.shared.tf32 {%0, %1, %2, %3}, [%4], %5;"        \
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])                                        \
                 : "r"(addr), "n"(LD)                                                                     \
                 : "memory")
    if constexpr (M == 'a')
        CLUSTERD_WMMA_LOAD("a.sync.aligned.row");
    else
        CLUSTERD_WMMA_LOAD("b.sync.aligned.col");
#undef CLUSTERD_WMMA_LOAD
#else
    nvcuda::wmma::load_matrix_sync(f, p, LD);
#endif
}

// tf32_tile computes the block's 128×128 tile of tf32 products x̃·c̃ᵀ into
// the warp's accumulators acc (the warp's 64×32 sub-tile as 4×2 fragments):
// arow and brow are the rows this thread stages (row tid/2 of the row and
// centroid tiles, nullptr past the end: zeros), 8 features at a time,
// rounded to tf32 on the way into shared memory. The pipeline is tile_dot's:
// the next stage is loaded into registers while the current one is
// multiplied out, one barrier per stage. It starts with a barrier, so the
// previous tile's epilogue may still be reading stage 0, and ends with one.
// VEC selects load_span's 128-bit loads.
template <bool VEC>
__device__ __forceinline__ void tf32_tile(Tf32Smem& s, const float* __restrict__ arow, const float* __restrict__ brow,
                                          int d,
                                          nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 8, float> (&acc)[4][2]) {
    namespace wm = nvcuda::wmma;
    const int tid = threadIdx.x, warp = tid >> 5;
    const int wr = warp >> 2, wc = warp & 3;
    const int l_r = tid >> 1, l_k = (tid & 1) * 8;
    float ra[8], rb[8];
    auto load = [&](int k0) {
        load_span<VEC>(ra, arow, k0 + l_k, d);
        load_span<VEC>(rb, brow, k0 + l_k, d);
    };
    auto store = [&](int buf) {
#pragma unroll
        for (int q = 0; q < 8; ++q) {
            s.a[buf][l_r][l_k + q] = wm::__float_to_tf32(ra[q]);
            s.b[buf][l_r][l_k + q] = wm::__float_to_tf32(rb[q]);
        }
    };

#pragma unroll
    for (int fi = 0; fi < 4; ++fi)
#pragma unroll
        for (int fj = 0; fj < 2; ++fj) wm::fill_fragment(acc[fi][fj], 0.f);

    load(0);
    __syncthreads();  // the previous tile's epilogue is done with stage 0
    store(0);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < d; k0 += CLUSTERD_TF32_K) {
        load(k0 + CLUSTERD_TF32_K);  // zeros past the end, as in tile_dot
#pragma unroll
        for (int kk = 0; kk < CLUSTERD_TF32_K; kk += 8) {
            wm::fragment<wm::matrix_a, 16, 16, 8, wm::precision::tf32, wm::row_major> fa[4];
            wm::fragment<wm::matrix_b, 16, 16, 8, wm::precision::tf32, wm::col_major> fb[2];
#pragma unroll
            for (int fi = 0; fi < 4; ++fi) load_shared<'a', CLUSTERD_TF32_LD>(fa[fi], &s.a[buf][wr * 64 + fi * 16][kk]);
#pragma unroll
            for (int fj = 0; fj < 2; ++fj) load_shared<'b', CLUSTERD_TF32_LD>(fb[fj], &s.b[buf][wc * 32 + fj * 16][kk]);
#pragma unroll
            for (int fi = 0; fi < 4; ++fi)
#pragma unroll
                for (int fj = 0; fj < 2; ++fj) wm::mma_sync(acc[fi][fj], fa[fi], fb[fj], acc[fi][fj]);
        }
        store(buf ^ 1);
        __syncthreads();
        buf ^= 1;
    }
}

// tf32_gap bounds how far the tf32 estimates' difference D_a − D_b of two
// candidates can be from the exact T_a − T_b (T_j = ‖x − c_j‖²), given
// the estimates a = D_a and b = D_b of a row with norm xl = ‖x‖ (xr =
// ‖x‖²), cmax = max_j ‖c̃_j‖ and d features. Computed in float64, once per
// row. gpu's model tests mirror it (tf32Flag in gpu/model_test.go).
//
// With x̃ = x + δx and c̃_j = c_j + δc_j the tf32 roundings (|δ| ≤ u|·|
// elementwise, u = 2⁻¹¹) and cn_j = ‖c̃_j‖² (the host computes the norms of
// the rounded centroids), the kernel's D_j = ‖x‖² + ‖c̃_j‖² − 2x̃·c̃_j + ε is
// T_j − 2(x − c_j)·δc_j − 2δx·c_j plus second-order terms and the fp32
// accumulation error ε. In a difference the δx terms pair up as
// 2δx·(c_b − c_a), and ‖c_a − c_b‖ ≤ √T_a + √T_b, so
//
//	|(D_a − D_b) − (T_a − T_b)| ≤ 2u(√T_a + √T_b)(‖x‖ + cmax) + 4g‖x‖cmax + s0,
//
// where g = (d + 16)·2⁻²³·(1 + 2⁻¹⁰) covers the accumulation of d products
// with an error of 2⁻²³ each (tensor cores may truncate rather than round)
// and s0 = 2⁻¹⁸(‖x‖² + cmax²) the second-order terms and the roundings of
// the norms and of the epilogue's fmaf. The bound scales with the
// distances, not with the norms: near a centroid it is far smaller than a
// bound in ‖x‖² + cmax². √T_j is bounded from the estimate by
// √(max(D_j, 0) + A), A = (4u + 2g)‖x‖cmax + 2u·cmax² + s0 ≥ |D_j − T_j|.
// The factor 1 + 2⁻⁸ covers the fp32 rounding of ‖x‖² (row_norms, a
// relative error below d·2⁻²⁴) and of cmax. The bound grows more slowly
// than its second argument (A ≥ u²(‖x‖ + cmax)²), so a gap that clears the
// third-smallest estimate clears every larger one.
__device__ double tf32_gap(double a, double b, double xr, double xl, double cmax, int d) {
    const double u = 0x1p-11, g = (d + 16) * 0x1p-23 * (1 + 0x1p-10);
    const double s0 = 0x1p-18 * (xr + cmax * cmax);
    const double A = (4 * u + 2 * g) * xl * cmax + 2 * u * cmax * cmax + s0;
    return (1 + 0x1p-8) * (2 * u * (sqrt(fmax(a, 0.) + A) + sqrt(fmax(b, 0.) + A)) * (xl + cmax) + 4 * g * xl * cmax + s0);
}

// assign_tf32 assigns all n rows of x (n×d) to the nearest of the k
// centroids c (k×d) by tf32 distances: labels[i], dist2[i] (the tf32
// estimate, clamped at 0; the host overwrites it with the exact value),
// flags[i] and alt[i]. cn holds the norms of the tf32-rounded centroids,
// cmax the largest of their square roots (see tf32_gap).
//
// With d1 ≤ d2 ≤ d3 the three smallest tf32 distances of a row:
//
//	d2 − d1 > tf32_gap(d1, d2):  the tf32 best is the nearest; flags = 0,
//	                             alt = −1;
//	d3 − d1 > tf32_gap(d1, d3):  the nearest is one of the best two;
//	                             flags = 1 and alt = the second, which
//	                             label_dist compares exactly;
//	otherwise:                   flags = 2, alt = −1; the host re-assigns
//	                             the row with the exact fp32 kernel.
//
extern "C" __global__ void __launch_bounds__(CLUSTERD_TF32_THREADS, 2)
assign_tf32(const float* __restrict__ x, const float* __restrict__ xn, int d, int n, const float* __restrict__ c,
            const float* __restrict__ cn, int k, float cmax, int* __restrict__ labels,
            float* __restrict__ dist2, int* __restrict__ alt, unsigned char* __restrict__ flags) {
    namespace wm = nvcuda::wmma;
    __shared__ __align__(32) Tf32Smem s;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wr = warp >> 2, wc = warp & 3;  // the warp's row half and column quarter
    const long long p0 = (long long)blockIdx.x * CLUSTERD_TF32_M;
    const int l_r = tid >> 1;  // the row of the row and centroid tiles this thread stages (tf32_tile)

    const float* arow = p0 + l_r < n ? x + (p0 + l_r) * d : nullptr;
    const bool vec = rows_vec4(x, d) && rows_vec4(c, d);
    if (tid < CLUSTERD_TF32_M) s.xr[tid] = p0 + tid < n ? xn[p0 + tid] : 0.f;
    // Lane (er, eh) = (lane/2, lane%2) reads row er, columns eh·8…eh·8+7 of
    // each 16×16 accumulator, and so owns rows wr·64 + fi·16 + er, fi < 4.
    const int er = lane >> 1, eh = lane & 1;
    Near3 near[4];
#pragma unroll
    for (int fi = 0; fi < 4; ++fi) near[fi] = near3_init();

    for (int n0 = 0; n0 < k; n0 += CLUSTERD_TF32_N) {
        const float* brow = n0 + l_r < k ? c + (long long)(n0 + l_r) * d : nullptr;
        wm::fragment<wm::accumulator, 16, 16, 8, float> acc[4][2];
        if (vec)
            tf32_tile<true>(s, arow, brow, d, acc);
        else
            tf32_tile<false>(s, arow, brow, d, acc);

        // Epilogue: read each accumulator back through the warp's 1 KiB of
        // stage 0; for a fixed fi the lane meets its columns in ascending
        // order, as nearest_offer's tie rule needs.
        float* scratch = &s.a[0][0][0] + warp * 256;
#pragma unroll
        for (int fi = 0; fi < 4; ++fi) {
            const float xr = s.xr[wr * 64 + fi * 16 + er];
#pragma unroll
            for (int fj = 0; fj < 2; ++fj) {
                wm::store_matrix_sync(scratch, acc[fi][fj], 16, wm::mem_row_major);
                __syncwarp();
                const int cbase = n0 + wc * 32 + fj * 16 + eh * 8;
#pragma unroll 1
                for (int q = 0; q < 8; ++q) {
                    const int col = cbase + q;
                    if (col < k) near3_offer(near[fi], fmaf(-2.f, scratch[er * 16 + eh * 8 + q], xr + __ldg(cn + col)), col);
                }
                __syncwarp();
            }
        }
    }

    // Merge the two lanes of a row, then the four column warps of a row.
    // (Near3 is 20 bytes: the [4][128] buffer fits in stage 0's 10 KiB.)
#pragma unroll
    for (int fi = 0; fi < 4; ++fi) near[fi] = near3_shfl_merge(near[fi], 1);
    __syncthreads();  // every warp is done with its scratch
    Near3* red = reinterpret_cast<Near3*>(&s.a[0][0][0]);  // [4][128]
    if (eh == 0) {
#pragma unroll
        for (int fi = 0; fi < 4; ++fi) red[wc * CLUSTERD_TF32_M + wr * 64 + fi * 16 + er] = near[fi];
    }
    __syncthreads();
    if (tid < CLUSTERD_TF32_M) {
        Near3 o = red[tid];
#pragma unroll
        for (int w = 1; w < 4; ++w) o = near3_merge(o, red[w * CLUSTERD_TF32_M + tid]);
        const long long row = p0 + tid;
        if (row < n) {
            const double xr = s.xr[tid], xl = sqrt(xr), d1 = o.d1;
            const unsigned char flag = (double)o.d2 - d1 > tf32_gap(d1, o.d2, xr, xl, cmax, d)   ? 0
                                       : (double)o.d3 - d1 > tf32_gap(d1, o.d3, xr, xl, cmax, d) ? 1
                                                                                                 : 2;
            labels[row] = o.i1;
            dist2[row] = clamp0(o.d1);
            alt[row] = flag == 1 ? o.i2 : -1;
            flags[row] = flag;
        }
    }
}
