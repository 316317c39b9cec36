package minibatch

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/internal/sqdist"
)

// visitBounds carries Hamerly's bounds from one batch to the next, so that
// a row drawn again is measured against every centre only when its centre
// may have changed. A row measured against every centre keeps its centre
// and a lower bound on its distance to every other centre. Drawn again,
// with every centre moved by at most δ since, it keeps its centre when its
// exact distance to that centre is at most lower − δ: no other centre can
// have come nearer. The labels are those of measuring every row (the
// bounds are widened by the backend's tolerance, as k-means' are).
//
// δ comes from snapshots of the centres, one at the start of each epoch
// (steps steps, about a sixteenth of a pass). For a row measured during
// epoch e, every centre is within within[e] + toCurrent[e] +
// within[current] of the position it was measured against, where within[e] is the largest distance of a centre
// from snapshot e during epoch e, and toCurrent[e] the largest distance of
// a centre between snapshot e and the current epoch's. At most maxEpochs
// snapshots are kept: the oldest is folded into the next one, its rows'
// lower bounds lowered by its within and its distance to the next.
//
// A reassigned centre jumps across the space, which would defeat every
// bound; it is left out of the distances above, and a row measured before
// the jump is kept only if that centre is no nearer than its own (at most
// maxJumpChecks such centres; beyond, the row is measured).
//
// Memory: 12 bytes a row and maxEpochs·k·d float32 snapshots.
type visitBounds struct {
	k, d      int
	rows      []rowBound // per row (one record: a bound test reads one cache line)
	snaps     [][]float32
	within    []float64 // per live epoch (oldest first): see visitBounds
	toCurrent []float64 // per live epoch: largest centre distance between its snapshot and the current one
	toNext    []float64 // per live epoch: largest centre distance between its snapshot and the next
	first     int       // the oldest live epoch (snaps[0])
	steps     int       // steps per epoch
	left      int       // steps left in the current epoch
	lastJump  []int32   // per centre: the epoch its last reassignment started (−1 none)
	jumps     []jump    // the reassignments, in order
	cnMax     float64   // at least every centre's squared norm so far (for the tolerance)
	kept      int64     // rows that kept their centre unmeasured (stats and tests)
	measured  int64     // rows measured against every centre
}

// visitBoundsOn turns the visit bounds on (tests compare with them off).
var visitBoundsOn = true

// rowBound is a row's state in visitBounds.
type rowBound struct {
	lab   int32   // its centre when last measured; −1 never measured
	epoch int32   // the epoch of its bound (older than first: folded)
	lower float32 // lower bound on its distance to every other centre (Euclidean, rounded down)
}

// jump is a centre reassigned as an epoch started.
type jump struct{ epoch, centre int32 }

// maxJumpChecks bounds the reassigned centres a row is checked against.
const maxJumpChecks = 16

// maxEpochs bounds the live snapshots of visitBounds; epochsPerPass sets
// the epoch's length: about a sixteenth of a pass over the data, so that
// the snapshots span the two passes in which most rows are drawn again.
const (
	maxEpochs     = 32
	epochsPerPass = 16
)

func newVisitBounds(n, k, d, batch int, centers []float32) *visitBounds {
	vb := &visitBounds{k: k, d: d, rows: make([]rowBound, n),
		steps: max(1, (n+batch*epochsPerPass-1)/(batch*epochsPerPass))}
	for i := range vb.rows {
		vb.rows[i].lab = -1
	}
	vb.lastJump = make([]int32, k)
	for j := range vb.lastJump {
		vb.lastJump[j] = -1
	}
	for j := 0; j < k; j++ {
		vb.cnMax = math.Max(vb.cnMax, algo.SqNorm64(centers[j*d:(j+1)*d]))
	}
	vb.newEpoch(centers)
	return vb
}

// current is the current epoch's number.
func (vb *visitBounds) current() int { return vb.first + len(vb.snaps) - 1 }

// beginStep is called before a step measures its batch: it starts a new
// epoch every vb.steps steps.
func (vb *visitBounds) beginStep(centers []float32) {
	if vb.left == 0 {
		vb.newEpoch(centers)
	}
	vb.left--
}

// newEpoch snapshots centers as the start of a new epoch, measures how far
// every live snapshot is from it, and folds the oldest beyond maxEpochs.
func (vb *visitBounds) newEpoch(centers []float32) {
	var snap []float32
	if len(vb.snaps) == maxEpochs {
		snap = vb.fold()
	} else {
		snap = make([]float32, len(centers))
	}
	copy(snap, centers)
	vb.snaps = append(vb.snaps, snap)
	vb.within = append(vb.within, 0)
	vb.toCurrent = append(vb.toCurrent, 0)
	vb.toNext = append(vb.toNext, 0)
	last := len(vb.snaps) - 1
	parallel.For(context.Background(), 0, last, func(e int) {
		vb.toCurrent[e] = vb.maxDistance(vb.snaps[e], snap, int32(vb.first+e))
	})
	if last > 0 {
		vb.toNext[last-1] = vb.toCurrent[last-1]
	}
	vb.left = vb.steps
}

