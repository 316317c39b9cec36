package engine

import (
	"context"
	"math"
	"slices"
	"strconv"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/internal/parallel"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/mat"
)

// preprocess applies the pipeline's preprocessing steps in order to a copy
// of in; without steps it returns in itself.
func preprocess(in Input, p Pipeline, seed int64) (Input, error) {
	steps, err := parseSteps(p.Preprocessing)
	if err != nil || len(steps) == 0 {
		return in, err
	}
	cur := Input{X: slices.Clone(in.X), N: in.N, D: in.D}
	for _, s := range steps {
		switch s.Method {
		case "normalize":
			normalizeRows(cur)
		case "pca":
			proj, err := FitProjection(cur.X, cur.N, cur.D, *s.NComponents, seed)
			if err != nil {
				return in, err
			}
			cur = Input{X: proj.Transform(cur.X, cur.N), N: cur.N, D: *s.NComponents}
		case "whitening":
			shrink := DefaultWhiteningShrinkage
			if s.Shrinkage != nil {
				shrink = *s.Shrinkage
			}
			w, mean, err := zcaMatrix(cur, shrink, seed)
			if err != nil {
				return in, err
			}
			cur = Input{X: affine(cur.X, cur.N, cur.D, mean, w, cur.D), N: cur.N, D: cur.D}
		}
	}
	return cur, nil
}

// normalizeRows scales every row to unit Euclidean norm (zero rows stay zero).
func normalizeRows(in Input) {
	for i := 0; i < in.N; i++ {
		row := in.X[i*in.D : (i+1)*in.D]
		n := math.Sqrt(algo.SqNorm64(row))
		if n == 0 {
			continue
		}
		for t := range row {
			row[t] = float32(float64(row[t]) / n)
		}
	}
}

// sampleCovariance returns the mean and the covariance (d×d) of a seeded
// uniform sample of at most ProjectionSample rows.
func sampleCovariance(x []float32, n, d int, seed int64) ([]float64, *mat.SymDense) {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	sample := algo.SampleRows(rows, ProjectionSample, seed)
	mean := make([]float64, d)
	for _, i := range sample {
		for t, v := range x[i*d : (i+1)*d] {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(len(sample))
	}
	a := mat.NewDense(len(sample), d, nil)
	for r, i := range sample {
		row := a.RawRowView(r)
		for t, v := range x[i*d : (i+1)*d] {
			row[t] = float64(v) - mean[t]
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1/math.Max(1, float64(len(sample)-1)), a.T())
	return mean, &cov
}

// zcaMatrix returns the ZCA whitening matrix W = U·diag(1/√(λ+ε))·Uᵀ (d×d,
// row-major float32; symmetric) and the mean, where UλUᵀ is the sample
// covariance and ε = shrinkage·mean(λ) keeps near-zero-variance directions
// from being amplified without bound.
func zcaMatrix(in Input, shrinkage float64, seed int64) ([]float32, []float64, error) {
	mean, cov := sampleCovariance(in.X, in.N, in.D, seed)
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, nil, &DataError{Row: -1, Msg: "whitening: the covariance's eigendecomposition did not converge"}
	}
	vals := eig.Values(nil)
	var u mat.Dense
	eig.VectorsTo(&u)
	var avg float64
	for _, v := range vals {
		avg += math.Max(v, 0)
	}
	avg /= float64(len(vals))
	eps := shrinkage * avg
	if eps == 0 {
		eps = 1e-12
	}
	d := in.D
	w := make([]float32, d*d)
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			var s float64
			for k := 0; k < d; k++ {
				s += u.At(a, k) * u.At(b, k) / math.Sqrt(math.Max(vals[k], 0)+eps)
			}
			w[a*d+b], w[b*d+a] = float32(s), float32(s)
		}
	}
	return w, mean, nil
}

// affine computes (x_i − mean)·Wᵀ for every row: x is n×d, w is k×d
// (row-major), the result n×k. Rows go through gonum's Sgemm in chunks,
// on every core.
func affine(x []float32, n, d int, mean []float64, w []float32, k int) []float32 {
	const chunk = 1024
	out := make([]float32, n*k)
	W := blas32.General{Rows: k, Cols: d, Stride: d, Data: w}
	// Rows are independent: each goroutine takes every g-th chunk with one
	// buffer of its own.
	g := parallel.Goroutines(0)
	parallel.For(context.Background(), g, g, func(w int) {
		buf := make([]float32, chunk*d)
		for lo := w * chunk; lo < n; lo += g * chunk {
			hi := min(n, lo+chunk)
			for i := lo; i < hi; i++ {
				src, dst := x[i*d:(i+1)*d], buf[(i-lo)*d:(i-lo+1)*d]
				for t, v := range src {
					dst[t] = float32(float64(v) - mean[t])
				}
			}
			A := blas32.General{Rows: hi - lo, Cols: d, Stride: d, Data: buf[:(hi-lo)*d]}
			C := blas32.General{Rows: hi - lo, Cols: k, Stride: k, Data: out[lo*k : hi*k]}
			blas32.Gemm(blas.NoTrans, blas.Trans, 1, A, W, 0, C)
		}
	})
	return out
}

