package quality

import "math"

// addRoots adds √e[j] to acc[j] for every j < len(e), in float64 (e
// widened), as the scalar loop does, on AVX2 eight at a time: the same
// bits either way. acc must be at least as long as e.
func addRoots(acc []float64, e []float32) {
	acc = acc[:len(e)]
	head := 0
	if rootsAVX2 && len(e) >= 8 {
		head = len(e) &^ 7
		addRootsAVX2(&acc[0], &e[0], head)
	}
	for j := head; j < len(e); j++ {
		acc[j] += math.Sqrt(float64(e[j]))
	}
}
