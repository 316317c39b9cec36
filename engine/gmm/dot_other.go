//go:build !amd64 || purego

package gmm

func dot4x2(a []float64, lda int, b []float64, ldb int, n int, out *[8]float64) {
	dot4x2Go(a, lda, b, ldb, n, out)
}
