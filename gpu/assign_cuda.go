//go:build cuda || cudaemu

package gpu

import (
	"context"

	"github.com/clusterd/clusterd/kernels"
)

// tf32MinK is the smallest k that goes to the tensor cores: below it the
// narrow fp32 kernel wastes less of its tile than the 128-wide tf32 kernel.
const tf32MinK = tileNNarrow + 1

// Assign implements kernels.Backend with the fused kernels of
// gpu/cuda/assign.cu (fp32) or gpu/cuda/assign_tc.cu (tf32, for k > 32 on
// compute capability ≥ 8.0 unless Options.Precision says fp32).
func (b *Backend) Assign(ctx context.Context, x kernels.Dataset, c []float32, k int, labels []int32, dist2 []float32) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckAssign(ds.n, ds.d, c, k, labels, dist2); err != nil {
			return err
		}
		pc, pcn, err := b.points(ds, "centroids", c, k)
		if err != nil {
			return err
		}
		pl, err := ds.buf("labels", 4*int64(ds.n))
		if err != nil {
			return err
		}
		pd, err := ds.buf("dist2", 4*int64(ds.n))
		if err != nil {
			return err
		}
		if b.tf32 && k >= tf32MinK {
			if err := b.assignTF32(ctx, ds, c, k, pc, pcn, pl, pd); err != nil {
				return err
			}
		} else {
			if err := b.assignFP32(ds, 0, ds.n, false, pc, pcn, k, pl, pd, 0); err != nil {
				return err
			}
		}
		if err := b.sync("assignment"); err != nil {
			return err
		}
		if err := dtoh(labels, pl, "labels"); err != nil {
			return err
		}
		return dtoh(dist2, pd, "dist2")
	})
}

// assignFP32 launches assign_fp32 (or its narrow variant for k ≤ 32) for m
// rows: all rows when rows is 0, else the m row indices at device address
// rows, with outputs at list positions or, when scatter, at the rows
// themselves. second2 may be 0.
func (b *Backend) assignFP32(ds *dataset, rows uintptr, m int, scatter bool, c, cn uintptr, k int, labels, dist2, second2 uintptr) error {
	name := kAssign
	if assignNarrow(k) {
		name = kAssignNarrow
	}
	args := assignArgs(ds.x.ptr, ds.xn.ptr, ds.d, rows, m, c, cn, k, scatter, labels, dist2, second2)
	return b.launch(name, assignLaunch(m), args)
}

// assignTF32 is Assign's tensor-core path: assign_tf32 over all rows,
// then assign_fp32 over the rows whose near centroids tf32 cannot order
// (flag 2, written back in place), then label_dist for every row's exact
// distance, which also settles the rows whose nearest is one of the two
// tf32 best (flag 1) by measuring both.
func (b *Backend) assignTF32(ctx context.Context, ds *dataset, c []float32, k int, pc, pcn, pl, pd uintptr) error {
	n := ds.n
	pf, err := ds.buf("tie flags", int64(n))
	if err != nil {
		return err
	}
	pa, err := ds.buf("tie alternatives", 4*int64(n))
	if err != nil {
		return err
	}
	norms, cmax := tf32Norms(c, k, ds.d)
	ptn, err := upload(ds, "centroid tf32 norms", norms)
	if err != nil {
		return err
	}
	args := assignTF32Args(ds.x.ptr, ds.xn.ptr, ds.d, n, pc, ptn, k, cmax, pl, pd, pa, pf)
	if err := b.launch(kAssignTF32, tf32Launch(n), args); err != nil {
		return err
	}
	flags := make([]byte, n)
	if err := dtoh(flags, pf, "tie flags"); err != nil {
		return err
	}
	pairs, full := countFlags(flags)
	b.stats.TF32Rows += int64(n)
	b.stats.PairRechecks += int64(pairs)
	b.stats.FullRechecks += int64(full)
	if err := ctx.Err(); err != nil {
		return err
	}
	if full > 0 {
		rows := flaggedRows(flags, tieFull)
		pr, err := upload(ds, "re-checked rows", rows)
		if err != nil {
			return err
		}
		if err := b.assignFP32(ds, pr, len(rows), true, pc, pcn, k, pl, pd, 0); err != nil {
			return err
		}
	}
	return b.labelDist(ds, pc, pl, pa, pd)
}

