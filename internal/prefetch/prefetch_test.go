package prefetch

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowsChangesNothing: prefetching leaves the data as it was, and rows
// outside the matrix (negative, past the end) or a zero width are skipped
// rather than read.
func TestRowsChangesNothing(t *testing.T) {
	const n, d = 10, 20
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i)
	}
	before := slices.Clone(x)
	for _, c := range []struct {
		name string
		d    int
		rows []int32
	}{
		{"every row", d, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"out of range", d, []int32{-1, n, n + 1000, 1 << 30}},
		{"zero width", 0, []int32{0, 1}},
		{"no rows", d, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			Rows(x, c.d, c.rows)
			if !slices.Equal(x, before) {
				t.Fatal("the data changed")
			}
		})
	}
}

// BenchmarkRandomRows copies 1,024 rows drawn at random from 2²⁰ × 128
// float32 (512 MiB, far more than the caches) and measures each copy's
// squared distance to a fixed point, as a mini-batch does (the bound test
// of package minibatch), with and without prefetching 8 rows ahead.
// Reports ns per row. A copy alone gains nothing: the processor already
// overlaps the copies of several rows; the work between copies is what
// keeps it from running ahead.
//
//	go test ./internal/prefetch -run '^$' -bench RandomRows
func BenchmarkRandomRows(b *testing.B) {
	const n, d, batch, ahead = 1 << 20, 128, 1024, 8
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	dst, c := make([]float32, batch*d), make([]float32, d)
	rows := make([]int32, batch)
	var sink float64
	for _, pre := range []bool{false, true} {
		name := "copy"
		if pre {
			name = "prefetch and copy"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				for i := range rows {
					rows[i] = int32(rng.IntN(n))
				}
				b.StartTimer()
				if pre {
					Rows(x, d, rows[:ahead])
				}
				for q, r := range rows {
					if pre && q+ahead < batch {
						Rows(x, d, rows[q+ahead:q+ahead+1])
					}
					row := dst[q*d : (q+1)*d]
					copy(row, x[int(r)*d:(int(r)+1)*d])
					for t, v := range row {
						e := float64(v) - float64(c[t])
						sink += e * e
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
		})
	}
	if sink < 0 {
		b.Fatal("negative sum of squares")
	}
}