// fitPossiblySampled fits m on all of r's points, or, with 0 < sampleSize <
// n, on a seeded uniform sample, then labels every point: the algorithm's
// Extend when it has one, else extendWithinReach with the fit's Reach
// (density methods), else each point takes the label of its nearest
// non-noise sample point.
func fitPossiblySampled(ctx context.Context, r *algo.State, m algo.Algorithm, sampleSize int) (*algo.Fitted, error) {
	if sampleSize <= 0 || sampleSize >= r.In.N {
		if err := m.Check(r.In); err != nil {
			return nil, err
		}
		return m.Fit(ctx, r)
	}
	all := make([]int, r.In.N)
	for i := range all {
		all[i] = i
	}
	rows := algo.SampleRows(all, sampleSize, r.Seed)
	sub := algo.GatherRows(r.In, rows)
	if err := m.Check(sub); err != nil {
		return nil, err
	}
	sds, err := r.Backend.Upload(sub.X, sub.N, sub.D)
	if err != nil {
		return nil, err
	}
	defer sds.Close()
	sr := &algo.State{In: sub, DS: sds, Backend: r.Backend, Seed: r.Seed, Progress: r.Progress, Phases: r.Phases}
	f, err := m.Fit(ctx, sr)
	if err != nil {
		return nil, err
	}
	if ext, ok := m.(algo.Extender); ok {
		return ext.Extend(ctx, r, sr, rows, f)
	}
	if f.Reach != nil {
		return extendWithinReach(ctx, r, sr, rows, f, f.ReachCosine)
	}
	return extendNearest(ctx, r, sr, rows, f)
}

// extendNearest labels every point outside the sample with the label of
// its nearest labelled (non-noise) sample point; sample points keep theirs.
func extendNearest(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted) (*algo.Fitted, error) {
	reach := make([]float64, len(f.Labels))
	for i := range reach {
		reach[i] = math.Inf(1)
	}
	g := *f
	g.Reach = reach
	return extendWithinReach(ctx, full, sample, rows, &g, false)
}

// extendWithinReach labels every point outside the sample with the label
// of its nearest sample point among those that are labelled and have a
// non-negative reach, when it lies within that point's reach (Euclidean
// distance, or cosine distance when cosine is set); otherwise it is noise.
// Sample points keep their own labels. Under the cosine metric a zero
// vector is at distance 1 from every point (scikit-learn's rule), so a
// zero query's nearest point is the first candidate, and a zero candidate
// is nearest only to queries with nothing else within distance 1.
func extendWithinReach(ctx context.Context, full, sample *algo.State, rows []int, f *algo.Fitted, cosine bool) (*algo.Fitted, error) {
	d := full.In.D
	var pts []float32
	var lab []int32
	var reach []float64
	firstLab, firstReach := int32(-1), -1.0 // the first candidate (for zero queries)
	zeroLab, zeroAt := int32(-1), -1        // the first zero candidate within 1 (cosine)
	for i, l := range f.Labels {
		if l < 0 || f.Reach[i] < 0 {
			continue
		}
		row := sample.In.X[i*d : (i+1)*d]
		if firstLab < 0 {
			firstLab, firstReach = l, f.Reach[i]
		}
		if cosine && algo.SqNorm64(row) == 0 {
			if zeroAt < 0 && f.Reach[i] >= 1 {
				zeroLab, zeroAt = l, i
			}
			continue
		}
		pts = append(pts, row...)
		lab = append(lab, l)
		reach = append(reach, f.Reach[i])
	}
	out := *f
	out.Reach = nil
	out.Labels = make([]int32, full.In.N)
	for i := range out.Labels {
		out.Labels[i] = -1
	}
	var zeroQuery []bool
	if len(lab) > 0 {
		ds, queries := full.DS, full.In
		if cosine {
			// Nearest by cosine is nearest by Euclidean between unit vectors.
			queries = Input{X: slices.Clone(full.In.X), N: full.In.N, D: d}
			zeroQuery = make([]bool, full.In.N)
			for i := range zeroQuery {
				zeroQuery[i] = algo.SqNorm64(queries.X[i*d:(i+1)*d]) == 0
			}
			normalizeRows(queries)
			normalizeRows(Input{X: pts, N: len(lab), D: d})
			var err error
			if ds, err = full.Backend.Upload(queries.X, queries.N, d); err != nil {
				return nil, err
			}
			defer ds.Close()
		}
		nearest := make([]int32, full.In.N)
		dist := make([]float32, full.In.N)
		if err := full.Backend.Assign(ctx, ds, pts, len(lab), nearest, dist); err != nil {
			return nil, err
		}
		for i, j := range nearest {
			e := math.Sqrt(math.Max(float64(dist[i]), 0))
			if cosine {
				e = float64(dist[i]) / 2 // ‖a−b‖² = 2(1 − cos) for unit vectors
			}
			if e <= reach[j] {
				out.Labels[i] = lab[j]
			} else if cosine && e > 1 && zeroAt >= 0 {
				out.Labels[i] = zeroLab
			}
		}
	} else if cosine && zeroAt >= 0 {
		for i := range out.Labels {
			out.Labels[i] = zeroLab
		}
	}
	if cosine && firstLab >= 0 {
		for i := 0; i < full.In.N; i++ {
			if zeroQuery == nil || zeroQuery[i] {
				if zeroQuery == nil && algo.SqNorm64(full.In.X[i*d:(i+1)*d]) != 0 {
					continue
				}
				out.Labels[i] = -1
				if firstReach >= 1 {
					out.Labels[i] = firstLab
				}
			}
		}
	}
	for p, i := range rows {
		out.Labels[i] = f.Labels[p]
	}
	return &out, nil
}

