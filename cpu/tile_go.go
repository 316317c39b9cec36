//go:build !amd64 || noasm

// dotTile in plain Go, for where gonum has no assembly (every architecture
// but amd64, and gonum's noasm tag): register blocking makes it about twice
// as fast as gonum's plain-Go loops.

package cpu

// dotTile writes out[r*ldc+j] = a_r · b_j for the ra rows of a and the nb
// rows of b (both row-major with d columns). Blocks of 4 rows × 2 columns
// keep 8 sums in registers and load each feature of a row or column once
// per block. Every entry is one sum over t in increasing order, so its
// value does not depend on where it sits in the tile.
func dotTile(a []float32, ra int, b []float32, nb int, d int, out []float32, ldc int) {
	r := 0
	for ; r+4 <= ra; r += 4 {
		a0, a1 := a[r*d:(r+1)*d], a[(r+1)*d:(r+2)*d]
		a2, a3 := a[(r+2)*d:(r+3)*d], a[(r+3)*d:(r+4)*d]
		o := out[r*ldc:]
		j := 0
		for ; j+2 <= nb; j += 2 {
			b0, b1 := b[j*d:(j+1)*d], b[(j+1)*d:(j+2)*d]
			b1, a0, a1, a2, a3 = b1[:len(b0)], a0[:len(b0)], a1[:len(b0)], a2[:len(b0)], a3[:len(b0)]
			var s00, s01, s10, s11, s20, s21, s30, s31 float32
			for t, x0 := range b0 {
				x1 := b1[t]
				s00 += a0[t] * x0
				s01 += a0[t] * x1
				s10 += a1[t] * x0
				s11 += a1[t] * x1
				s20 += a2[t] * x0
				s21 += a2[t] * x1
				s30 += a3[t] * x0
				s31 += a3[t] * x1
			}
			o[j], o[j+1] = s00, s01
			o[ldc+j], o[ldc+j+1] = s10, s11
			o[2*ldc+j], o[2*ldc+j+1] = s20, s21
			o[3*ldc+j], o[3*ldc+j+1] = s30, s31
		}
		for ; j < nb; j++ {
			bj := b[j*d : (j+1)*d]
			o[j], o[ldc+j], o[2*ldc+j], o[3*ldc+j] = dot(a0, bj), dot(a1, bj), dot(a2, bj), dot(a3, bj)
		}
	}
	for ; r < ra; r++ {
		for j := 0; j < nb; j++ {
			out[r*ldc+j] = dot(a[r*d:(r+1)*d], b[j*d:(j+1)*d])
		}
	}
}

// dot is Σ_t a_t·b_t in float32, in increasing t.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for t, v := range a {
		s += v * b[t]
	}
	return s
}
