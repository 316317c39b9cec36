package gpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/kernels"
)

const gib = 1 << 30

func TestChunkRows(t *testing.T) {
	cases := []struct {
		name string
		got  func() (int, error)
		want int
		err  error
	}{
		// 140 GB free: the whole of a small problem fits in one chunk.
		{"knn small", func() (int, error) { return knnChunkRows(5003, 40, 131, 140*gib) }, 5003, nil},
		// n = 1e6: a row needs 4 MB of distances; the work bound
		// (2^38 / (1e6·768) = 357 rows) binds, rounded down to 128.
		{"knn 1e6 work-bound", func() (int, error) { return knnChunkRows(1_000_000, 15, 768, 140*gib) }, 256, nil},
		// 1 GiB free: budget 0.8 GiB − 256 MiB ≈ 563 MB / 4 MB a row → 140 rows → 128.
		{"knn 1e6 memory-bound", func() (int, error) { return knnChunkRows(1_000_000, 15, 8, 1*gib) }, 128, nil},
		// Fewer rows than a tile fit: no rounding.
		{"knn tight", func() (int, error) { return knnChunkRows(100_000_000, 15, 1, 1*gib) }, 1, nil},
		{"knn does not fit", func() (int, error) { return knnChunkRows(1_000_000_000, 15, 1, 1*gib) }, 0, kernels.ErrUnsupported},
		{"knn no free memory", func() (int, error) { return knnChunkRows(10, 1, 1, 100<<20) }, 0, kernels.ErrUnsupported},
		{"distances few points", func() (int, error) { return distChunkRows(1_000_000, 8, 768, 140*gib) }, 1_000_000, nil},
		{"distances grid-bound", func() (int, error) { return distChunkRows(20_000_000, 1, 1, 140*gib) }, maxGridYZ * tileM, nil},
		{"cds work-bound", func() (int, error) { return cdsChunkRows(20_000, 20_000, 100, 768, 140*gib) }, 17856, nil},
		{"cds small", func() (int, error) { return cdsChunkRows(300, 290, 40, 8, 140*gib) }, 300, nil},
	}
	for _, c := range cases {
		got, err := c.got()
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

// TestPlanSums checks the segmented reduction's plan against the plain
// loop: pieces of at most sumChunk rows of one label, each cluster's pieces
// contiguous and in row order, exact counts.
func TestPlanSums(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, k int }{{1, 1}, {1000, 1}, {5003, 257}, {20000, 3}, {700, 2000}} {
		labels := make([]int32, tc.n)
		for i := range labels {
			labels[i] = int32(r.IntN(tc.k+1)) - 1 // some noise
			if tc.k > 2 && labels[i]%3 == 2 {
				labels[i] = -1 // and empty clusters
			}
		}
		p := planSums(labels, tc.k)
		counts := make([]int64, tc.k)
		want := make([][]int32, tc.k) // rows of each cluster in order
		for i, l := range labels {
			if l >= 0 {
				counts[l]++
				want[l] = append(want[l], int32(i))
			}
		}
		if !slices.Equal(p.counts, counts) {
			t.Fatalf("n=%d k=%d: counts differ", tc.n, tc.k)
		}
		if len(p.first) != tc.k+1 || p.first[tc.k] != int32(p.numPieces()) || p.pieces[p.numPieces()] != int32(len(p.order)) {
			t.Fatalf("n=%d k=%d: malformed plan", tc.n, tc.k)
		}
		for l := range tc.k {
			var got []int32
			for c := p.first[l]; c < p.first[l+1]; c++ {
				piece := p.order[p.pieces[c]:p.pieces[c+1]]
				if len(piece) == 0 || len(piece) > sumChunk {
					t.Fatalf("n=%d k=%d: piece %d has %d rows", tc.n, tc.k, c, len(piece))
				}
				got = append(got, piece...)
			}
			if !slices.Equal(got, want[l]) {
				t.Fatalf("n=%d k=%d: cluster %d has rows %v, want %v", tc.n, tc.k, l, got, want[l])
			}
		}
	}
}

func TestFlaggedRows(t *testing.T) {
	flags := []byte{tieNone, tieFull, tiePair, tieNone, tieFull, tieFull, tiePair}
	if got := flaggedRows(flags, tieFull); !slices.Equal(got, []int32{1, 4, 5}) {
		t.Errorf("flaggedRows = %v", got)
	}
	if pairs, full := countFlags(flags); pairs != 2 || full != 3 {
		t.Errorf("countFlags = %d, %d", pairs, full)
	}
	if got := flaggedRows(make([]byte, 10), tieFull); len(got) != 0 {
		t.Errorf("flaggedRows(zeros) = %v", got)
	}
}

// TestMaxSqNorm checks that the bound is the largest norm, never rounded
// below it (a smaller cmax2 would make the tie test too strict).
func TestTF32Norms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		k, d := 1+r.IntN(20), 1+r.IntN(50)
		c := make([]float32, k*d)
		for i := range c {
			c[i] = float32(r.NormFloat64() * 100)
		}
		norms, cmax := tf32Norms(c, k, d)
		var want float64
		for j := range k {
			var s float64
			for _, v := range c[j*d : (j+1)*d] {
				// tf32 keeps the top 10 mantissa bits: the rounded value is
				// within 2⁻¹¹ relative of v and has 13 zero low bits.
				rv := roundTF32(v)
				if math.Float32bits(rv)&0x1fff != 0 || math.Abs(float64(rv-v)) > math.Ldexp(math.Abs(float64(v)), -11) {
					t.Fatalf("roundTF32(%g) = %g", v, rv)
				}
				s += float64(rv) * float64(rv)
			}
			if math.Abs(float64(norms[j])-s) > 1e-7*s {
				t.Fatalf("norm %d = %g, want %g", j, norms[j], s)
			}
			want = math.Max(want, math.Sqrt(s))
		}
		if float64(cmax) < want || float64(cmax) > want*(1+1e-6) {
			t.Fatalf("cmax = %g, want ≥ %g", cmax, want)
		}
	}
	// Ties round away from zero, as cvt.rna does.
	for _, c := range []struct{ in, want uint32 }{{0x3f801000, 0x3f802000}, {0xbf801000, 0xbf802000}, {0x3f800fff, 0x3f800000}} {
		if got := math.Float32bits(roundTF32(math.Float32frombits(c.in))); got != c.want {
			t.Errorf("roundTF32(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

func TestSortNeighbours(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, k = 7, 1300
	idx, dist := make([]int32, n*k), make([]float32, n*k)
	for i := range idx {
		idx[i] = int32(i % k)
		dist[i] = float32(r.IntN(50)) // many ties, broken by index
	}
	for row := range n {
		r.Shuffle(k, func(a, b int) {
			a, b = row*k+a, row*k+b
			idx[a], idx[b] = idx[b], idx[a]
			dist[a], dist[b] = dist[b], dist[a]
		})
	}
	sortNeighbours(idx, dist, n, k)
	for row := range n {
		for q := 1; q < k; q++ {
			a, b := row*k+q-1, row*k+q
			if dist[a] > dist[b] || (dist[a] == dist[b] && idx[a] >= idx[b]) {
				t.Fatalf("row %d: (%g,%d) before (%g,%d)", row, dist[a], idx[a], dist[b], idx[b])
			}
		}
	}
}
