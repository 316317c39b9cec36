//go:build amd64 && !purego

package prefetch

import "unsafe"

// lines issues PREFETCHT0 for the cache line of every 64 bytes of
// [p, p+bytes), and of its last byte.
//
//go:noescape
func lines(p unsafe.Pointer, bytes int)

// span prefetches the first d floats of x (len(x) ≥ d > 0).
func span(x []float32, d int) { lines(unsafe.Pointer(unsafe.SliceData(x)), d*4) }
