// ClusterDistanceSums: the silhouette reduction over symmetric tiles.

package cpu

import (
	"context"
	"math"
	"math/bits"
	"unsafe"

	"github.com/clusterd/clusterd/kernels"
)

// nearZero is the fraction of ‖x_i‖² + ‖x_j‖² under which a pairwise squared
// distance from the GEMM form is recomputed exactly: below it cancellation
// makes the GEMM value too coarse for its square root.
const nearZero = 0.02

// cdsBlock is the side of a silhouette tile, in rows: a multiple of the
// lane panels (32, 16) and candidate panels (12, 6) of both SIMD paths, so
// that only the last block is padded, and small enough that a tile's packed
// lanes and candidate rows stay in L2.
const cdsBlock = 192

// ClusterDistanceSums implements kernels.Backend.
//
// Each unordered pair of labelled rows is measured once and counted for
// both rows. The labelled rows are ordered by label (then index) and cut
// into blocks of cdsBlock; a tile measures one block (the lanes) against
// another (the candidates). Within a tile the candidates of one label are
// contiguous, so a row's sum over them is a vertical sum of the tile's
// square roots (sumRows), and the lanes of one label are contiguous, so a
// candidate's sum over them is a segment sum (segSum).
//
// Determinism: the tiles run in rounds of a round-robin tournament between
// blocks, so that no two tiles of a round touch the same block and every
// block gets at most one tile per round. Each output entry therefore
// receives its partial sums in a fixed order (diagonal tile, then round by
// round, then, for unlabelled rows, block by block) whatever the core
// count. Rows with a negative label only receive sums: they are measured
// against every labelled block after the rounds.
func (b *Backend) ClusterDistanceSums(ctx context.Context, x kernels.Dataset, labels []int32, k int, out []float64) error {
	ds := b.own(x)
	if err := kernels.CheckClusterDistanceSums(ds.n, labels, k, out); err != nil {
		return err
	}
	order, start := kernels.GroupByLabel(labels, k)
	if err := ctxErr(ctx); err != nil {
		return err
	}
	clear(out)
	nl := int(start[k])
	for i, l := range labels {
		if l < 0 {
			order = append(order, int32(i))
		}
	}
	lab := make([]int32, len(order))
	for p, i := range order {
		lab[p] = labels[i]
	}
	pl := &cdsPlan{b: b, ds: ds, order: order, lab: lab, k: k, out: out, zero: make([]float32, ds.d)}
	nb := blocks(nl, cdsBlock)
	span := func(blk, lo, hi int) (int, int) { return lo + blk*cdsBlock, min(hi, lo+(blk+1)*cdsBlock) }
	err := parallelFor(ctx, b.threads, nb, func(t int) {
		lo, hi := span(t, 0, nl)
		pl.tile(lo, hi, lo, hi, false)
	})
	var round [][2]int
	for r := range rounds(nb) {
		if err != nil {
			return err
		}
		round = roundPairs(nb, r, round[:0])
		err = parallelFor(ctx, b.threads, len(round), func(t int) {
			ilo, ihi := span(round[t][0], 0, nl)
			jlo, jhi := span(round[t][1], 0, nl)
			pl.tile(ilo, ihi, jlo, jhi, true)
		})
	}
	if err != nil {
		return err
	}
	return parallelFor(ctx, b.threads, blocks(len(order)-nl, cdsBlock), func(t int) {
		ilo, ihi := span(t, nl, len(order))
		for blk := 0; blk < nb; blk++ {
			jlo, jhi := span(blk, 0, nl)
			pl.tile(ilo, ihi, jlo, jhi, false)
		}
	})
}

// rounds is the number of rounds of a round-robin tournament between nb
// blocks.
func rounds(nb int) int { return max(0, nb+nb%2-1) }

// roundPairs appends to dst the pairs of round r of a round-robin
// tournament between nb blocks (circle method) and returns it: over the
// rounds every unordered pair of distinct blocks appears exactly once, and
// no block appears twice in a round. Pairs are ordered (lower, higher).
func roundPairs(nb, r int, dst [][2]int) [][2]int {
	m := nb + nb%2 // with an odd count, block nb is a bye
	add := func(a, b int) {
		if a < nb && b < nb {
			dst = append(dst, [2]int{min(a, b), max(a, b)})
		}
	}
	add(m-1, r)
	for i := 1; i < m/2; i++ {
		add((r+i)%(m-1), (r-i+m-1)%(m-1))
	}
	return dst
}

// cdsPlan is one ClusterDistanceSums call: positions p index order (rows
// sorted by label, unlabelled last), lab[p] is the label at p.
type cdsPlan struct {
	b     *Backend
	ds    *dataset
	order []int32
	lab   []int32
	k     int
	out   []float64
	zero  []float32
}

