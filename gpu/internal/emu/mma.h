// mma.h models the part of CUDA's nvcuda::wmma that gpu/cuda/assign_tc.cu
// uses: m16n16k8 tf32 fragments with fp32 accumulators.
//
// As on the hardware, a fragment is spread over the 32 lanes of a warp and
// a lane holds only its share (4 elements of an A or B fragment, 8 of an
// accumulator), so code that reads another lane's results must go through
// memory and __syncwarp as real code must. Which elements a lane holds is
// unspecified by CUDA; here element e of lane l is element e·32 + l of the
// tile in row-major order, strided so that it matches no natural reading
// pattern by accident. mma_sync is a warp collective: the last lane to
// arrive multiplies the whole tile for the warp. Inputs are truncated to
// tf32 (the hardware ignores the low 13 mantissa bits of an unconverted
// float) and each product is added in fp32 in feature order. Loads and
// stores check the alignment and leading-dimension rules of the CUDA
// programming guide (256-bit aligned pointers, ldm a multiple of 4 floats).
#pragma once

#include "cuda_emu.h"

namespace emu {
// fail reports a broken programming-model rule in the running kernel.
[[noreturn]] void fail(const char* what);
}  // namespace emu

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

inline float __float_to_tf32(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & ~0x1fffu;  // to nearest, ties away; Inf and NaN kept
    float r;
    memcpy(&r, &b, 4);
    return r;
}

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;

template <typename Layout>
struct fragment<matrix_a, 16, 16, 8, precision::tf32, Layout> {
    static constexpr int num_elements = 4;  // 16×8 over 32 lanes
    float x[num_elements];
};

template <typename Layout>
struct fragment<matrix_b, 16, 16, 8, precision::tf32, Layout> {
    static constexpr int num_elements = 4;  // 8×16 over 32 lanes
    float x[num_elements];
};

template <>
struct fragment<accumulator, 16, 16, 8, float, void> {
    static constexpr int num_elements = 8;  // 16×16 over 32 lanes
    float x[num_elements];
};

namespace detail {

inline void check_memory(const void* p, unsigned ldm) {
    if (reinterpret_cast<uintptr_t>(p) % 32 != 0) emu::fail("wmma load/store address not 256-bit aligned");
    if (ldm % 4 != 0) emu::fail("wmma leading dimension not a multiple of 4 floats");
}

inline float truncate_tf32(float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    b &= ~0x1fffu;
    float r;
    memcpy(&r, &b, 4);
    return r;
}

// element is the row-major tile index of the calling lane's element e.
inline int element(int e) { return e * 32 + emu::lane_id(); }

}  // namespace detail

template <typename Layout>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, Layout>& a, const float* p, unsigned ldm) {
    detail::check_memory(p, ldm);
    for (int e = 0; e < 4; ++e) {
        const int t = detail::element(e), i = t / 8, k = t % 8;  // A is 16×8
        a.x[e] = std::is_same<Layout, row_major>::value ? p[i * ldm + k] : p[k * ldm + i];
    }
}

template <typename Layout>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, Layout>& b, const float* p, unsigned ldm) {
    detail::check_memory(p, ldm);
    for (int e = 0; e < 4; ++e) {
        const int t = detail::element(e), k = t / 16, j = t % 16;  // B is 8×16
        b.x[e] = std::is_same<Layout, row_major>::value ? p[k * ldm + j] : p[j * ldm + k];
    }
}

inline void fill_fragment(fragment<accumulator, 16, 16, 8, float>& c, float v) {
    for (float& e : c.x) e = v;
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& c, unsigned ldm, layout_t layout) {
    detail::check_memory(p, ldm);
    for (int e = 0; e < 8; ++e) {
        const int t = detail::element(e), i = t / 16, j = t % 16;
        (layout == mem_row_major ? p[i * ldm + j] : p[j * ldm + i]) = c.x[e];
    }
}

namespace detail {

// Operands of one lane's mma_sync, deposited for the warp.
struct MmaLane {
    float* d;
    const float *a, *b, *c;
};

inline void mma_tile(const uint64_t* slots, void*) {
    float A[16][8], B[8][16], C[16][16];
    for (int l = 0; l < 32; ++l) {
        const MmaLane* op = reinterpret_cast<const MmaLane*>(static_cast<uintptr_t>(slots[l]));
        for (int e = 0; e < 4; ++e) {
            const int t = e * 32 + l;
            A[t / 8][t % 8] = truncate_tf32(op->a[e]);
            B[t / 16][t % 16] = truncate_tf32(op->b[e]);
        }
        for (int e = 0; e < 8; ++e) {
            const int t = e * 32 + l;
            C[t / 16][t % 16] = op->c[e];
        }
    }
    for (int l = 0; l < 32; ++l) {
        const MmaLane* op = reinterpret_cast<const MmaLane*>(static_cast<uintptr_t>(slots[l]));
        for (int e = 0; e < 8; ++e) {
            const int t = e * 32 + l, i = t / 16, j = t % 16;
            float acc = C[i][j];
            for (int k = 0; k < 8; ++k) acc = fmaf(A[i][k], B[k][j], acc);
            op->d[e] = acc;
        }
    }
}

}  // namespace detail

template <typename LA, typename LB>
void mma_sync(fragment<accumulator, 16, 16, 8, float>& d, const fragment<matrix_a, 16, 16, 8, precision::tf32, LA>& a,
              const fragment<matrix_b, 16, 16, 8, precision::tf32, LB>& b,
              const fragment<accumulator, 16, 16, 8, float>& c, CLUSTERD_EMU_SITE) {
    detail::MmaLane op{d.x, a.x, b.x, c.x};
    emu::warp_reduce_by_last(0xffffffffu, reinterpret_cast<uintptr_t>(&op), emu::Site{file, line}, detail::mma_tile,
                             nullptr);
}

}  // namespace wmma
}  // namespace nvcuda
