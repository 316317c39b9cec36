// Package conformance is the shared test suite every kernels.Backend runs.
//
// A backend's own test file calls it with one line:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, func(testing.TB) kernels.Backend { return cpu.New(cpu.Options{}) }) }
//
// Every check compares the backend with a float64 reference of the plain loop
// stated in the kernels.Backend documentation, within the tolerances stated
// there, over a grid of shapes chosen to cross tile boundaries (odd n, d and
// k), to hit the edge cases (k = 1, k = n, duplicate points, empty clusters,
// noise labels) and to be large enough that a parallel backend uses every
// core. Inputs come from fixed seeds, so a failure reproduces.
package conformance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/clusterd/clusterd/kernels"
)

// Factory makes a fresh backend. The suite calls it again after changing
// GOMAXPROCS, so a backend that sizes its worker pool at construction is
// checked at several core counts.
type Factory func(tb testing.TB) kernels.Backend

// Case is one shape of the grid.
type Case struct {
	Name string
	N, D int
	K    int // centroids for Assign/Distances, clusters for the reductions
	// Dup, when > 0, makes the data contain only Dup distinct rows.
	Dup int
	// Offset is added to every coordinate, to exercise the cancellation in
	// ‖x‖² − 2x·c + ‖c‖² when the data sit far from the origin.
	Offset float32
}

// Grid is the shared size grid.
var Grid = []Case{
	{Name: "n1_d1_k1", N: 1, D: 1, K: 1},
	{Name: "k1", N: 1000, D: 17, K: 1},
	{Name: "k_equals_n", N: 300, D: 8, K: 300},
	{Name: "duplicates", N: 2000, D: 32, K: 16, Dup: 37},
	{Name: "odd_tiles", N: 5003, D: 131, K: 257},
	{Name: "wide", N: 777, D: 768, K: 100},
	{Name: "offset", N: 1500, D: 64, K: 20, Offset: 100},
	{Name: "small_d", N: 4099, D: 3, K: 33},
	// d a multiple of 4 but not of 8: the gpu kernels' 128-bit loads
	// (load_span) end in the middle of a stage.
	{Name: "quad_tail", N: 2000, D: 36, K: 130},
}

// Run runs every check of the suite on every case of Grid.
func Run(t *testing.T, f Factory) {
	t.Run("Assign", func(t *testing.T) { TestAssign(t, f) })
	t.Run("AssignSubset", func(t *testing.T) { TestAssignSubset(t, f) })
	t.Run("SumByLabel", func(t *testing.T) { TestSumByLabel(t, f) })
	t.Run("Distances", func(t *testing.T) { TestDistances(t, f) })
	t.Run("LabelDistances", func(t *testing.T) { TestLabelDistances(t, f) })
	t.Run("KNN", func(t *testing.T) { TestKNN(t, f) })
	t.Run("ClusterDistanceSums", func(t *testing.T) { TestClusterDistanceSums(t, f) })
	t.Run("ShapeErrors", func(t *testing.T) { TestShapeErrors(t, f) })
	t.Run("Canceled", func(t *testing.T) { TestCanceled(t, f) })
	t.Run("CoreCountIndependent", func(t *testing.T) { TestCoreCountIndependent(t, f) })
}

// Data returns the case's n×d matrix from a fixed seed: Gaussian blobs around
// K centres so that assignments are meaningful, with duplicates and an offset
// when the case asks for them.
func Data(c Case, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, uint64(c.N)*31+uint64(c.D)))
	centres := make([]float32, c.K*c.D)
	for i := range centres {
		centres[i] = float32(r.NormFloat64() * 3)
	}
	distinct := c.N
	if c.Dup > 0 {
		distinct = c.Dup
	}
	x := make([]float32, c.N*c.D)
	for i := 0; i < c.N; i++ {
		if i >= distinct {
			src := r.IntN(distinct)
			copy(x[i*c.D:(i+1)*c.D], x[src*c.D:(src+1)*c.D])
			continue
		}
		ctr := r.IntN(c.K)
		for t := 0; t < c.D; t++ {
			x[i*c.D+t] = centres[ctr*c.D+t] + float32(r.NormFloat64()) + c.Offset
		}
	}
	return x
}

