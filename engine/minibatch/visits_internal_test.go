package minibatch

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine/algo"
)

// blobs is n points in d dimensions around k centres drawn from
// N(0, spread²), with unit noise (seeded).
func blobs(n, d, k int, spread float64, seed uint64) algo.Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = rng.NormFloat64() * spread
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(k)
		for t := 0; t < d; t++ {
			x[i*d+t] = float32(centres[c*d+t] + rng.NormFloat64())
		}
	}
	return algo.Input{X: x, N: n, D: d}
}

// TestVisitBoundsChangeNothing: the visit bounds only skip measurements,
// so a fit with them gives the labels, centroids and inertia of a fit that
// measures every drawn row, while most rows drawn again are not measured.
// The cases cover folded epochs (more steps than maxEpochs epochs) and
// reassigned centres (a high reassignment_ratio).
func TestVisitBoundsChangeNothing(t *testing.T) {
	cases := []struct {
		name        string
		n, d, k     int
		spread      float64
		batch, iter int
		reassign    float64
		minKept     float64 // least part of the non-first measurements kept
	}{
		{"separated", 30000, 8, 40, 4, 256, 4, 0.01, 0.5},
		{"overlapping", 30000, 16, 60, 1, 512, 4, 0.01, 0.2},
		{"reassigning", 20000, 8, 30, 3, 128, 3, 0.5, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := blobs(tc.n, tc.d, tc.k, tc.spread, 7)
			fit := func(on bool) (*algo.Fitted, *visitBounds) {
				visitBoundsOn = on
				defer func() { visitBoundsOn = true }()
				r := &algo.State{In: in, Backend: cpu.New(cpu.Options{}), Phases: &algo.Phases{}}
				var err error
				if r.DS, err = r.Backend.Upload(in.X, in.N, in.D); err != nil {
					t.Fatal(err)
				}
				defer r.DS.Close()
				m := &Algorithm{p: Params{NClusters: tc.k, Init: "k-means++", MaxIter: tc.iter, BatchSize: tc.batch, NInit: 1,
					ReassignmentRatio: tc.reassign, Seed: 3}}
				f, vb, err := m.fit(t.Context(), r)
				if err != nil {
					t.Fatal(err)
				}
				return f, vb
			}
			with, vb := fit(true)
			without, none := fit(false)
			if none != nil || vb == nil {
				t.Fatal("visitBoundsOn does not switch the bounds")
			}
			if !slices.Equal(with.Labels, without.Labels) {
				diff := 0
				for i := range with.Labels {
					if with.Labels[i] != without.Labels[i] {
						diff++
					}
				}
				t.Fatalf("%d of %d labels differ with the bounds", diff, len(with.Labels))
			}
			if !slices.Equal(with.Centroids, without.Centroids) || *with.Inertia != *without.Inertia {
				t.Fatalf("centroids or inertia differ: %v against %v", *with.Inertia, *without.Inertia)
			}
			if vb.first == 0 {
				t.Errorf("no epoch was folded (%d epochs): the case does not cover folding", vb.current()+1)
			}
			if tc.reassign > 0.1 && len(vb.jumps) == 0 {
				t.Errorf("no centre was reassigned: the case does not cover jumps")
			}
			// Every row is measured once at least (the first time it is
			// drawn, or at the end); the rest is what the bounds can save.
			again := vb.kept + vb.measured - int64(tc.n)
			if got := float64(vb.kept) / float64(again); got < tc.minKept {
				t.Errorf("kept %d of %d rows measured before (%.2f), want at least %.2f", vb.kept, again, got, tc.minKept)
			}
			t.Logf("kept %d, measured %d, epochs %d, reassigned %d", vb.kept, vb.measured, vb.current()+1, len(vb.jumps))
		})
	}
}
