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
// the jump is kept only if that centre is no nearer than its own. Once
// placed, it moves fast for a while (its count is small), which would
// widen every row's slack: it settles first. A settling centre is left out
// of the distances above too and every row is checked against it, until
// an epoch in which it moved no more than the others; it then counts as
// jumping at the next epoch's start, so that the rows measured before are
// checked against it.
//
// The checks against a settling centre mostly need no distance: a row
// whose centre l is at distance u is safe from centre j when ‖c_l − c_j‖ ≥
// 2u (triangle inequality), and ‖c_l − c_j‖ is at least the distance in
// the settling centre's table (its distance to every centre in the current
// snapshot) less how far both moved since. Otherwise, and for the jumps,
// the row is measured against j, at most maxJumpChecks times a row; beyond
// that, or with more than maxJumpRecords jumps since it was measured, the
// row is measured against every centre. (Tables for the jumps as well,
// taken in their epochs' snapshots, settled no check on W4 that the
// distances did not: the same rows measured, at seeds 2 and 3 and with
// init_size 24,000.)
//
// Memory: 12 bytes a row, maxEpochs·k·d float32 snapshots and
// maxSettling·k float32 tables.
type visitBounds struct {
	k, d      int
	rows      []rowBound // per row (one record: a bound test reads one cache line)
	snaps     [][]float32
	within    []float64   // per live epoch (oldest first): see visitBounds
	toCurrent []float64   // per live epoch: largest centre distance between its snapshot and the current one
	toNext    []float64   // per live epoch: largest centre distance between its snapshot and the next
	first     int         // the oldest live epoch (snaps[0])
	steps     int         // steps per epoch
	left      int         // steps left in the current epoch
	lastJump  []int32     // per centre: the epoch its last reassignment started (−1 none)
	jumps     []jump      // the reassignments, in order
	spare     [][]float32 // tables of centres that settled, for reuse
	settling  []settler   // the centres settling after a jump
	slot      []int32     // per centre: its place in settling, −1 if not settling
	cnMax     float64     // at least every centre's squared norm so far (for the tolerance)
	kept      int64       // rows that kept their centre unmeasured (stats and tests)
	measured  int64       // rows measured against every centre
	settled   int         // centres that settled after a jump (tests)
	unsettled int         // centres that jumped without settling (maxSettling settled already; tests)
}

// visitBoundsOn turns the visit bounds on (tests compare with them off).
var visitBoundsOn = true

// rowBound is a row's state in visitBounds.
type rowBound struct {
	lab   int32   // its centre when last measured; −1 never measured
	epoch int32   // the epoch of its bound (older than first: folded)
	lower float32 // lower bound on its distance to every other centre (Euclidean, rounded down)
}

// jump is a centre reassigned (or done settling) as an epoch started.
type jump struct{ epoch, centre int32 }

// Reassigned centres a row is checked against: at most maxJumpChecks
// measured (the others settled by their table), at most maxJumpRecords
// jumps in all.
const (
	maxJumpChecks  = 16
	maxJumpRecords = 256
)

// settler is a centre settling after its jump (see visitBounds).
type settler struct {
	centre int32
	joined int32     // the epoch it jumped in
	move   float64   // its largest distance from the current snapshot this epoch
	apart  []float32 // its distance (rounded down) to every centre in the current snapshot
}

// maxSettling bounds the settling centres: a centre reassigned when as
// many settle is a plain jump. (A variable for the tests.)
var maxSettling = 64

// settlingMark is lastJump's value for a settling centre: later than every
// epoch, so that the drift distances leave it out.
const settlingMark = math.MaxInt32

