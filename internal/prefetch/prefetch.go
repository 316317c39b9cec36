// Package prefetch asks the processor to start loading rows of a matrix
// into its caches before they are read: for code that reads rows at random
// from data larger than the caches (a mini-batch's rows from a million),
// where each row read waits for memory in turn. Prefetching the rows a few
// reads ahead overlaps those waits. It changes no value, only timing.
package prefetch

// Rows starts loading every cache line of the rows x[r·d : (r+1)·d] for r
// in rows; rows outside x are skipped. It returns at once: nothing is
// waited for.
func Rows(x []float32, d int, rows []int32) {
	if d <= 0 {
		return
	}
	n := len(x) / d
	for _, r := range rows {
		if r >= 0 && int(r) < n {
			span(x[int(r)*d:], d)
		}
	}
}