// centroidsFor picks k centroids: rows of x when k == n (so every distance
// to the own row is zero), perturbed rows otherwise.
func centroidsFor(c Case, x []float32, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	cent := make([]float32, c.K*c.D)
	for j := 0; j < c.K; j++ {
		src := j
		if c.K != c.N {
			src = r.IntN(c.N)
		}
		for t := 0; t < c.D; t++ {
			v := x[src*c.D+t]
			if c.K != c.N {
				v += float32(r.NormFloat64() * 0.5)
			}
			cent[j*c.D+t] = v
		}
	}
	return cent
}

func sqDist64(a, b []float32) float64 {
	var s float64
	for t := range a {
		e := float64(a[t]) - float64(b[t])
		s += e * e
	}
	return s
}

func sqNorm64(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return s
}

func upload(tb testing.TB, b kernels.Backend, x []float32, n, d int) kernels.Dataset {
	tb.Helper()
	ds, err := b.Upload(x, n, d)
	if err != nil {
		tb.Fatalf("Upload(%d×%d): %v", n, d, err)
	}
	tb.Cleanup(func() {
		if err := ds.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return ds
}

// distTol is the Assign tolerance of the kernels.Backend contract.
func distTol(xi, cj []float32) float64 { return 1e-5 * (sqNorm64(xi) + sqNorm64(cj)) }

// checkNearest verifies one row's (label, dist2) against the float64 loop.
func checkNearest(t *testing.T, xi, cent []float32, k, d int, label int32, dist float32, what string) {
	t.Helper()
	best, bestD, secondD := -1, math.Inf(1), math.Inf(1)
	for j := 0; j < k; j++ {
		e := sqDist64(xi, cent[j*d:(j+1)*d])
		if e < bestD {
			best, secondD, bestD = j, bestD, e
		} else if e < secondD {
			secondD = e
		}
	}
	if label < 0 || int(label) >= k {
		t.Fatalf("%s: label %d out of [0,%d)", what, label, k)
	}
	got := sqDist64(xi, cent[int(label)*d:(int(label)+1)*d])
	tol := distTol(xi, cent[best*d:(best+1)*d])
	if int(label) != best && got-bestD > tol {
		t.Fatalf("%s: label %d (dist %g), reference %d (dist %g, second %g), tol %g", what, label, got, best, bestD, secondD, tol)
	}
	if math.Abs(float64(dist)-bestD) > tol {
		t.Fatalf("%s: dist2 %g, reference %g, tol %g", what, dist, bestD, tol)
	}
}

// TestAssign checks Backend.Assign on every case of the grid.
func TestAssign(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		t.Run(c.Name, func(t *testing.T) {
			x := Data(c, 1)
			cent := centroidsFor(c, x, 2)
			_, dist := assignChecked(t, b, c, x, cent)
			if c.K == c.N && c.Dup == 0 {
				// Every row is a centroid: its own distance is exactly the minimum.
				for i := 0; i < c.N; i++ {
					if dist[i] > float32(distTol(x[i*c.D:(i+1)*c.D], x[i*c.D:(i+1)*c.D])) {
						t.Fatalf("row %d: distance to itself %g", i, dist[i])
					}
				}
			}
		})
	}
	t.Run("tied_centroids", func(t *testing.T) { testTiedCentroids(t, b) })
}

// testTiedCentroids checks the tie rule of Assign: every centroid comes
// twice (2j and 2j+1 are equal), so every row's nearest distance is an
// exact tie and its label must be the even one of the pair. k spans more
// than one 128-wide tile, so the copies of a pair can meet in different
// threads and tiles.
func testTiedCentroids(t *testing.T, b kernels.Backend) {
	c := Case{N: 3001, D: 37, K: 130}
	x := Data(c, 5)
	half := centroidsFor(Case{N: c.N, D: c.D, K: c.K / 2}, x, 6)
	cent := make([]float32, 0, c.K*c.D)
	for j := 0; j < c.K/2; j++ {
		row := half[j*c.D : (j+1)*c.D]
		cent = append(append(cent, row...), row...)
	}
	labels, _ := assignChecked(t, b, c, x, cent)
	for i, l := range labels {
		if l%2 != 0 {
			t.Fatalf("row %d: label %d, but centroid %d is identical and the lower index wins a tie", i, l, l-1)
		}
	}
}

// assignChecked runs Assign of the case's data x to cent and checks every
// row against the float64 loop (checkNearest).
func assignChecked(t *testing.T, b kernels.Backend, c Case, x, cent []float32) ([]int32, []float32) {
	t.Helper()
	ds := upload(t, b, x, c.N, c.D)
	labels := make([]int32, c.N)
	dist := make([]float32, c.N)
	if err := b.Assign(context.Background(), ds, cent, c.K, labels, dist); err != nil {
		t.Fatalf("Assign: %v", err)
	}
	for i := 0; i < c.N; i++ {
		checkNearest(t, x[i*c.D:(i+1)*c.D], cent, c.K, c.D, labels[i], dist[i], "row "+itoa(i))
	}
	return labels, dist
}

// TestAssignSubset checks the optional kernels.SubsetAssigner fast path; it
// is skipped for backends that do not implement it.
func TestAssignSubset(t *testing.T, f Factory) {
	b := f(t)
	sa, ok := b.(kernels.SubsetAssigner)
	if !ok {
		t.Skipf("%s does not implement kernels.SubsetAssigner", b.Name())
	}
	for _, c := range Grid {
		t.Run(c.Name, func(t *testing.T) {
			x := Data(c, 3)
			cent := centroidsFor(c, x, 4)
			ds := upload(t, b, x, c.N, c.D)
			r := rand.New(rand.NewPCG(5, 6))
			rows := make([]int32, 0, c.N)
			for _, i := range r.Perm(c.N) {
				if i%3 != 1 { // a scattered, unordered subset
					rows = append(rows, int32(i))
				}
			}
			labels := make([]int32, len(rows))
			dist := make([]float32, len(rows))
			second := make([]float32, len(rows))
			if err := sa.AssignSubset(context.Background(), ds, rows, cent, c.K, labels, dist, second); err != nil {
				t.Fatalf("AssignSubset: %v", err)
			}
			for p, i := range rows {
				xi := x[int(i)*c.D : (int(i)+1)*c.D]
				checkNearest(t, xi, cent, c.K, c.D, labels[p], dist[p], "row "+itoa(int(i)))
				// second-best: the smallest distance over centroids other than the label.
				want := math.Inf(1)
				for j := 0; j < c.K; j++ {
					if int32(j) != labels[p] {
						want = math.Min(want, sqDist64(xi, cent[j*c.D:(j+1)*c.D]))
					}
				}
				if math.IsInf(want, 1) {
					if !math.IsInf(float64(second[p]), 1) {
						t.Fatalf("row %d: second2 %g, want +Inf for k=1", i, second[p])
					}
					continue
				}
				if tol := 1e-5 * (sqNorm64(xi) + want + 1); math.Abs(float64(second[p])-want) > tol {
					t.Fatalf("row %d: second2 %g, reference %g, tol %g", i, second[p], want, tol)
				}
			}
		})
	}
}

// labelsFor makes labels in [0,k) that leave some clusters empty and mark
// some rows as noise (−1).
func labelsFor(n, k int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 7))
	labels := make([]int32, n)
	for i := range labels {
		switch {
		case i%11 == 5:
			labels[i] = -1
		default:
			l := int32(r.IntN(k))
			if k > 2 && l%3 == 2 { // every third cluster stays empty
				l--
			}
			labels[i] = l
		}
	}
	return labels
}