// jumpRoundoff widens the table test by a relative margin for the
// rounding of the float64 distances it combines.
const jumpRoundoff = 1e-9

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
	vb.lastJump, vb.slot = make([]int32, k), make([]int32, k)
	for j := range vb.lastJump {
		vb.lastJump[j], vb.slot[j] = -1, -1
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
// The settling centres that moved no more than the others in the epoch
// that ends (and settled a whole epoch before it, not a part cut short by
// another reassignment) jump now; the others' tables are measured in the
// new snapshot.
func (vb *visitBounds) newEpoch(centers []float32) {
	e := int32(vb.current() + 1)
	if len(vb.within) > 0 {
		others := vb.within[len(vb.within)-1]
		kept := vb.settling[:0]
		for _, st := range vb.settling {
			if st.joined < e-1 && st.move <= others {
				vb.lastJump[st.centre], vb.slot[st.centre] = e, -1
				vb.jumps = append(vb.jumps, jump{e, st.centre})
				vb.spare = append(vb.spare, st.apart)
				vb.settled++
				continue
			}
			vb.slot[st.centre] = int32(len(kept))
			kept = append(kept, st)
		}
		clear(vb.settling[len(kept):])
		vb.settling = kept
	}
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
	// The settling centres' tables, in the new snapshot.
	d := vb.d
	parallel.For(context.Background(), 0, len(vb.settling), func(q int) {
		st := &vb.settling[q]
		st.move = 0
		cj := snap[int(st.centre)*d : (int(st.centre)+1)*d]
		for l := 0; l < vb.k; l++ {
			st.apart[l] = algo.Down32(math.Sqrt(sqdist.Exact(snap[l*d:(l+1)*d], cj)))
		}
	})
}

// table returns memory for a table (k float32).
func (vb *visitBounds) table() []float32 {
	if n := len(vb.spare); n > 0 {
		t := vb.spare[n-1]
		vb.spare = vb.spare[:n-1]
		return t
	}
	return make([]float32, vb.k)
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
// new positions): they settle (up to maxSettling) or jump, and a new epoch
// starts with them.
func (vb *visitBounds) jumped(js []int, centers []float32) {
	e := int32(vb.current() + 1)
	for _, j := range js {
		vb.cnMax = math.Max(vb.cnMax, algo.SqNorm64(centers[j*vb.d:(j+1)*vb.d]))
		switch {
		case vb.slot[j] >= 0: // settling already: it starts again
			vb.settling[vb.slot[j]].joined = e
		case len(vb.settling) < maxSettling:
			vb.lastJump[j], vb.slot[j] = settlingMark, int32(len(vb.settling))
			vb.settling = append(vb.settling, settler{centre: int32(j), joined: e, apart: vb.table()})
		default:
			vb.lastJump[j] = e
			vb.jumps = append(vb.jumps, jump{e, int32(j)})
			vb.unsettled++
		}
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

// noteMove records centre j's move measured by move.
func (vb *visitBounds) noteMove(j int, dist2, norm2 float64) {
	if s := vb.slot[j]; s >= 0 {
		st := &vb.settling[s]
		st.move = math.Max(st.move, math.Sqrt(dist2))
	} else {
		cur := len(vb.within) - 1
		vb.within[cur] = math.Max(vb.within[cur], math.Sqrt(dist2))
	}
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
	if len(vb.jumps)-since > maxJumpRecords {
		return 0, 0, false
	}
	w, checks := vb.within[len(vb.within)-1], 0
	// How far a centre moved since the current snapshot: w, or its own
	// move if it settles.
	moved := func(j int) float64 {
		if s := vb.slot[j]; s >= 0 {
			return vb.settling[s].move
		}
		return w
	}
	// apart is a lower bound on ‖x − c_j‖ from a table distance between
	// the centres less their moves since (dist ≥ dist(c_l, c_j) − u).
	apart := func(table float32, moves float64) float64 {
		return float64(table)*(1-jumpRoundoff) - (moves+u)*(1+jumpRoundoff)
	}
	safe := max(lower, u*(1+jumpRoundoff))
	// exact measures j: false when it may be nearer than the row's centre
	// or the row was measured against too many.
	exact := func(j int) bool {
		if checks++; checks > maxJumpChecks {
			return false
		}
		dj2 := sqdist.Exact(x, centers[j*vb.d:(j+1)*vb.d])
		if dj2 < u2 {
			return false
		}
		lower = math.Min(lower, math.Sqrt(dj2))
		return true
	}
	ml := moved(int(l))
	for _, st := range vb.settling {
		j := int(st.centre)
		if j == int(l) {
			continue
		}
		// Settled when the bound is at least the row's, which then stands
		// (a looser bound would cost the row its next visits).
		if apart(st.apart[l], ml+st.move) >= safe {
			continue
		}
		if !exact(j) {
			return 0, 0, false
		}
	}
	for _, jp := range vb.jumps[since:] {
		j := int(jp.centre)
		if j == int(l) || vb.lastJump[j] != jp.epoch {
			// Its own centre is measured; a centre that jumped again (or
			// settles) is checked at its last jump (or above).
			continue
		}
		if !exact(j) {
			return 0, 0, false
		}
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
