package cpu

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// randRows returns n×d float32 values from a fixed seed.
func randRows(n, d int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestKernelSelection checks the path list and the errors of NewChecked.
func TestKernelSelection(t *testing.T) {
	names := Kernels()
	if names[len(names)-1] != KernelGeneric {
		t.Fatalf("Kernels() = %v, want generic last", names)
	}
	for _, name := range append(names, "", KernelAuto) {
		b, err := NewChecked(Options{Kernel: name})
		if err != nil {
			t.Fatalf("NewChecked(%q): %v", name, err)
		}
		if want := name; want != "" && want != KernelAuto && b.Kernel() != want {
			t.Errorf("NewChecked(%q).Kernel() = %q", name, b.Kernel())
		}
	}
	if got := New(Options{}).Kernel(); got != names[0] {
		t.Errorf("auto picked %q, want %q", got, names[0])
	}
	if _, err := NewChecked(Options{Kernel: "sse9"}); err == nil {
		t.Error("unknown kernel accepted")
	}
	if got := New(Options{Kernel: "sse9"}).Kernel(); got != names[0] {
		t.Errorf("New with an unknown kernel fell back to %q, want %q", got, names[0])
	}
	for _, name := range []string{KernelAVX512, KernelAVX2} {
		if !slices.Contains(names, name) {
			if _, err := NewChecked(Options{Kernel: name}); err == nil {
				t.Errorf("unsupported kernel %q accepted", name)
			}
		}
	}
}

// TestPackRows checks the transposed packing, including the features past
// the last whole block and the zero lanes of a short panel.
func TestPackRows(t *testing.T) {
	for _, s := range simdPaths {
		for _, d := range []int{1, 3, 7, 8, 9, 15, 16, 17, 33, 100} {
			for _, nr := range []int{1, s.lanes - 1, s.lanes} {
				n := 2 * s.lanes
				x := randRows(n, d, uint64(d))
				rows := make([]int32, nr)
				for r := range rows {
					rows[r] = int32((7*r + 3) % n)
				}
				dst := make([]float32, d*s.lanes)
				for i := range dst {
					dst[i] = float32(math.NaN())
				}
				s.packRows(dst, x, d, rows, make([]*float32, s.lanes), make([]float32, d))
				for tt := 0; tt < d; tt++ {
					for r := 0; r < s.lanes; r++ {
						var want float32
						if r < nr {
							want = x[int(rows[r])*d+tt]
						}
						if got := dst[tt*s.lanes+r]; got != want {
							t.Fatalf("%s d=%d rows=%d: dst[%d·L+%d] = %g, want %g", s.name, d, nr, tt, r, got, want)
						}
					}
				}
			}
		}
	}
}

// panelRef is the float64 reference of e = ‖x_r‖² + ‖c_j‖² − 2x_r·c_j.
func panelRef(x, c []float32, r, j, d int) (e, scale float64) {
	var g, xn, cn float64
	for t := 0; t < d; t++ {
		a, b := float64(x[r*d+t]), float64(c[j*d+t])
		g += a * b
		xn += a * a
		cn += b * b
	}
	return xn + cn - 2*g, xn + cn
}

// TestPanelModes runs every epilogue of every path's panel kernel against
// the float64 reference, over several candidate panels and an odd d.
func TestPanelModes(t *testing.T) {
	for _, s := range simdPaths {
		for _, d := range []int{1, 5, 16, 37} {
			L, C, np := s.lanes, s.cands, 3
			m := np * C
			x, c := randRows(L, d, 1), randRows(m, d, 2)
			for i := range c[:d] {
				c[i] = x[d+i] // candidate 0 equals lane 1: a near-zero distance
			}
			rows := make([]int32, L)
			for r := range rows {
				rows[r] = int32(r)
			}
			xt := make([]float32, L*d)
			s.packRows(xt, x, d, rows, make([]*float32, L), make([]float32, d))
			xn, cn := make([]float32, L), make([]float32, m)
			for r := range xn {
				xn[r] = float32(sqNorm(x[r*d : (r+1)*d]))
			}
			for j := range cn {
				cn[j] = float32(sqNorm(c[j*d : (j+1)*d]))
			}
			cands, _ := s.candTable(c, m, d, cn, 0, nil)
			args := func(mode int) panelArgs {
				return panelArgs{xt: &xt[0], cands: &cands[0], cn: &cn[0], xn: &xn[0], d: d, np: np, mode: mode, ldo: 4 * L}
			}

			out := make([]float32, m*L)
			a := args(modeStore)
			a.out = unsafe.Pointer(&out[0])
			s.panel(&a)
			for j := 0; j < m; j++ {
				for r := 0; r < L; r++ {
					want, scale := panelRef(x, c, r, j, d)
					if got := float64(out[j*L+r]); math.Abs(got-want) > 1e-5*scale {
						t.Fatalf("%s d=%d store: e[%d][%d] = %g, want %g", s.name, d, j, r, got, want)
					}
				}
			}

			var st panelState
			st.reset()
			a = args(modeAssign)
			a.out, a.j0 = unsafe.Pointer(&st), 100
			s.panel(&a)
			for r := 0; r < L; r++ {
				best, second, bestJ := math.Inf(1), math.Inf(1), -1
				for j := 0; j < m; j++ {
					if e := float64(out[j*L+r]); e < best {
						best, second, bestJ = e, best, j
					} else if e < second {
						second = e
					}
				}
				if st.idx[r] != int32(100+bestJ) || float64(st.best[r]) != best || float64(st.second[r]) != second {
					t.Fatalf("%s d=%d assign lane %d: (%d, %g, %g), want (%d, %g, %g)", s.name, d, r, st.idx[r], st.best[r], st.second[r], 100+bestJ, best, second)
				}
			}

			thr := make([]float32, L)
			for r := range thr {
				thr[r] = out[r%m*L+r] // lane r's distance to candidate r mod m
			}
			masks := make([]uint32, m)
			a = args(modeMask)
			a.thr, a.mask = &thr[0], &masks[0]
			s.panel(&a)
			for j := 0; j < m; j++ {
				for r := 0; r < L; r++ {
					want := out[j*L+r] <= thr[r]
					if got := masks[j]>>r&1 == 1; got != want {
						t.Fatalf("%s d=%d mask[%d] lane %d = %v, want %v", s.name, d, j, r, got, want)
					}
				}
			}

			roots := make([]float32, m*L)
			a = args(modeSqrt)
			a.out, a.mask, a.nz = unsafe.Pointer(&roots[0]), &masks[0], nearZero
			s.panel(&a)
			for j := 0; j < m; j++ {
				for r := 0; r < L; r++ {
					e := out[j*L+r]
					if want := float32(math.Sqrt(float64(max(e, 0)))); roots[j*L+r] != want {
						t.Fatalf("%s d=%d sqrt[%d][%d] = %g, want %g", s.name, d, j, r, roots[j*L+r], want)
					}
					wantNZ := e < nearZero*(xn[r]+cn[j])
					if got := masks[j]>>r&1 == 1; got != wantNZ {
						t.Fatalf("%s d=%d near-zero mask[%d] lane %d = %v, want %v", s.name, d, j, r, got, wantNZ)
					}
				}
			}
			if masks[0]>>1&1 != 1 && d > 1 {
				t.Errorf("%s d=%d: a zero distance was not flagged near zero", s.name, d)
			}
		}
	}
}

// TestReductions checks the float64 helpers of every path against scalar
// loops: addRows and sumRows must match bit for bit (same order of
// additions), sqDist and segSum to rounding.
func TestReductions(t *testing.T) {
	paths := append([]*simd{nil}, simdPaths...)
	for _, s := range paths {
		for _, d := range []int{1, 7, 8, 16, 45, 100} {
			n, k := 300, 5
			x := randRows(n, d, 9)
			labels := make([]int32, n)
			for i := range labels {
				labels[i] = int32(i%(k+1)) - 1
			}
			sums, want := make([]float64, k*d), make([]float64, k*d)
			s.addRows(sums, x, labels, d, 1, k)
			for i, l := range labels {
				for tt := 0; tt < d && l >= 1; tt++ {
					want[int(l)*d+tt] += float64(x[i*d+tt])
				}
			}
			if !slices.Equal(sums, want) {
				t.Fatalf("path %v d=%d: addRows differs from the scalar loop", s, d)
			}

			v := make([]float64, d)
			s.sumRows(v, x[d:], 17, d)
			for u := range v {
				var w float64
				for r := 1; r <= 17; r++ {
					w += float64(x[r*d+u])
				}
				if v[u] != w {
					t.Fatalf("path %v d=%d: sumRows[%d] = %g, want %g", s, d, u, v[u], w)
				}
			}

			seg := make([]float64, 9)
			a, b := d/3, d
			s.segSum(seg, x, d, a, b)
			for r := range seg {
				var w float64
				for u := a; u < b; u++ {
					w += float64(x[r*d+u])
				}
				if math.Abs(seg[r]-w) > 1e-12*float64(d) {
					t.Fatalf("path %v d=%d: segSum[%d] = %g, want %g", s, d, r, seg[r], w)
				}
			}

			got := s.exactSqDist(x[:d], x[d:2*d])
			var ref float64
			for tt := 0; tt < d; tt++ {
				e := float64(x[tt]) - float64(x[d+tt])
				ref += e * e
			}
			if math.Abs(got-ref) > 1e-12*ref {
				t.Fatalf("path %v d=%d: exactSqDist = %g, want %g", s, d, got, ref)
			}
		}
	}
}

// TestRoundRobin checks that the silhouette schedule pairs every two blocks
// exactly once and never uses a block twice in a round.
func TestRoundRobin(t *testing.T) {
	for nb := 0; nb <= 9; nb++ {
		seen := map[[2]int]int{}
		for r := range rounds(nb) {
			round := roundPairs(nb, r, nil)
			used := map[int]bool{}
			for _, p := range round {
				if p[0] >= p[1] || p[1] >= nb || used[p[0]] || used[p[1]] {
					t.Fatalf("nb=%d: bad pair %v in round %v", nb, p, round)
				}
				used[p[0]], used[p[1]] = true, true
				seen[p]++
			}
		}
		if len(seen) != nb*(nb-1)/2 {
			t.Fatalf("nb=%d: %d distinct pairs, want %d", nb, len(seen), nb*(nb-1)/2)
		}
		for p, c := range seen {
			if c != 1 {
				t.Fatalf("nb=%d: pair %v appears %d times", nb, p, c)
			}
		}
	}
}

// TestSIMDPathsAgree checks that the AVX-512 and AVX2 paths give the same
// bits for everything built on the panel kernels. They should: each
// distance is the same chain of FMAs over the features, both epilogues
// round s − 2g once, and the float64 helpers fold in the same order, so
// this cross-checks two independent kernels far more tightly than the
// tolerances do. (The skinny Distances kernels sum 16 and 8 lanes
// respectively, so they agree only to rounding; TestSkinnyDistances covers
// them.)
func TestSIMDPathsAgree(t *testing.T) {
	if len(simdPaths) < 2 {
		t.Skip("needs both the AVX-512 and the AVX2 path")
	}
	n, d, k := 1000, 37, 23
	x := randRows(n, d, 5)
	c := randRows(k, d, 6)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i%(k+2)) - 2
	}
	type result struct {
		labels []int32
		dist   []float32
		knn    []int32
		knnD   []float32
		cds    []float64
	}
	run := func(name string) result {
		b, err := NewChecked(Options{Kernel: name})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := b.Upload(x, n, d)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := result{labels: make([]int32, n), dist: make([]float32, n),
			knn: make([]int32, n*7), knnD: make([]float32, n*7), cds: make([]float64, n*k)}
		if err := b.Assign(ctx, ds, c, k, r.labels, r.dist); err != nil {
			t.Fatal(err)
		}
		if err := b.KNN(ctx, ds, 7, r.knn, r.knnD); err != nil {
			t.Fatal(err)
		}
		if err := b.ClusterDistanceSums(ctx, ds, labels, k, r.cds); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(simdPaths[0].name), run(simdPaths[1].name)
	if !slices.Equal(a.labels, b.labels) || !slices.Equal(a.dist, b.dist) {
		t.Error("Assign differs")
	}
	if !slices.Equal(a.knn, b.knn) || !slices.Equal(a.knnD, b.knnD) {
		t.Error("KNN differs")
	}
	if !slices.Equal(a.cds, b.cds) {
		t.Error("ClusterDistanceSums differs")
	}
}

