//go:build !amd64 || purego

package prefetch

// line does nothing where there is no prefetch routine: the rows are
// loaded when read.
func line(x []float32, d int) {}