// tile adds the distances between the rows at positions [ilo, ihi) (lanes)
// and [jlo, jhi) (candidates, all labelled) to the lanes' sums and, with
// both set, to the candidates' sums too.
func (pl *cdsPlan) tile(ilo, ihi, jlo, jhi int, both bool) {
	sc := getScratch()
	defer putScratch(sc)
	nw, nc := ihi-ilo, jhi-jlo
	var ld int
	if s := pl.b.simd; s != nil {
		ld = s.sqrtTile(pl, sc, ilo, ihi, jlo, jhi)
	} else {
		ld = pl.genericTile(sc, ilo, ihi, jlo, jhi)
	}
	s, k, out, tile := pl.b.simd, pl.k, pl.out, sc.buf
	sc.sum = grow(sc.sum, max(nw, nc))
	for c0 := 0; c0 < nc; {
		l := pl.lab[jlo+c0]
		c1 := c0 + 1
		for c1 < nc && pl.lab[jlo+c1] == l {
			c1++
		}
		v := sc.sum[:nw]
		s.sumRows(v, tile[c0*ld:], c1-c0, ld)
		for w, sum := range v {
			out[int(pl.order[ilo+w])*k+int(l)] += sum
		}
		c0 = c1
	}
	if !both {
		return
	}
	for a := 0; a < nw; {
		l := pl.lab[ilo+a]
		b := a + 1
		for b < nw && pl.lab[ilo+b] == l {
			b++
		}
		v := sc.sum[:nc]
		s.segSum(v, tile, ld, a, b)
		for c, sum := range v {
			out[int(pl.order[jlo+c])*k+int(l)] += sum
		}
		a = b
	}
}

// sqrtTile fills sc.buf with the square roots of the distances between the
// rows at positions [ilo, ihi) and [jlo, jhi), candidate-major
// (sc.buf[c*ld+w]), through the modeSqrt epilogue; the flagged near-zero
// ones are recomputed exactly. It returns the row stride ld.
func (s *simd) sqrtTile(pl *cdsPlan, sc *panelScratch, ilo, ihi, jlo, jhi int) int {
	ds, L, C := pl.ds, s.lanes, s.cands
	d, nc := ds.d, jhi-jlo
	ncp := blocks(nc, C)
	sc.cands = grow(sc.cands, ncp*C)
	sc.cn = grow(sc.cn, ncp*C)
	for c := range sc.cands {
		if c < nc {
			j := int(pl.order[jlo+c])
			sc.cands[c], sc.cn[c] = &ds.x[j*d], ds.norms[j]
		} else {
			sc.cands[c], sc.cn[c] = &pl.zero[0], 0
		}
	}
	nq := s.packTask(sc, ds, pl.order, ilo, ihi, pl.zero)
	ld := nq * L
	sc.buf = grow(sc.buf, ncp*C*ld)
	sc.masks = grow(sc.masks, nq*ncp*C)
	masks := sc.masks
	for q := 0; q < nq; q++ {
		a := &sc.args
		*a = panelArgs{
			xt: &sc.xt[q*L*d], cands: &sc.cands[0], cn: &sc.cn[0], xn: &sc.xn[q*L],
			out: unsafe.Pointer(&sc.buf[q*L]), mask: &masks[q*ncp*C], d: d, np: ncp, ldo: 4 * ld,
			mode: modeSqrt, nz: nearZero,
		}
		s.panel(a)
		nr := min(L, ihi-ilo-q*L)
		valid := uint32(1)<<nr - 1
		for c, m := range masks[q*ncp*C : q*ncp*C+nc] {
			for m &= valid; m != 0; m &= m - 1 {
				w := q*L + bits.TrailingZeros32(m)
				e := s.exactSqDist(ds.row(int(pl.order[ilo+w])), ds.row(int(pl.order[jlo+c])))
				sc.buf[c*ld+w] = float32(math.Sqrt(e))
			}
		}
	}
	return ld
}

// genericTile is sqrtTile on the generic path: the tile's rows are gathered
// and multiplied by gonum in rowTile×colTile chunks, then turned into
// distances in Go, near-zero ones recomputed exactly.
func (pl *cdsPlan) genericTile(sc *panelScratch, ilo, ihi, jlo, jhi int) int {
	var s *simd
	ds := pl.ds
	d, nw, nc := ds.d, ihi-ilo, jhi-jlo
	ld := nw
	gather := func(buf []float32, lo, hi int) []float32 {
		buf = grow(buf, (hi-lo)*d)
		for p := lo; p < hi; p++ {
			copy(buf[(p-lo)*d:(p-lo+1)*d], ds.row(int(pl.order[p])))
		}
		return buf
	}
	sc.xt = gather(sc.xt, ilo, ihi)
	sc.gathered = gather(sc.gathered, jlo, jhi)
	lanes, cands, tile := sc.xt, sc.gathered, grow(sc.buf, nc*ld)
	sc.buf = tile
	for c0 := 0; c0 < nc; c0 += rowTile {
		for w0 := 0; w0 < nw; w0 += colTile {
			dotTile(cands[c0*d:], min(rowTile, nc-c0), lanes[w0*d:], min(colTile, nw-w0), d, tile[c0*ld+w0:], ld)
		}
	}
	for c := 0; c < nc; c++ {
		j := int(pl.order[jlo+c])
		for w, g := range tile[c*ld : c*ld+nw] {
			i := int(pl.order[ilo+w])
			sum := ds.norms[i] + ds.norms[j]
			e := float64(sum - 2*g)
			if e < nearZero*float64(sum) {
				e = s.exactSqDist(ds.row(i), ds.row(j))
			}
			tile[c*ld+w] = float32(math.Sqrt(max(e, 0)))
		}
	}
	return ld
}