// HierarchyMinSplit is the smallest cluster that hierarchical clustering
// splits again.
const HierarchyMinSplit = 20

// DefaultMaxHierarchyDepth is the depth when Pipeline.MaxHierarchyDepth is 0.
const DefaultMaxHierarchyDepth = 3

// subcluster splits clusters again, depth first, following these rules: a
// cluster is split when it has at least HierarchyMinSplit members and the
// depth limit (MaxHierarchyDepth, default 3, counting the top level as 1)
// allows; the sub-clustering uses the same algorithm and parameters, except
// that k-means' n_clusters becomes min(n_clusters, ⌊members/10⌋); a split
// that finds fewer than 2 clusters is not kept. Children are named
// PARENT_sub_I; points a density method leaves as noise inside a cluster
// stay in that cluster.
func subcluster(ctx context.Context, r *algo.State, m algo.Algorithm, spec Spec, res *Result) error {
	depth := spec.Pipeline.MaxHierarchyDepth
	if depth == 0 {
		depth = DefaultMaxHierarchyDepth
	}
	res.Leaf = slices.Clone(res.Labels)
	members := make([][]int, res.NumClusters)
	for i, l := range res.Labels {
		if l >= 0 {
			members[l] = append(members[l], i)
		}
	}
	var split func(rows []int, parent Cluster, parentIdx int) error
	split = func(rows []int, parent Cluster, parentIdx int) error {
		if parent.Level+1 >= depth || len(rows) < HierarchyMinSplit {
			return nil
		}
		cm := m
		if c, ok := m.(algo.Splitter); ok {
			var okSplit bool
			if cm, okSplit = c.Child(len(rows)); !okSplit {
				return nil
			}
		}
		sub := algo.GatherRows(r.In, rows)
		if cm.Check(sub) != nil {
			return nil // e.g. fewer distinct points than children: leave it whole
		}
		sds, err := r.Backend.Upload(sub.X, sub.N, sub.D)
		if err != nil {
			return err
		}
		defer sds.Close()
		sr := &algo.State{In: sub, DS: sds, Backend: r.Backend, Seed: r.Seed, Phases: r.Phases}
		f, err := cm.Fit(ctx, sr)
		if err != nil {
			return err
		}
		labels, k, cents := algo.Compact(f.Labels, f.K, f.Centroids, sub.D)
		if k < 2 {
			return nil
		}
		children, _, err := describe(ctx, sr, labels, k, cents, spec.Pipeline.EffectiveFeatureMethod)
		if err != nil {
			return err
		}
		childRows := make([][]int, k)
		for p, l := range labels {
			if l >= 0 {
				childRows[l] = append(childRows[l], rows[p])
			}
		}
		for j := range children {
			c := children[j]
			c.ID = parent.ID + "_sub_" + strconv.Itoa(j)
			c.Parent, c.Level = parent.ID, parent.Level+1
			c.Label = res.NumClusters + len(res.SubClusters)
			res.SubClusters = append(res.SubClusters, c)
			for _, i := range childRows[j] {
				res.Leaf[i] = int32(c.Label)
			}
			if err := split(childRows[j], c, c.Label); err != nil {
				return err
			}
		}
		return nil
	}
	for j, c := range res.Clusters {
		if err := split(members[j], c, j); err != nil {
			return err
		}
	}
	return nil
}
