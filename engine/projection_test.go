package engine_test

import (
	"math"
	"testing"

	"github.com/clusterd/clusterd/engine"
)

// TestProjectionFindsTheLongAxis: points spread mostly along (1,1,0)/√2 and
// a little along z must project with the long axis first.
func TestProjectionFindsTheLongAxis(t *testing.T) {
	var x []float32
	for i := 0; i < 500; i++ {
		a := float32(i-250) / 10 // large spread
		b := float32(i%7-3) / 10 // small spread
		x = append(x, a+5, a+5, b)
	}
	p, err := engine.FitProjection(x, 500, 3, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Transform(x, 500)
	for i := 0; i < 500; i++ {
		want := (float64(i-250)/10 + 0.05) * math.Sqrt2 // centred: the mean of a is -0.05
		if math.Abs(float64(c[i*3])-want) > 1e-3 {
			t.Fatalf("row %d: first coordinate %v, want %v", i, c[i*3], want)
		}
		if math.Abs(float64(c[i*3+1])) > 0.31 {
			t.Fatalf("row %d: second coordinate %v too large", i, c[i*3+1])
		}
	}
	// Two dimensions only: the third axis projects to zero.
	p2, _ := engine.FitProjection([]float32{0, 1, 2, 3, 4, 6}, 3, 2, 3, 1)
	if out := p2.Transform([]float32{1, 1}, 1); out[2] != 0 {
		t.Fatalf("third coordinate %v for 2-D data", out[2])
	}
}