// TestSumByLabel checks Backend.SumByLabel, with empty clusters and noise.
func TestSumByLabel(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		t.Run(c.Name, func(t *testing.T) {
			x := Data(c, 8)
			labels := labelsFor(c.N, c.K, 9)
			ds := upload(t, b, x, c.N, c.D)
			sums := make([]float64, c.K*c.D)
			counts := make([]int64, c.K)
			for i := range sums { // stale values must be overwritten
				sums[i] = 123
			}
			counts[0] = 77
			if err := b.SumByLabel(context.Background(), ds, labels, c.K, sums, counts); err != nil {
				t.Fatalf("SumByLabel: %v", err)
			}
			wantS := make([]float64, c.K*c.D)
			absS := make([]float64, c.K*c.D)
			wantC := make([]int64, c.K)
			for i, l := range labels {
				if l < 0 {
					continue
				}
				wantC[l]++
				for t := 0; t < c.D; t++ {
					v := float64(x[i*c.D+t])
					wantS[int(l)*c.D+t] += v
					absS[int(l)*c.D+t] += math.Abs(v)
				}
			}
			if !slices.Equal(counts, wantC) {
				t.Fatalf("counts %v, want %v", head(counts), head(wantC))
			}
			for i := range sums {
				if math.Abs(sums[i]-wantS[i]) > 1e-9*absS[i] {
					t.Fatalf("sums[%d] = %g, want %g", i, sums[i], wantS[i])
				}
			}
		})
	}
	t.Run("label_out_of_range", func(t *testing.T) {
		x := []float32{1, 2, 3, 4}
		ds := upload(t, b, x, 2, 2)
		err := b.SumByLabel(context.Background(), ds, []int32{0, 2}, 2, make([]float64, 4), make([]int64, 2))
		if err == nil {
			t.Fatal("label 2 with k=2 accepted")
		}
	})
}

