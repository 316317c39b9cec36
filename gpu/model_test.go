package gpu

// Go models of the less obvious kernel algorithms, run on the host: the
// tf32 tie bound (gpu/cuda/assign_tc.cu), the radix select of knn_select and
// the bitonic sort of knn_sort (gpu/cuda/knn.cu). They follow the kernels
// step by step, so they test the algorithms and the bound on machines
// without a GPU; the kernels themselves run in the cuda-tagged conformance
// tests.

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// fma32 is CUDA's fmaf: a·b + c rounded once to float32.
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// tf32Gap mirrors tf32_gap of gpu/cuda/assign_tc.cu, in float64: the most
// by which the difference of two tf32 distance estimates a and b of a row
// (xr = ‖x‖², cmax = max_j ‖c̃_j‖, d features) can differ from the exact
// difference.
func tf32Gap(a, b, xr, cmax float32, d int) float64 {
	u, g := math.Ldexp(1, -11), float64(d+16)*math.Ldexp(1, -23)*(1+math.Ldexp(1, -10))
	x, xl, cm := float64(xr), math.Sqrt(float64(xr)), float64(cmax)
	s0 := math.Ldexp(1, -18) * (x + cm*cm)
	A := (4*u+2*g)*xl*cm + 2*u*cm*cm + s0
	return (1 + math.Ldexp(1, -8)) * (2*u*(math.Sqrt(math.Max(float64(a), 0)+A)+math.Sqrt(math.Max(float64(b), 0)+A))*(xl+cm) + 4*g*xl*cm + s0)
}

// tf32Flag mirrors assign_tf32's decision for a row whose three smallest
// tf32 distances are d1 ≤ d2 ≤ d3.
func tf32Flag(d1, d2, d3, xr, cmax float32, d int) byte {
	switch {
	case float64(d2)-float64(d1) > tf32Gap(d1, d2, xr, cmax, d):
		return tieNone
	case float64(d3)-float64(d1) > tf32Gap(d1, d3, xr, cmax, d):
		return tiePair
	}
	return tieFull
}

// tf32Dist models assign_tf32's distance of x to a centroid c whose
// rounded norm is cn, for a row of norm xn: the inputs rounded to tf32,
// exact products accumulated in fp32 rounding toward zero (the worst a
// tensor core does), folded with one fmaf as the epilogue does.
func tf32Dist(x, c []float32, cn, xn float32) float32 {
	var dot float32
	for q := range x {
		dot = addTruncated(dot, roundTF32(x[q])*roundTF32(c[q])) // the product is exact
	}
	return fma32(-2, dot, xn+cn)
}

// rowNorm is ‖x‖² as row_norms computes it: fmaf in feature order.
func rowNorm(x []float32) float32 {
	var s float32
	for _, v := range x {
		s = fma32(v, v, s)
	}
	return s
}

// addTruncated is a + b rounded toward zero to float32: the accumulation
// of a tensor core that truncates, the worst case tf32_gap allows for.
func addTruncated(a, b float32) float32 {
	s := float64(a) + float64(b)
	f := float32(s)
	if math.Abs(float64(f)) > math.Abs(s) {
		f = math.Nextafter32(f, 0)
	}
	return f
}

