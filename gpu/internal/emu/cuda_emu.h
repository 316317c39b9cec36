// cuda_emu.h lets the CUDA C++ of gpu/cuda/*.cu compile with g++ and run on
// the CPU, one fiber per CUDA thread, so that the kernels' logic (indexing,
// tiling, barriers, warp collectives, tie rules) is tested on machines
// without a GPU. It is a model of the programming model, not of a device:
// blocks run on a few OS threads, the threads of a block take turns on one
// of them and switch only at barriers and warp collectives.
//
// What the model checks beyond the results: every __syncthreads of a block
// is reached from the same statement (divergent barriers are reported),
// warp collectives name the lanes that reach them (a collective waiting for
// an exited or absent lane is a deadlock, reported), and the scheduling is
// as unfair as CUDA allows: a warp runs until all its lanes wait at a block
// barrier before the next warp starts, lanes take turns only at warp
// collectives, and the order of warps and lanes alternates between
// ascending and descending from block to block. Code that reads shared
// memory another thread writes without the barrier that orders them sees
// the stale or the overwritten value one way or the other.
//
// Included (through the kernel translation units) before each gpu/cuda/*.cu.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
};
struct __attribute__((aligned(16))) float4 {
    float x, y, z, w;
};

namespace emu {

// Thread is one CUDA thread of the block being run.
struct Thread {
    uint3 idx;
    int linear;     // threadIdx.x + blockDim.x·(threadIdx.y + blockDim.y·threadIdx.z)
    int parity;     // which half of the warp's double-buffered slots its next collective uses
    bool done;
    void* sp;                  // saved stack pointer while switched out
    const uint64_t* wait_gen;  // while waiting: the generation counter it waits on to change from wait_val
    uint64_t wait_val;
};

// Block is the state of the block being run on this OS thread.
struct Block;

extern thread_local Block* current_block;
extern thread_local Thread* current_thread;

const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();

// Site is the source position of a barrier or collective call: the threads
// that meet there must all have come from the same statement. (Return
// addresses would not do: the compiler duplicates code paths.)
struct Site {
    const char* file;
    int line;
    bool operator==(const Site& o) const { return line == o.line && (file == o.file || strcmp(file, o.file) == 0); }
    bool operator!=(const Site& o) const { return !(*this == o); }
};

// The collectives.
void syncthreads(Site site);
// warp_exchange deposits v in the calling lane's slot, waits for the lanes
// of mask, and returns the slots of the warp (32 values).
const uint64_t* warp_exchange(unsigned mask, uint64_t v, Site site);
// warp_reduce_by_last runs f(slots, ctx) once, in the last lane of mask to
// arrive, after every lane has deposited v; the others wait for it.
void warp_reduce_by_last(unsigned mask, uint64_t v, Site site, void (*f)(const uint64_t* slots, void* ctx),
                         void* ctx);
int lane_id();

}  // namespace emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Shared memory is per block; the threads of a block all run on one OS
// thread and no other block runs there meanwhile, so a thread-local static
// is exactly one copy per block in flight.
#define __shared__ static thread_local

#define threadIdx (emu::current_thread->idx)
#define blockIdx (emu::block_idx())
#define blockDim (emu::block_dim())
#define gridDim (emu::grid_dim())

// The call site is passed by default arguments, which take the caller's
// position.
#define CLUSTERD_EMU_SITE const char *file = __builtin_FILE(), int line = __builtin_LINE()

inline void __syncthreads(CLUSTERD_EMU_SITE) { emu::syncthreads(emu::Site{file, line}); }

template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, CLUSTERD_EMU_SITE) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type the model cannot carry");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    const uint64_t* slots = emu::warp_exchange(mask, bits, emu::Site{file, line});
    T r;
    memcpy(&r, &slots[(emu::lane_id() ^ lane_mask) & 31], sizeof(T));
    return r;
}

inline unsigned __ballot_sync(unsigned mask, int pred, CLUSTERD_EMU_SITE) {
    const uint64_t* slots = emu::warp_exchange(mask, pred != 0, emu::Site{file, line});
    unsigned r = 0;
    for (int l = 0; l < 32; ++l)
        if ((mask >> l & 1u) && slots[l]) r |= 1u << l;
    return r;
}

inline void __syncwarp(unsigned mask = 0xffffffffu, CLUSTERD_EMU_SITE) {
    emu::warp_exchange(mask, 0, emu::Site{file, line});
}

template <typename T>
inline T __ldg(const T* p) {
    return *p;
}

namespace emu {
[[noreturn]] void fail(const char* what);
}

// A 128-bit load from an address that is not 16-byte aligned faults on the
// device (misaligned address); the model stops there too.
inline float4 __ldg(const float4* p) {
    if (reinterpret_cast<unsigned long long>(p) % 16 != 0) emu::fail("misaligned 128-bit load (__ldg of a float4)");
    return *p;
}

inline int __popc(unsigned v) { return __builtin_popcount(v); }

inline float __int_as_float(int v) {
    float f;
    memcpy(&f, &v, 4);
    return f;
}
inline unsigned __float_as_uint(float v) {
    unsigned u;
    memcpy(&u, &v, 4);
    return u;
}
inline float __uint_as_float(unsigned v) {
    float f;
    memcpy(&f, &v, 4);
    return f;
}

// Atomics on memory that other blocks (other OS threads) may touch.
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
