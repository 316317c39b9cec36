package gmm

// The E- and M-steps of full and tied covariances are products of
// triangular or symmetric d×d matrices with the data, and dominate the
// fit. They are computed here as blocks of dot products of contiguous rows
// (4 rows by 2), with an AVX2+FMA kernel on amd64 (dot_amd64.s) and this
// plain Go elsewhere: about 5× the rate of gonum's BLAS on these shapes,
// which gives the fit scikit-learn's OpenBLAS speed at half its multiply-adds
// (only the non-zero half of a triangular factor, only one triangle of a
// covariance).

// dot4x2Go is the portable dot4x2.
func dot4x2Go(a []float64, lda int, b []float64, ldb int, n int, out *[8]float64) {
	for i := 0; i < 4; i++ {
		ai := a[i*lda : i*lda+n]
		for j := 0; j < 2; j++ {
			bj := b[j*ldb : j*ldb+n]
			var s float64
			for t, v := range ai {
				s += v * bj[t]
			}
			out[2*i+j] = s
		}
	}
}

// dotRange is Σ_{t∈[lo,hi)} a[t]·b[t].
func dotRange(a, b []float64, lo, hi int) float64 {
	var s float64
	for t := lo; t < hi; t++ {
		s += a[t] * b[t]
	}
	return s
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// factorRows is a triangular factor P (d×d) stored by columns, padded:
// row j of cols is column j of P (dp = pad4(d) entries, zero beyond d),
// and column j has its non-zeros in [lo[j], hi[j]).
type factorRows struct {
	d, dp  int
	cols   []float64
	lo, hi []int
}

func newFactorRows(p []float64, d int, lower bool) *factorRows {
	dp := pad4(d)
	f := &factorRows{d: d, dp: dp, cols: make([]float64, (dp+1)*dp), lo: make([]int, d+1), hi: make([]int, d+1)}
	for j := 0; j < d; j++ {
		for t := 0; t < d; t++ {
			f.cols[j*dp+t] = p[t*d+j]
		}
		if lower {
			f.lo[j], f.hi[j] = j, d
		} else {
			f.lo[j], f.hi[j] = 0, j+1
		}
	}
	return f
}

// sqNorms writes ‖x_r·P‖² into out for the rows of x (rows×dp, zero
// padded).
func (f *factorRows) sqNorms(x []float64, rows int, out []float64) {
	d, dp := f.d, f.dp
	var blk [8]float64
	r := 0
	for ; r+4 <= rows; r += 4 {
		var s [4]float64
		j := 0
		for ; j+2 <= d; j += 2 {
			lo := min(f.lo[j], f.lo[j+1]) &^ 3
			hi := min(dp, pad4(max(f.hi[j], f.hi[j+1])))
			dot4x2(x[r*dp+lo:], dp, f.cols[j*dp+lo:], dp, hi-lo, &blk)
			for i := 0; i < 4; i++ {
				s[i] += blk[2*i]*blk[2*i] + blk[2*i+1]*blk[2*i+1]
			}
		}
		for ; j < d; j++ {
			for i := 0; i < 4; i++ {
				v := dotRange(x[(r+i)*dp:], f.cols[j*dp:], f.lo[j], f.hi[j])
				s[i] += v * v
			}
		}
		copy(out[r:r+4], s[:])
	}
	for ; r < rows; r++ {
		var s float64
		for j := 0; j < d; j++ {
			v := dotRange(x[r*dp:], f.cols[j*dp:], f.lo[j], f.hi[j])
			s += v * v
		}
		out[r] = s
	}
}

// gram writes the upper triangle of w·wᵀ (d×d, into c) for the d rows of w,
// each of length np (a multiple of 4).
func gram(w []float64, d, np int, c []float64) {
	var blk [8]float64
	a := 0
	for ; a+4 <= d; a += 4 {
		b := a
		for ; b+2 <= d; b += 2 {
			dot4x2(w[a*np:], np, w[b*np:], np, np, &blk)
			for i := 0; i < 4; i++ {
				for j := 0; j < 2; j++ {
					if b+j >= a+i {
						c[(a+i)*d+b+j] = blk[2*i+j]
					}
				}
			}
		}
		for ; b < d; b++ {
			for i := 0; i < 4; i++ {
				if b >= a+i {
					c[(a+i)*d+b] = dotRange(w[(a+i)*np:], w[b*np:], 0, np)
				}
			}
		}
	}
	for ; a < d; a++ {
		for b := a; b < d; b++ {
			c[a*d+b] = dotRange(w[a*np:], w[b*np:], 0, np)
		}
	}
}