// TestSkinnyDistances checks the skinny kernels on every tail shape: d
// around the vector widths and every m up to skinnyMax.
func TestSkinnyDistances(t *testing.T) {
	for _, s := range simdPaths {
		for _, d := range []int{1, 7, 8, 9, 15, 16, 17, 33} {
			for m := 1; m <= skinnyMax; m++ {
				n := 37
				x, y := randRows(n, d, uint64(d)), randRows(m, d, uint64(m))
				b := &Backend{threads: 2, simd: s}
				ds, err := b.Upload(x, n, d)
				if err != nil {
					t.Fatal(err)
				}
				out := make([]float32, n*m+1)
				out[n*m] = 42 // must not be written
				if err := b.Distances(context.Background(), ds, y, m, out[:n*m]); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					for j := 0; j < m; j++ {
						want, scale := panelRef(x[i*d:(i+1)*d], y[j*d:(j+1)*d], 0, 0, d)
						if got := float64(out[i*m+j]); math.Abs(got-math.Max(want, 0)) > 1e-5*scale {
							t.Fatalf("%s d=%d m=%d: out[%d,%d] = %g, want %g", s.name, d, m, i, j, got, want)
						}
					}
				}
				if out[n*m] != 42 {
					t.Fatalf("%s d=%d m=%d: wrote past the output", s.name, d, m)
				}
			}
		}
	}
}
