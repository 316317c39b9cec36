// Package emu runs the CUDA kernels of gpu/cuda/*.cu on the CPU, for tests
// of the gpu package on machines without a GPU (build tag cudaemu).
//
// The kernels' own source is compiled with g++ against cuda_emu.h and
// mma.h, which model the parts of CUDA they use: each CUDA thread is a
// fiber, the fibers of a block take turns on one OS thread and switch at
// __syncthreads and warp collectives, and wmma fragments are spread over a
// warp's lanes as on the hardware. Device memory is host memory mapped with
// a guard page after each allocation, filled with 0xff bytes (NaN floats,
// −1 ints) so that reading what no one wrote shows.
//
// The model checks the programming-model rules a CPU run would otherwise
// hide: barriers reached from different statements, warp collectives that
// lanes reach differently or wait for exited lanes (deadlocks), misaligned
// wmma loads, parameter lists that disagree with the kernels' signatures,
// copies outside an allocation. It measures nothing about speed.
package emu

// kernels_sum.h records the SHA-256 of every kernel source the model
// compiles. The Go build cache keys a package on the files in its own
// directory, so without it an edit to gpu/cuda/*.cu would leave tests
// running the old kernels; TestKernelSourcesSum fails until it is
// regenerated.
//go:generate sh -c "cd ../../cuda && sha256sum *.cu *.cuh | sed 's|^|// |' > ../internal/emu/kernels_sum.h"