// TestTF32TieBound checks the claim behind assign_tf32's flags: the exact
// nearest centroid (or one whose exact distance ties with it below fp32
// resolution) is the tf32 best for a row flagged tieNone, and one of the
// two tf32 best for a row flagged tiePair. The model rounds the inputs to
// tf32, accumulates the exact products in fp32 rounding toward zero (the
// worst a tensor core does), and folds the distances with the norms of the
// rounded centroids as the kernel does, on data made to produce near ties:
// blobs, points far from the origin, and centroids in nearly coincident
// pairs.
func TestTF32TieBound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var count [3]int
	for trial := range 60 {
		d, k := 1+r.IntN(300), 1+r.IntN(80)
		offset := []float64{0, 0, 30, 1000}[trial%4]
		c := make([]float32, k*d)
		for j := range k {
			for q := range d {
				v := r.NormFloat64()*3 + offset
				if j%2 == 1 && trial%3 == 0 { // nearly a copy of the previous centroid
					v = float64(c[(j-1)*d+q]) + r.NormFloat64()*1e-3
				}
				c[j*d+q] = float32(v)
			}
		}
		cn, cmax := tf32Norms(c, k, d)
		for range 200 {
			x := make([]float32, d)
			base := r.IntN(k)
			for q := range x {
				x[q] = c[base*d+q] + float32(r.NormFloat64()*[]float64{2, 0.1, 1e-3}[r.IntN(3)])
			}
			xn := rowNorm(x)
			// The kernel's scan: ascending columns, strict comparisons.
			inf := float32(math.Inf(1))
			d1, d2, d3, i1, i2 := inf, inf, inf, 0, 0
			exact := make([]float64, k)
			for j := range k {
				for q := range d {
					e := float64(x[q]) - float64(c[j*d+q])
					exact[j] += e * e
				}
				switch e := tf32Dist(x, c[j*d:(j+1)*d], cn[j], xn); {
				case e < d1:
					d3, d2, i2, d1, i1 = d2, d1, i1, e, j
				case e < d2:
					d3, d2, i2 = d2, e, j
				case e < d3:
					d3 = e
				}
			}
			flag := tf32Flag(d1, d2, d3, xn, cmax, d)
			count[flag]++
			want := 0
			for j := range k {
				if exact[j] < exact[want] {
					want = j
				}
			}
			got := i1
			if flag == tiePair && exact[i2] < exact[i1] {
				got = i2
			}
			if flag != tieFull && got != want && exact[got]-exact[want] > 1e-6*float64(xn+cmax*cmax) {
				t.Fatalf("trial %d: row flagged %d got centroid %d at %g, nearest is %d at %g (tf32 %g %g %g)",
					trial, flag, got, exact[got], want, exact[want], d1, d2, d3)
			}
		}
	}
	t.Logf("rows settled by tf32 alone: %d, by an exact pair comparison: %d, by the fp32 kernel: %d", count[tieNone], count[tiePair], count[tieFull])
}

// pushTF32 moves v (by less than a tf32 ulp) to where rounding it to tf32
// errs by nearly half an ulp in the direction sign: the worst case of the
// rounding, placed on purpose.
func pushTF32(v float32, sign float64) float32 {
	if v == 0 {
		v = 1e-3
	}
	// mid is halfway between v truncated to tf32 (lo) and the next tf32
	// value away from zero: mid rounds away from zero (ties away), an error
	// of +½ulp in magnitude, and the float just below it rounds to lo, an
	// error of nearly −½ulp.
	mid := math.Float32frombits(math.Float32bits(v)&^0x1fff | 0x1000)
	if (sign > 0) == (v > 0) {
		return mid
	}
	return math.Nextafter32(mid, 0)
}

// TestTF32GapAdversarial checks the inequality tf32_gap states, |(D_a −
// D_b) − (T_a − T_b)| ≤ tf32Gap(D_a, D_b), on inputs whose tf32 rounding
// errors are placed to add up: every x_t errs towards c_b − c_a, every
// component of c_a against x − c_a and of c_b along x − c_b, each by
// nearly half an ulp. It also requires the worst case found to reach a
// quarter of the bound, so that a bound several times too small could not
// pass.
func TestTF32GapAdversarial(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	worst := 0.0
	for trial := range 400 {
		d := 1 + r.IntN(768)
		offset := []float64{0, 5, 100}[trial%3]
		ca, cb, x := make([]float32, d), make([]float32, d), make([]float32, d)
		spread := []float64{1, 0.1, 1e-3}[r.IntN(3)]
		for q := range d {
			ca[q] = float32(r.NormFloat64()*3 + offset)
			cb[q] = ca[q] + float32(r.NormFloat64()*spread)
			x[q] = ca[q] + float32(r.NormFloat64()*spread)
		}
		for q := range d {
			ca[q] = pushTF32(ca[q], -float64(x[q]-ca[q]))
			cb[q] = pushTF32(cb[q], float64(x[q]-cb[q]))
		}
		for q := range d {
			x[q] = pushTF32(x[q], float64(cb[q]-ca[q]))
		}
		c := append(slices.Clone(ca), cb...)
		cn, cmax := tf32Norms(c, 2, d)
		xn := rowNorm(x)
		da, db := tf32Dist(x, ca, cn[0], xn), tf32Dist(x, cb, cn[1], xn)
		var ta, tb float64
		for q := range d {
			ea, eb := float64(x[q])-float64(ca[q]), float64(x[q])-float64(cb[q])
			ta, tb = ta+ea*ea, tb+eb*eb
		}
		err := math.Abs((float64(da) - float64(db)) - (ta - tb))
		gap := tf32Gap(da, db, xn, cmax, d)
		if err > gap {
			t.Fatalf("trial %d (d %d, offset %g, spread %g): |ΔD − ΔT| = %g exceeds the bound %g", trial, d, offset, spread, err, gap)
		}
		worst = max(worst, err/gap)
	}
	if worst < 0.25 {
		t.Fatalf("the worst case reached only %.3f of the bound: the data do not test it", worst)
	}
	t.Logf("worst |ΔD − ΔT| / bound: %.3f", worst)
}

