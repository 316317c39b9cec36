//go:build amd64 && !purego

package gmm

import "golang.org/x/sys/cpu"

//go:noescape
func dot4x2AVX2(a *float64, lda int, b *float64, ldb int, n int, out *float64)

var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot4x2 writes a_i·b_j (i < 4, j < 2) to out[2i+j] for the rows a_i =
// a[i·lda:][:n] and b_j = b[j·ldb:][:n], n a multiple of 4.
func dot4x2(a []float64, lda int, b []float64, ldb int, n int, out *[8]float64) {
	if !hasAVX2 || n == 0 {
		dot4x2Go(a, lda, b, ldb, n, out)
		return
	}
	_ = a[3*lda+n-1]
	_ = b[ldb+n-1]
	var lanes [32]float64
	dot4x2AVX2(&a[0], lda, &b[0], ldb, n, &lanes[0])
	for v := 0; v < 8; v++ {
		out[v] = (lanes[4*v] + lanes[4*v+1]) + (lanes[4*v+2] + lanes[4*v+3])
	}
}