// TestDistances checks Backend.Distances.
func TestDistances(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		t.Run(c.Name, func(t *testing.T) {
			m := min(c.K, 9)
			x := Data(c, 10)
			y := centroidsFor(Case{N: c.N, D: c.D, K: m}, x, 11)
			ds := upload(t, b, x, c.N, c.D)
			out := make([]float32, c.N*m)
			if err := b.Distances(context.Background(), ds, y, m, out); err != nil {
				t.Fatalf("Distances: %v", err)
			}
			for i := 0; i < c.N; i++ {
				xi := x[i*c.D : (i+1)*c.D]
				for j := 0; j < m; j++ {
					yj := y[j*c.D : (j+1)*c.D]
					want := sqDist64(xi, yj)
					if tol := distTol(xi, yj); math.Abs(float64(out[i*m+j])-want) > tol {
						t.Fatalf("out[%d,%d] = %g, want %g (tol %g)", i, j, out[i*m+j], want, tol)
					}
				}
			}
		})
	}
}

// TestLabelDistances checks Backend.LabelDistances, noise rows included.
func TestLabelDistances(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		t.Run(c.Name, func(t *testing.T) {
			x := Data(c, 19)
			cent := centroidsFor(c, x, 20)
			labels := labelsFor(c.N, c.K, 21)
			ds := upload(t, b, x, c.N, c.D)
			out := make([]float32, c.N)
			if err := b.LabelDistances(context.Background(), ds, cent, c.K, labels, out); err != nil {
				t.Fatalf("LabelDistances: %v", err)
			}
			for i, l := range labels {
				if l < 0 {
					if out[i] != -1 {
						t.Fatalf("row %d (noise): %g, want -1", i, out[i])
					}
					continue
				}
				want := sqDist64(x[i*c.D:(i+1)*c.D], cent[int(l)*c.D:(int(l)+1)*c.D])
				if math.Abs(float64(out[i])-want) > 1e-6*want+1e-30 {
					t.Fatalf("row %d: %g, want %g", i, out[i], want)
				}
			}
		})
	}
}

// TestKNN checks Backend.KNN for several k including k = 1 and k = n.
func TestKNN(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		if c.N > 3000 && c.D > 64 {
			c.N = 1200 // the reference is O(n² log n); keep the suite quick
		}
		for _, k := range []int{1, min(7, c.N), min(c.N, 40), c.N} {
			if k == c.N && c.N > 1000 {
				continue
			}
			t.Run(c.Name+"/k"+itoa(k), func(t *testing.T) {
				x := Data(c, 12)
				ds := upload(t, b, x, c.N, c.D)
				idx := make([]int32, c.N*k)
				dist := make([]float32, c.N*k)
				if err := b.KNN(context.Background(), ds, k, idx, dist); err != nil {
					t.Fatalf("KNN: %v", err)
				}
				all := make([]float64, c.N)
				for i := 0; i < c.N; i++ {
					xi := x[i*c.D : (i+1)*c.D]
					for j := 0; j < c.N; j++ {
						all[j] = sqDist64(xi, x[j*c.D:(j+1)*c.D])
					}
					sorted := slices.Clone(all)
					slices.Sort(sorted)
					seen := map[int32]bool{}
					for p := 0; p < k; p++ {
						j := idx[i*k+p]
						if j < 0 || int(j) >= c.N || seen[j] {
							t.Fatalf("row %d: neighbour %d is %d (out of range or repeated)", i, p, j)
						}
						seen[j] = true
						tol := 1e-5 * (2*sqNorm64(xi) + sorted[p] + 1e-30)
						if math.Abs(float64(dist[i*k+p])-sorted[p]) > tol {
							t.Fatalf("row %d: neighbour %d distance %g, want %g", i, p, dist[i*k+p], sorted[p])
						}
						if math.Abs(all[j]-sorted[p]) > tol {
							t.Fatalf("row %d: neighbour %d is row %d at true distance %g, want %g", i, p, j, all[j], sorted[p])
						}
						if p > 0 && dist[i*k+p] < dist[i*k+p-1] {
							t.Fatalf("row %d: neighbours not sorted at %d", i, p)
						}
					}
				}
			})
		}
	}
}

