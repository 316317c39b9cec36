package gpu

import "fmt"

// Kernel geometry, as the CUDA sources #define it (CLUSTERD_* in
// gpu/cuda/*.cu and gpu/cuda/common.cuh). The kernels index shared memory
// and threads by these values, so a launch that disagrees would compute
// garbage; TestGeometryMatchesSources reads the sources and compares.
const (
	tileM       = 128 // rows of x per block of the fp32 GEMM-form kernels
	tileN       = 128 // centroids (or points) per tile of the wide kernels
	tileNNarrow = 32  // centroids per tile of the narrow kernels, used for k ≤ 32
	tileThreads = 256

	tf32Tile    = 128 // rows and centroids per block of assign_tf32
	tf32Threads = 256

	sumChunk    = 256 // rows per piece of the per-cluster sums
	sumFeatures = 32  // sum_partial block: features × row lanes
	sumLanes    = 8

	cdsTile    = 64 // rows and members per block of cluster_dist_sums
	cdsThreads = 256

	// KNNSortMax is the largest k whose neighbours are sorted on the
	// device; larger k are sorted on the host after the device has
	// selected and measured them.
	KNNSortMax       = 1024
	knnSelectThreads = 256
	knnSortThreads   = 512

	peakChains = 8 // independent FMA chains per thread of fma_peak

	labelDistRowsPerBlock = 8 // label_dist and knn_measure: one warp per row (entry), 256 threads
	normsRowsPerBlock     = 32
)

// CUDA's limits on grid dimensions.
const (
	maxGridX  = 1<<31 - 1
	maxGridYZ = 65535
)

// launch is a kernel's grid and block shape.
type launch struct {
	grid, block [3]int
}

// check reports a grid the driver would reject, or an empty one.
func (l launch) check() error {
	g := l.grid
	if g[0] < 1 || g[1] < 1 || g[2] < 1 || g[0] > maxGridX || g[1] > maxGridYZ || g[2] > maxGridYZ {
		return fmt.Errorf("gpu: grid %v outside CUDA's limits (1…%d, 1…%d, 1…%d)", g, maxGridX, maxGridYZ, maxGridYZ)
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func grid1(blocks, threads int) launch {
	return launch{grid: [3]int{blocks, 1, 1}, block: [3]int{threads, 1, 1}}
}

// normsLaunch covers n rows with row_norms' 32×32 blocks.
func normsLaunch(n int) launch {
	return launch{grid: [3]int{ceilDiv(n, normsRowsPerBlock), 1, 1}, block: [3]int{32, normsRowsPerBlock, 1}}
}

// assignNarrow reports whether k centroids go to the narrow fp32 kernels
// (assign_fp32_narrow, dist_fp32_narrow), whose 32-wide tiles waste less
// on padding than the 128-wide ones when k ≤ 32.
func assignNarrow(k int) bool { return k <= tileNNarrow }

// assignLaunch covers m rows with assign_fp32(_narrow): one 128-row tile
// per block, every block sweeping all centroids.
func assignLaunch(m int) launch { return grid1(ceilDiv(m, tileM), tileThreads) }

// tf32Launch covers n rows with assign_tf32.
func tf32Launch(n int) launch { return grid1(ceilDiv(n, tf32Tile), tf32Threads) }

// warpPerRowLaunch covers rows with one warp each (label_dist,
// knn_measure).
func warpPerRowLaunch(rows int) launch {
	return grid1(ceilDiv(rows, labelDistRowsPerBlock), labelDistRowsPerBlock*32)
}

// distLaunch covers a rows×m distance matrix with dist_fp32 (or its narrow
// variant when narrow): column tiles on x, row tiles on y.
func distLaunch(rows, m int, narrow bool) launch {
	bn := tileN
	if narrow {
		bn = tileNNarrow
	}
	return launch{grid: [3]int{ceilDiv(m, bn), ceilDiv(rows, tileM), 1}, block: [3]int{tileThreads, 1, 1}}
}

// sumPartialLaunch covers pieces × d features with sum_partial.
func sumPartialLaunch(pieces, d int) launch {
	return launch{grid: [3]int{pieces, ceilDiv(d, sumFeatures), 1}, block: [3]int{sumFeatures, sumLanes, 1}}
}

// sumCombineLaunch covers the k×d sums with sum_combine.
func sumCombineLaunch(k, d int) launch { return grid1(ceilDiv(k*d, 256), 256) }

// knnSelectLaunch runs knn_select with one block per row of a chunk.
func knnSelectLaunch(rows int) launch { return grid1(rows, knnSelectThreads) }

// knnSortLaunch runs knn_sort with one block per row of a chunk.
func knnSortLaunch(rows int) launch { return grid1(rows, knnSortThreads) }

// cdsLaunch covers rows × clusters with cluster_dist_sums.
func cdsLaunch(rows, clusters int) launch {
	return launch{grid: [3]int{ceilDiv(rows, cdsTile), clusters, 1}, block: [3]int{cdsThreads, 1, 1}}
}

// peakLaunch sizes fma_peak for sms multiprocessors: 8 blocks of 256
// threads each, enough resident warps to keep every FMA pipe busy.
func peakLaunch(sms int) launch { return grid1(8*sms, 256) }
