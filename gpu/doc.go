// Package gpu implements kernels.Backend on an NVIDIA GPU through the CUDA
// driver API (gorgonia.org/cu): the CUDA kernels of gpu/cuda/*.cu,
// compiled to PTX and embedded in the binary, behind package kernels'
// contract.
//
// # Builds
//
// The backend itself is built only with the cuda build tag: gorgonia.org/cu
// links libcuda and initialises the driver in its package init, exiting the
// process when that fails, so a binary that imports it cannot start on a
// machine without an NVIDIA driver and GPU. Without the tag, New and Devices
// fail with ErrNoCUDA. The host-side logic that needs no driver — launch
// geometry, tiling from free memory, PTX selection, the segmented-reduction
// plans, error classification — is in untagged files and tested everywhere.
//
// # Threads
//
// A CUDA context is current on one OS thread at a time. Each Backend starts
// one goroutine locked to its OS thread that creates the device's context
// and makes every driver call; the kernels.Backend methods hand it closures
// and wait. Calls from several goroutines are therefore serialised, which
// also makes the per-dataset device buffers safe to reuse. Driver errors are
// returned as *DriverError (never panics), naming the call and the sizes;
// Classify maps them to the worker protocol's error kinds.
//
// # Memory
//
// Upload copies the dataset to the device once, with its row norms; every
// later call moves only centroids, labels and results. Per-call buffers are
// kept by the dataset and grown on demand, so a k-means run allocates on its
// first iteration only. Calls whose working set scales with n² (KNN) or
// n·k (Distances, ClusterDistanceSums) run in chunks of rows sized from
// the device's free memory (see plan.go); KNN and ClusterDistanceSums free
// their chunk buffers when they return. A dataset that does not fit fails
// Upload with kernels.ErrUnsupported; Assign keeps all k centroids on the
// device (k·d floats), which bounds k·d by device memory.
//
// # Precision
//
// Assign runs an exact fp32 fused kernel, or, on compute capability 8.0 and
// newer with PrecisionAuto or PrecisionTF32, a tf32 tensor-core kernel. A
// row whose best two tf32 distances are closer than tf32 rounding and fp32
// accumulation could account for (a bound that scales with the distances,
// tf32_gap in gpu/cuda/assign_tc.cu) has its two candidates compared
// exactly, or, when a third is as close, is re-assigned by the fp32 kernel;
// every returned distance is recomputed exactly from differences. Labels
// therefore equal the fp32 path's, and all results meet the
// kernels.Backend tolerances on either path.
//
// # KNN
//
// KNN computes a chunk of rows' distances to all n rows, selects each row's
// k smallest by radix select, re-measures them exactly in float64 and sorts
// them on the device for k ≤ KNNSortMax (1024); larger k are sorted on the
// host. The only limit on k is memory: a chunk of at least one row's n
// distances must fit on the device, or KNN returns kernels.ErrUnsupported.
package gpu
