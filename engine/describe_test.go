package engine_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/engine"
)

// TestDescribe: clusters of given labels, against a brute-force
// computation of each definition in float64 (means, per-feature medians,
// the member with the least total distance, mean squared distance to the
// centroid, cosine similarities); rows labelled −1 are left out. Tolerance
// 1e-5 relative: the engine sums in float64 but stores float32 centroids.
func TestDescribe(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n, d, k := 60, 3, 3
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*2 + float64(i%d))
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i%4) - 1 // −1, 0, 1, 2
	}
	in := engine.Input{X: x, N: n, D: d}
	members := make([][]int, k)
	for i, l := range labels {
		if l >= 0 {
			members[l] = append(members[l], i)
		}
	}
	row := func(i int) []float64 {
		out := make([]float64, d)
		for t := range out {
			out[t] = float64(x[i*d+t])
		}
		return out
	}
	dist := func(a, b []float64) float64 {
		var s float64
		for t := range a {
			s += (a[t] - b[t]) * (a[t] - b[t])
		}
		return math.Sqrt(s)
	}
	want := map[string]func(rows []int) []float64{
		"mean": func(rows []int) []float64 {
			c := make([]float64, d)
			for _, i := range rows {
				for t, v := range row(i) {
					c[t] += v / float64(len(rows))
				}
			}
			return c
		},
		"median": func(rows []int) []float64 {
			c := make([]float64, d)
			for t := range c {
				var vals []float64
				for _, i := range rows {
					vals = append(vals, row(i)[t])
				}
				slices.Sort(vals)
				m := len(vals)
				c[t] = vals[m/2]
				if m%2 == 0 {
					c[t] = (vals[m/2-1] + vals[m/2]) / 2
				}
			}
			return c
		},
		"medoid": func(rows []int) []float64 {
			best, bestSum := -1, math.Inf(1)
			for _, i := range rows {
				var s float64
				for _, j := range rows {
					s += dist(row(i), row(j))
				}
				if s < bestSum {
					best, bestSum = i, s
				}
			}
			return row(best)
		},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-5*math.Max(1, math.Abs(b)) }
	for method, centroid := range want {
		t.Run(method, func(t *testing.T) {
			cs, sq, err := engine.Describe(context.Background(), backend(), in, labels, k, method, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != k {
				t.Fatalf("%d clusters", len(cs))
			}
			for j, c := range cs {
				wc := centroid(members[j])
				if c.ID != "cl_"+string(rune('0'+j)) || c.Members != len(members[j]) {
					t.Errorf("cluster %d: id %s, %d members", j, c.ID, c.Members)
				}
				for t2 := range wc {
					if !near(float64(c.Centroid[t2]), wc[t2]) {
						t.Errorf("cluster %d centroid[%d] = %v, want %v", j, t2, c.Centroid[t2], wc[t2])
					}
				}
				var variance, sumCos float64
				minCos := math.Inf(1)
				for _, i := range members[j] {
					e := dist(row(i), wc)
					variance += e * e / float64(len(members[j]))
					if !near(float64(sq[i]), e*e) {
						t.Errorf("row %d squared distance %v, want %v", i, sq[i], e*e)
					}
					var dot float64
					for t2, v := range row(i) {
						dot += v * wc[t2]
					}
					cos := dot / (dist(row(i), make([]float64, d)) * dist(wc, make([]float64, d)))
					sumCos += cos
					minCos = math.Min(minCos, cos)
				}
				if !near(c.Variance, variance) || !near(*c.MeanCosine, sumCos/float64(len(members[j]))) || !near(*c.MinCosine, minCos) {
					t.Errorf("cluster %d: variance %v cos %v/%v, want %v %v/%v", j, c.Variance, *c.MeanCosine, *c.MinCosine, variance, sumCos/float64(len(members[j])), minCos)
				}
			}
			for i, l := range labels {
				if l < 0 && sq[i] != -1 {
					t.Errorf("row %d left out has distance %v", i, sq[i])
				}
			}
		})
	}
	for _, bad := range [][]int32{{0, 1}, append(slices.Repeat([]int32{0}, n-1), 3)} {
		if _, _, err := engine.Describe(context.Background(), backend(), in, bad, k, "mean", 1); err == nil {
			t.Errorf("labels %v accepted", bad[len(bad)-1])
		}
	}
}