// labelDist launches label_dist: out[i] = ‖x_i − c_{labels[i]}‖², or −1
// for a negative label; where alt (a device array, or 0) names a second
// candidate, the nearer of the two becomes the label.
func (b *Backend) labelDist(ds *dataset, c, labels, alt, out uintptr) error {
	return b.launch(kLabelDist, warpPerRowLaunch(ds.n), labelDistArgs(ds.x.ptr, ds.d, ds.n, c, labels, alt, out))
}

// AssignSubset implements kernels.SubsetAssigner: assign_fp32 with the
// rows gathered on the device.
func (b *Backend) AssignSubset(ctx context.Context, x kernels.Dataset, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckAssignSubset(ds.n, ds.d, rows, c, k, labels, dist2, second2); err != nil {
			return err
		}
		m := len(rows)
		if m == 0 {
			return nil
		}
		pr, err := upload(ds, "subset rows", rows)
		if err != nil {
			return err
		}
		pc, pcn, err := b.points(ds, "centroids", c, k)
		if err != nil {
			return err
		}
		var out [3]uintptr
		for i, what := range []string{"subset labels", "subset dist2", "subset second2"} {
			if out[i], err = ds.buf(what, 4*int64(m)); err != nil {
				return err
			}
		}
		if err := b.assignFP32(ds, pr, m, false, pc, pcn, k, out[0], out[1], out[2]); err != nil {
			return err
		}
		if err := b.sync(kAssign); err != nil {
			return err
		}
		if err := dtoh(labels, out[0], "subset labels"); err != nil {
			return err
		}
		if err := dtoh(dist2, out[1], "subset dist2"); err != nil {
			return err
		}
		return dtoh(second2, out[2], "subset second2")
	})
}

// Distances implements kernels.Backend: dist_fp32 (narrow for m ≤ 32) in
// chunks of rows sized from free memory, each copied back as it is done.
func (b *Backend) Distances(ctx context.Context, x kernels.Dataset, y []float32, m int, out []float32) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckDistances(ds.n, ds.d, y, m, out); err != nil {
			return err
		}
		py, pyn, err := b.points(ds, "points", y, m)
		if err != nil {
			return err
		}
		free, err := freeMemory()
		if err != nil {
			return err
		}
		rows, err := distChunkRows(ds.n, m, ds.d, free)
		if err != nil {
			return err
		}
		po, err := ds.buf("distances", 4*int64(rows)*int64(m))
		if err != nil {
			return err
		}
		return b.distanceChunks(ctx, ds, rows, py, pyn, m, po, func(r0, rn int) error {
			return dtoh(out[r0*m:(r0+rn)*m], po, "distances")
		})
	})
}

// distanceChunks computes, chunk by chunk of at most rows rows, the
// distances of the dataset's rows to the m points y (norms yn) into out
// (rows×m, leading dimension m), calling done(r0, rn) after each chunk.
func (b *Backend) distanceChunks(ctx context.Context, ds *dataset, rows int, y, yn uintptr, m int, out uintptr, done func(r0, rn int) error) error {
	name, narrow := kDist, assignNarrow(m)
	if narrow {
		name = kDistNarrow
	}
	for r0 := 0; r0 < ds.n; r0 += rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		rn := min(rows, ds.n-r0)
		args := distArgs(ds.x.ptr, ds.xn.ptr, ds.d, r0, rn, y, yn, m, out, m)
		if err := b.launch(name, distLaunch(rn, m, narrow), args); err != nil {
			return err
		}
		if err := b.sync(name); err != nil {
			return err
		}
		if err := done(r0, rn); err != nil {
			return err
		}
	}
	return nil
}

// LabelDistances implements kernels.Backend with label_dist (differences,
// float64).
func (b *Backend) LabelDistances(ctx context.Context, x kernels.Dataset, c []float32, k int, labels []int32, out []float32) error {
	return b.do(ctx, func() error {
		ds, err := b.own(x)
		if err != nil {
			return err
		}
		if err := kernels.CheckLabelDistances(ds.n, ds.d, c, k, labels, out); err != nil {
			return err
		}
		pc, err := upload(ds, "centroids", c)
		if err != nil {
			return err
		}
		pl, err := upload(ds, "labels", labels)
		if err != nil {
			return err
		}
		po, err := ds.buf("dist2", 4*int64(ds.n))
		if err != nil {
			return err
		}
		if err := b.labelDist(ds, pc, pl, 0, po); err != nil {
			return err
		}
		if err := b.sync(kLabelDist); err != nil {
			return err
		}
		return dtoh(out, po, "label distances")
	})
}