// TestClusterDistanceSums checks Backend.ClusterDistanceSums.
func TestClusterDistanceSums(t *testing.T, f Factory) {
	b := f(t)
	for _, c := range Grid {
		if c.N > 3000 {
			c.N = 2100 // the reference is O(n²·d) in float64
		}
		t.Run(c.Name, func(t *testing.T) {
			x := Data(c, 13)
			k := max(1, min(c.K, 40))
			labels := labelsFor(c.N, k, 14)
			ds := upload(t, b, x, c.N, c.D)
			out := make([]float64, c.N*k)
			if err := b.ClusterDistanceSums(context.Background(), ds, labels, k, out); err != nil {
				t.Fatalf("ClusterDistanceSums: %v", err)
			}
			scale := 0.0
			for i := 0; i < c.N; i++ {
				scale = math.Max(scale, sqNorm64(x[i*c.D:(i+1)*c.D]))
			}
			scale = math.Sqrt(scale)
			want := make([]float64, k)
			count := make([]float64, k)
			for i := 0; i < c.N; i++ {
				clear(want)
				clear(count)
				xi := x[i*c.D : (i+1)*c.D]
				for j := 0; j < c.N; j++ {
					if l := labels[j]; l >= 0 {
						want[l] += math.Sqrt(sqDist64(xi, x[j*c.D:(j+1)*c.D]))
						count[l]++
					}
				}
				for l := 0; l < k; l++ {
					tol := 1e-5*want[l] + 1e-6*scale*count[l]
					if got := out[i*k+l]; math.Abs(got-want[l]) > tol {
						t.Fatalf("out[%d,%d] = %.9g, want %.9g (tol %g)", i, l, got, want[l], tol)
					}
				}
			}
		})
	}
}

// TestShapeErrors checks that wrong lengths are rejected with ErrShape and
// nothing is written.
func TestShapeErrors(t *testing.T, f Factory) {
	b := f(t)
	x := Data(Case{N: 10, D: 3, K: 2}, 1)
	ds := upload(t, b, x, 10, 3)
	ctx := context.Background()
	cent := make([]float32, 6)
	checks := []struct {
		name string
		call func() error
	}{
		{"assign_short_labels", func() error { return b.Assign(ctx, ds, cent, 2, make([]int32, 9), make([]float32, 10)) }},
		{"assign_short_centroids", func() error { return b.Assign(ctx, ds, cent[:5], 2, make([]int32, 10), make([]float32, 10)) }},
		{"assign_k0", func() error { return b.Assign(ctx, ds, nil, 0, make([]int32, 10), make([]float32, 10)) }},
		{"sums_short", func() error {
			return b.SumByLabel(ctx, ds, make([]int32, 10), 2, make([]float64, 5), make([]int64, 2))
		}},
		{"distances_short", func() error { return b.Distances(ctx, ds, cent, 2, make([]float32, 19)) }},
		{"knn_k_too_large", func() error { return b.KNN(ctx, ds, 11, make([]int32, 110), make([]float32, 110)) }},
		{"knn_short", func() error { return b.KNN(ctx, ds, 2, make([]int32, 19), make([]float32, 20)) }},
		{"labeldist_label_too_large", func() error {
			return b.LabelDistances(ctx, ds, cent, 2, []int32{0, 1, 2, 0, 0, 0, 0, 0, 0, 0}, make([]float32, 10))
		}},
		{"sums_labels_short", func() error { return b.ClusterDistanceSums(ctx, ds, make([]int32, 9), 2, make([]float64, 20)) }},
	}
	for _, ch := range checks {
		if err := ch.call(); !errors.Is(err, kernels.ErrShape) {
			t.Errorf("%s: %v, want kernels.ErrShape", ch.name, err)
		}
	}
	if _, err := b.Upload(x, 4, 3); err == nil {
		t.Error("Upload with len(x) != n·d: no error")
	}
}