// maxDistance is the largest distance between the same centre of a and b,
// leaving out the centres reassigned after epoch since.
func (vb *visitBounds) maxDistance(a, b []float32, since int32) float64 {
	m := 0.0
	for j := 0; j < vb.k; j++ {
		if vb.lastJump[j] <= since {
			m = math.Max(m, sqdist.Exact(a[j*vb.d:(j+1)*vb.d], b[j*vb.d:(j+1)*vb.d]))
		}
	}
	return math.Sqrt(m)
}

// jumped records that the centres js were reassigned (centers holds their
// new positions): a new epoch starts with them.
func (vb *visitBounds) jumped(js []int, centers []float32) {
	e := int32(vb.current() + 1)
	for _, j := range js {
		vb.lastJump[j] = e
		vb.jumps = append(vb.jumps, jump{e, int32(j)})
		vb.cnMax = math.Max(vb.cnMax, algo.SqNorm64(centers[j*vb.d:(j+1)*vb.d]))
	}
	vb.newEpoch(centers)
}

// fold merges the oldest epoch into the next: its rows' lower bounds drop
// by how far a centre (but those reassigned) can be from the next
// snapshot. It returns the freed snapshot's memory.
func (vb *visitBounds) fold() []float32 {
	drop := vb.within[0] + vb.toNext[0]
	// The rows of the oldest epoch (and of epochs folded before) now count
	// as measured in the next; their epoch stays, for the reassignment
	// checks, which drop leaves out.
	oldest := int32(vb.first)
	parallel.Chunks(context.Background(), 0, len(vb.rows), 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if rb := &vb.rows[i]; rb.epoch <= oldest {
				rb.lower = algo.Down32(float64(rb.lower) - drop)
			}
		}
	})
	freed := vb.snaps[0]
	vb.snaps, vb.within, vb.toCurrent, vb.toNext = vb.snaps[1:], vb.within[1:], vb.toCurrent[1:], vb.toNext[1:]
	vb.first++
	return freed
}

// move measures centre j at its new position c: its squared distance from
// the current epoch's snapshot and its squared norm, for noteMove. It only
// reads, so centres may be measured in parallel.
func (vb *visitBounds) move(j int, c []float32) (dist2, norm2 float64) {
	return sqdist.Exact(c, vb.snaps[len(vb.snaps)-1][j*vb.d:(j+1)*vb.d]), algo.SqNorm64(c)
}

// noteMove records a centre's move measured by move.
func (vb *visitBounds) noteMove(dist2, norm2 float64) {
	cur := len(vb.within) - 1
	vb.within[cur] = math.Max(vb.within[cur], math.Sqrt(dist2))
	vb.cnMax = math.Max(vb.cnMax, norm2)
}

// keep reports whether row i (its vector x) certainly still has its last
// centre among centers, and its exact squared distance to it. A row kept
// has its bound renewed for the current epoch (every other centre is at
// least that far now), so that the drift before now, and the reassignments
// it was checked against, are not counted again at its next visit. Rows
// are distinct within a call, so calls may run in parallel.
func (vb *visitBounds) keep(i int, x, centers []float32) (int32, float32, bool) {
	rb := &vb.rows[i]
	l := rb.lab
	if l < 0 {
		return 0, 0, false
	}
	e := max(int(rb.epoch), vb.first) - vb.first // folded epochs count as the oldest live one
	slack := vb.within[e] + vb.toCurrent[e] + vb.within[len(vb.within)-1]
	lower := float64(rb.lower) - slack
	u2 := sqdist.Exact(x, centers[int(l)*vb.d:(int(l)+1)*vb.d])
	u := math.Sqrt(u2)
	if u > lower {
		return 0, 0, false
	}
	// The centres reassigned since the row was measured (the jumps are in
	// epoch order): too many, and the row is measured without trying them.
	since, _ := slices.BinarySearchFunc(vb.jumps, rb.epoch+1, func(j jump, e int32) int { return cmp.Compare(j.epoch, e) })
	if len(vb.jumps)-since > maxJumpChecks {
		return 0, 0, false
	}
	for _, jp := range vb.jumps[since:] {
		j := int(jp.centre)
		if j == int(l) {
			continue
		}
		dj2 := sqdist.Exact(x, centers[j*vb.d:(j+1)*vb.d])
		if dj2 < u2 {
			return 0, 0, false
		}
		lower = math.Min(lower, math.Sqrt(dj2))
	}
	rb.lower, rb.epoch = algo.Down32(lower), int32(vb.current())
	return l, float32(u2), true
}

// record sets row i's bounds from a measurement against every centre: its
// label and the backend's squared distances to the nearest and second
// nearest centre.
func (vb *visitBounds) record(i int, label int32, best2, second2 float32) {
	// ‖x‖² ≤ (‖x − c‖ + ‖c‖)²: the backend's tolerance without another pass.
	e := math.Sqrt(float64(best2)) + math.Sqrt(vb.cnMax)
	tol := algo.BoundTol * (e*e + vb.cnMax)
	// +Inf (k = 1) stays +Inf.
	vb.rows[i] = rowBound{lab: label, epoch: int32(vb.current()), lower: algo.Down32(math.Sqrt(math.Max(0, float64(second2)-tol)))}
}