// selectK models knn_select: four histogram passes find the k-th smallest
// key T and how many keys equal to it to take; the collection takes every
// key below T and the lowest-index keys equal to T, each in index order.
func selectK(row []float32, k int) []int32 {
	prefix, mask, want := uint32(0), uint32(0), uint32(k)
	for shift := 24; shift >= 0; shift -= 8 {
		var hist [256]uint32
		for _, v := range row {
			if key := math.Float32bits(v); key&mask == prefix {
				hist[(key>>shift)&255]++
			}
		}
		below, b := uint32(0), 0
		for ; b < 255; b++ {
			if below+hist[b] >= want {
				break
			}
			below += hist[b]
		}
		prefix |= uint32(b) << shift
		want -= below
		mask |= 255 << shift
	}
	nlt := uint32(k) - want
	out := make([]int32, k)
	lt, eq := uint32(0), uint32(0)
	for j, v := range row {
		switch key := math.Float32bits(v); {
		case key < prefix:
			out[lt] = int32(j)
			lt++
		case key == prefix && eq < want:
			out[nlt+eq] = int32(j)
			eq++
		}
	}
	if lt != nlt || eq != want {
		return nil // the kernel would leave holes: a bug in the passes
	}
	return out
}

func TestRadixSelect(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := range 300 {
		n := 1 + r.IntN(3000)
		row := make([]float32, n)
		for j := range row {
			switch trial % 3 {
			case 0:
				row[j] = float32(r.ExpFloat64())
			case 1:
				row[j] = float32(r.IntN(7)) // heavy ties
			default:
				row[j] = float32(r.IntN(3)) * float32(math.Pow(2, float64(r.IntN(60)-30))) // zeros, wide exponents
			}
		}
		k := 1 + r.IntN(n)
		got := selectK(row, k)
		if got == nil {
			t.Fatalf("trial %d: selection has holes", trial)
		}
		order := make([]int32, n)
		for j := range order {
			order[j] = int32(j)
		}
		slices.SortFunc(order, func(a, b int32) int {
			if c := cmp.Compare(row[a], row[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		want := slices.Clone(order[:k])
		slices.Sort(want)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !slices.Equal(sorted, want) {
			t.Fatalf("trial %d (n=%d k=%d): selected %v, want %v", trial, n, k, got[:min(k, 10)], want[:min(k, 10)])
		}
	}
}

// bitonic models knn_sort on one row of k ≤ KNNSortMax pairs.
func bitonic(dist []float32, idx []int32) {
	k := len(dist)
	p := 1
	for p < k {
		p <<= 1
	}
	sd, si := make([]float32, p), make([]int32, p)
	for i := range p {
		sd[i], si[i] = float32(math.Inf(1)), math.MaxInt32
		if i < k {
			sd[i], si[i] = dist[i], idx[i]
		}
	}
	for size := 2; size <= p; size <<= 1 {
		for stride := size >> 1; stride > 0; stride >>= 1 {
			for i := range p {
				j := i ^ stride
				if j <= i {
					continue
				}
				after := sd[i] > sd[j] || (sd[i] == sd[j] && si[i] > si[j])
				if after == (i&size == 0) {
					sd[i], sd[j], si[i], si[j] = sd[j], sd[i], si[j], si[i]
				}
			}
		}
	}
	copy(dist, sd[:k])
	copy(idx, si[:k])
}

func TestBitonicSort(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, k := range []int{1, 2, 3, 7, 40, 300, 513, KNNSortMax} {
		dist, idx := make([]float32, k), make([]int32, k)
		for i := range dist {
			dist[i], idx[i] = float32(r.IntN(k/3+1)), int32(r.Perm(5 * k)[i])
		}
		bitonic(dist, idx)
		for i := 1; i < k; i++ {
			if dist[i] < dist[i-1] || (dist[i] == dist[i-1] && idx[i] < idx[i-1]) {
				t.Fatalf("k=%d: (%g,%d) after (%g,%d)", k, dist[i], idx[i], dist[i-1], idx[i-1])
			}
		}
	}
}
