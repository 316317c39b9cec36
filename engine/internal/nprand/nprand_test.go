package nprand

import (
	"slices"
	"testing"
)

// TestAgainstNumpy compares with numpy 1.24's RandomState(42) (values
// printed by /usr/bin/python3 -c "import numpy as np; r=np.random.RandomState(42); ...").
func TestAgainstNumpy(t *testing.T) {
	r := New(42)
	// r.random_sample(3)
	want := []float64{0.3745401188473625, 0.9507143064099162, 0.7319939418114051}
	for i, w := range want {
		if g := r.Float64(); g != w {
			t.Fatalf("draw %d: %v, numpy's %v", i, g, w)
		}
	}
	// then r.randint(1000), r.choice(10, 4, replace=False)
	if g := r.Intn(1000); g != wantInt {
		t.Errorf("randint %d, numpy's %d", g, wantInt)
	}
	if g := r.Choice(10, 4); !slices.Equal(g, wantChoice) {
		t.Errorf("choice %v, numpy's %v", g, wantChoice)
	}
}

var (
	wantInt    = 700
	wantChoice = []int{9, 7, 0, 3}
)
