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
// reassigned centres (a high reassignment_ratio): settling, and jumping
// without settling when maxSettling centres settle already.
func TestVisitBoundsChangeNothing(t *testing.T) {
	cases := []struct {
		name        string
		n, d, k     int
		spread      float64
		batch, iter int
		reassign    float64
		settling    int     // maxSettling
		minKept     float64 // least part of the non-first measurements kept
	}{
		{"separated", 30000, 8, 40, 4, 256, 4, 0.01, 64, 0.5},
		{"overlapping", 30000, 16, 60, 1, 512, 4, 0.01, 64, 0.2},
		{"reassigning", 20000, 8, 30, 3, 128, 3, 0.5, 64, 0.1},
		{"reassigning, 2 settle", 20000, 8, 30, 3, 128, 3, 0.5, 2, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func(m int) { maxSettling = m }(maxSettling)
			maxSettling = tc.settling
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
			if tc.reassign > 0.1 && (vb.settled == 0 || len(vb.jumps) == 0) {
				t.Errorf("no centre settled and jumped: the case does not cover reassignments")
			}
			if tc.settling < tc.k && vb.unsettled == 0 {
				t.Errorf("every centre reassigned settled: the case does not cover jumps without settling")
			}
			// Every row is measured once at least (the first time it is
			// drawn, or at the end); the rest is what the bounds can save.
			again := vb.kept + vb.measured - int64(tc.n)
			if got := float64(vb.kept) / float64(again); got < tc.minKept {
				t.Errorf("kept %d of %d rows measured before (%.2f), want at least %.2f", vb.kept, again, got, tc.minKept)
			}
			t.Logf("kept %d, measured %d, epochs %d, settled %d, jumped without settling %d", vb.kept, vb.measured, vb.current()+1, vb.settled, vb.unsettled)
		})
	}
}

// TestReassignedCentreChecked: a row measured before a centre was
// reassigned is kept only while that centre, wherever it moved since, is
// no nearer than the row's own, whether the centre settles (its moves its
// own) or jumps without settling (its moves in the epoch's drift). Two
// dimensions, centres at (0,0), (21,0) and (−21,0); the row at (1,0) has
// centre 0 at distance 1 and every other at 20 or more. Centre 2 is
// reassigned to "to", then moves to "where".
func TestReassignedCentreChecked(t *testing.T) {
	cases := []struct {
		name      string
		settling  int
		to, where [2]float32
		kept      bool
	}{
		{"settling, stays far", 64, [2]float32{100, 100}, [2]float32{60, 60}, true},
		{"settling, comes nearer than the row's centre", 64, [2]float32{100, 100}, [2]float32{1.5, 0.1}, false},
		{"settling, comes near but not nearer", 64, [2]float32{100, 100}, [2]float32{2.5, 0}, true},
		{"jumping far, moving a little", 0, [2]float32{100, 100}, [2]float32{99, 99}, true},
		// Its move widens every row's slack: the row is measured.
		{"jumping far, moving far", 0, [2]float32{100, 100}, [2]float32{60, 60}, false},
		{"jumping near but not nearer", 0, [2]float32{2.5, 0}, [2]float32{2.5, 0}, true},
		{"jumping nearer than the row's centre", 0, [2]float32{0.9, 0.1}, [2]float32{0.9, 0.1}, false},
		// Its move (13.5) leaves the row's other centres beyond the row's
		// bound less the drift; the row must still be checked against it.
		{"jumping, then moving nearer than the row's centre", 0, [2]float32{15, 0}, [2]float32{1.5, 0.1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func(m int) { maxSettling = m }(maxSettling)
			maxSettling = tc.settling
			centers := []float32{0, 0, 21, 0, -21, 0}
			x := []float32{1, 0}
			vb := newVisitBounds(1, 3, 2, 1, centers)
			vb.record(0, 0, 1, 400)
			centers[4], centers[5] = tc.to[0], tc.to[1]
			vb.jumped([]int{2}, centers)
			if settles := vb.slot[2] >= 0; settles != (tc.settling > 0) {
				t.Fatalf("centre 2 settles: %v, want %v", settles, tc.settling > 0)
			}
			// As the updater moves a centre: measured, then noted.
			centers[4], centers[5] = tc.where[0], tc.where[1]
			dist2, norm2 := vb.move(2, centers[4:6])
			vb.noteMove(2, dist2, norm2)
			l, u2, kept := vb.keep(0, x, centers)
			if kept != tc.kept {
				t.Fatalf("kept %v, want %v", kept, tc.kept)
			}
			if kept && (l != 0 || u2 != 1) {
				t.Errorf("kept with centre %d at %v, want centre 0 at 1", l, u2)
			}
		})
	}
}
