// emu.h is the C interface of the CPU model of the CUDA kernels, for the
// Go side (emu.go).
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Results of clusterd_emu_launch.
enum {
    CLUSTERD_EMU_OK = 0,
    CLUSTERD_EMU_INVALID = 1,  // unknown kernel, parameter list or block shape the kernel cannot take
    CLUSTERD_EMU_FAILED = 2,   // the kernel broke a rule of the programming model
};

// clusterd_emu_launch runs kernel name over the grid, with each parameter in
// an 8-byte slot as cuLaunchKernel reads them; types names them ("u64",
// "u32" or "f32", space-separated) and must match the kernel's C++
// signature. On failure a one-line reason is written to err.
int clusterd_emu_launch(const char* name, const unsigned* grid, const unsigned* block, const uint64_t* args,
                        int nargs, const char* types, char* err, int errlen);

// clusterd_emu_has_kernel reports whether the model knows kernel name.
int clusterd_emu_has_kernel(const char* name);

// clusterd_emu_tf32_gap is gpu/cuda/assign_tc.cu's tf32_gap, compiled from
// the kernel's source, for tests of its mirror.
double clusterd_emu_tf32_gap(double a, double b, double xr, double cmax, int d);

// clusterd_emu_set_order flips (flip ≠ 0) or restores the scheduling
// order: blocks that ran their warps and lanes ascending run them
// descending, and the other way round.
void clusterd_emu_set_order(int flip);

#ifdef __cplusplus
}
#endif
