package api

import (
	"math"
	"sort"
	"testing"
)

// TestPercentile compares percentile with numpy 1.24.2's np.percentile
// (default method "linear"), values computed once with
// /usr/bin/python3 -c 'import numpy as np; print(np.percentile(xs, p))';
// tolerance 1e-12.
func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		xs                 []float64
		p0, p50, p95, p100 float64
	}{
		{[]float64{3}, 3, 3, 3, 3},
		{[]float64{1, 2}, 1, 1.5, 1.95, 2},
		{[]float64{0.5, 0.1, 0.9, 0.3}, 0.1, 0.4, 0.8399999999999999, 0.9},
		{[]float64{0.013, 0.25, 1.5, 0.75, 0.02, 3.1, 0.4}, 0.013, 0.4, 2.6199999999999988, 3.1},
	} {
		xs := append([]float64{}, tc.xs...)
		sort.Float64s(xs)
		for _, c := range []struct{ p, want float64 }{{0, tc.p0}, {50, tc.p50}, {95, tc.p95}, {100, tc.p100}} {
			if got := percentile(xs, c.p); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("percentile(%v, %v) = %v, numpy says %v", tc.xs, c.p, got, c.want)
			}
		}
	}
}