// TestCanceled checks that a canceled context stops the work with ctx.Err().
func TestCanceled(t *testing.T, f Factory) {
	b := f(t)
	c := Case{N: 3000, D: 64, K: 50}
	x := Data(c, 15)
	ds := upload(t, b, x, c.N, c.D)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.ClusterDistanceSums(ctx, ds, labelsFor(c.N, c.K, 1), c.K, make([]float64, c.N*c.K))
	if err == nil {
		t.Fatal("ClusterDistanceSums on a canceled context: no error")
	}
	if err2 := b.Assign(ctx, ds, centroidsFor(c, x, 1), c.K, make([]int32, c.N), make([]float32, c.N)); err2 == nil {
		t.Fatal("Assign on a canceled context: no error")
	}
}

// TestCoreCountIndependent checks that results are bit-for-bit the same
// whatever GOMAXPROCS is, which is what makes a seeded run reproducible on
// any machine.
func TestCoreCountIndependent(t *testing.T, f Factory) {
	c := Case{N: 6007, D: 45, K: 129}
	x := Data(c, 16)
	cent := centroidsFor(c, x, 17)
	labels := labelsFor(c.N, c.K, 18)
	type result struct {
		labels   []int32
		dist     []float32
		sums     []float64
		longSums []float64
		knn      []int32
		cds      []float64
	}
	run := func(procs int) result {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		b := f(t)
		ds := upload(t, b, x, c.N, c.D)
		ctx := context.Background()
		var r result
		r.labels, r.dist = make([]int32, c.N), make([]float32, c.N)
		if err := b.Assign(ctx, ds, cent, c.K, r.labels, r.dist); err != nil {
			t.Fatal(err)
		}
		r.sums = make([]float64, c.K*c.D)
		if err := b.SumByLabel(ctx, ds, labels, c.K, r.sums, make([]int64, c.K)); err != nil {
			t.Fatal(err)
		}
		// Rows enough for the CPU backend to sum in several chunks (of
		// 16,384 rows), more than some core counts add at once, scaled
		// over 48 binary orders so that float64 sums round and their
		// order shows.
		long := Case{N: 70_000, D: 8, K: 10}
		xLong := Data(long, 19)
		for i := range xLong {
			xLong[i] = float32(math.Ldexp(float64(xLong[i]), (i/long.D*7)%48-24))
		}
		dsLong := upload(t, b, xLong, long.N, long.D)
		r.longSums = make([]float64, long.K*long.D)
		if err := b.SumByLabel(ctx, dsLong, labelsFor(long.N, long.K, 20), long.K, r.longSums, make([]int64, long.K)); err != nil {
			t.Fatal(err)
		}
		r.knn = make([]int32, c.N*5)
		if err := b.KNN(ctx, ds, 5, r.knn, make([]float32, c.N*5)); err != nil {
			t.Fatal(err)
		}
		small := Case{N: 1500, D: c.D, K: 10}
		dsSmall := upload(t, b, x[:small.N*small.D], small.N, small.D)
		r.cds = make([]float64, small.N*small.K)
		if err := b.ClusterDistanceSums(ctx, dsSmall, labelsFor(small.N, small.K, 2), small.K, r.cds); err != nil {
			t.Fatal(err)
		}
		return r
	}
	one := run(1)
	for _, procs := range []int{2, 3, 8} {
		got := run(procs)
		if !slices.Equal(one.labels, got.labels) || !slices.Equal(one.dist, got.dist) {
			t.Errorf("GOMAXPROCS=%d: Assign differs from GOMAXPROCS=1", procs)
		}
		if !slices.Equal(one.sums, got.sums) || !slices.Equal(one.longSums, got.longSums) {
			t.Errorf("GOMAXPROCS=%d: SumByLabel differs from GOMAXPROCS=1", procs)
		}
		if !slices.Equal(one.knn, got.knn) {
			t.Errorf("GOMAXPROCS=%d: KNN differs from GOMAXPROCS=1", procs)
		}
		if !slices.Equal(one.cds, got.cds) {
			t.Errorf("GOMAXPROCS=%d: ClusterDistanceSums differs from GOMAXPROCS=1", procs)
		}
	}
}

func head[T any](s []T) []T { return s[:min(len(s), 8)] }

func itoa(i int) string { return strconv.Itoa(i) }
