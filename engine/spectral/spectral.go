// Package spectral is spectral clustering as scikit-learn 1.2.1's
// SpectralClustering computes it: an affinity graph (rbf or the
// symmetrised nearest-neighbours graph), the normalised Laplacian's
// eigenvectors of smallest eigenvalue divided by the square roots of the
// degrees (scikit-learn's spectral_embedding with drop_first false), signs
// fixed so that each vector's largest entry is positive, and labels from
// k-means, discretize or cluster_qr on that embedding.
//
// scikit-learn's ARPACK in shift-invert mode factorises the Laplacian; here
// the eigenvectors come from LOBPCG on D^−½·A·D^−½ (the degrees without
// self-loops, as scipy's laplacian counts them), with sparse products for
// the nearest-neighbours graph, so it scales to large n; the dense rbf
// affinity is kept in memory up to MaxDenseBytes. Any orthonormal basis of
// the leading eigenspace gives the same k-means and cluster_qr labels (both
// are invariant under rotations of the embedding), so the labels agree
// with scikit-learn's up to the eigensolver's tolerance.
package spectral

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/engine/internal/nprand"
	pool "github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/kernels"
)

// Affinities.
const (
	RBF              = "rbf"
	NearestNeighbors = "nearest_neighbors"
	// PrecomputedNearestNeighbors reads the vectors' Euclidean distance
	// matrix as the precomputed one, which gives the nearest_neighbors graph.
	PrecomputedNearestNeighbors = "precomputed_nearest_neighbors"
)

// Label assignments.
const (
	KMeans     = "kmeans"
	Discretize = "discretize"
	ClusterQR  = "cluster_qr"
)

// MaxDenseBytes bounds the dense rbf affinity (n² float64 values): 2 GiB,
// 16,384 points.
var MaxDenseBytes int64 = 2 << 30

// MaxDensePoints is the largest n whose dense affinity fits MaxDenseBytes.
func MaxDensePoints() int { return int(math.Sqrt(float64(MaxDenseBytes / 8))) }

// DefaultTol is the eigenvector residual tolerance when eigen_tol is 0.
const DefaultTol = 1e-9

// MaxIter bounds LOBPCG's iterations.
const MaxIter = 2000

// Params are scikit-learn's SpectralClustering parameters of the same names.
type Params struct {
	NClusters    int
	NComponents  int // 0: NClusters
	Affinity     string
	Gamma        float64
	NNeighbors   int
	EigenTol     float64 // 0: DefaultTol
	AssignLabels string
	NInit        int
	Seed         int64
}

// DefaultParams returns scikit-learn's defaults.
func DefaultParams() Params {
	return Params{NClusters: 8, Affinity: RBF, Gamma: 1, NNeighbors: 10, AssignLabels: KMeans, NInit: 10}
}

// ErrParams is wrapped by errors for invalid Params.
var ErrParams = errors.New("spectral: invalid parameters")

// ErrTooLarge is wrapped when the dense affinity would exceed MaxDenseBytes.
var ErrTooLarge = errors.New("spectral: dense affinity too large")

// KMeansFunc clusters the n×d embedding (float32) into k clusters with
// k-means (n_init restarts, seeded) and returns the labels.
type KMeansFunc func(ctx context.Context, emb []float32, n, d, k, nInit int, seed int64) ([]int32, error)

// Result is a clustering with its embedding.
type Result struct {
	Labels      []int32
	NumClusters int
	// Embedding is n×NComponents: the eigenvectors divided by √degree.
	Embedding   []float64
	Eigenvalues []float64 // of D^−½·A·D^−½, descending
	Iterations  int
	Converged   bool
}

// Check validates the parameters against the data's size.
func (p Params) Check(n int) error {
	switch {
	case p.NClusters < 1 || p.NClusters > n:
		return fmt.Errorf("%w: n_clusters = %d with %d points", ErrParams, p.NClusters, n)
	case p.NComponents > n:
		return fmt.Errorf("%w: n_components = %d with %d points", ErrParams, p.NComponents, n)
	case (p.Affinity == NearestNeighbors || p.Affinity == PrecomputedNearestNeighbors) && p.NNeighbors > n:
		return fmt.Errorf("%w: n_neighbors = %d with %d points", ErrParams, p.NNeighbors, n)
	case p.Affinity == RBF && n > MaxDensePoints():
		return fmt.Errorf("%w: the rbf affinity of %d points is an n×n matrix of %.1f GiB, above the limit of %.1f GiB (%d points); "+
			"use affinity nearest_neighbors, which scales to large n, or fit on a sample (sample_size)",
			ErrTooLarge, n, float64(n)*float64(n)*8/(1<<30), float64(MaxDenseBytes)/(1<<30), MaxDensePoints())
	}
	return nil
}

// Fit clusters x, the n×d data uploaded as ds.
func Fit(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, p Params, km KMeansFunc) (*Result, error) {
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	if err := p.Check(n); err != nil {
		return nil, err
	}
	nc := p.NComponents
	if nc == 0 {
		nc = p.NClusters
	}
	var op *normalized
	var err error
	switch p.Affinity {
	case RBF:
		op = rbfAffinity(ctx, x, n, d, p.Gamma)
	case NearestNeighbors, PrecomputedNearestNeighbors:
		op, err = knnAffinity(ctx, be, ds, x, n, p.NNeighbors)
	default:
		return nil, fmt.Errorf("%w: affinity %q", ErrParams, p.Affinity)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tol := p.EigenTol
	if tol == 0 {
		tol = DefaultTol
	}
	eig, err := Largest(ctx, op, nc, tol, MaxIter, p.Seed)
	converged := err == nil
	if err != nil && !errors.Is(err, ErrNoConvergence) {
		return nil, err
	}
	emb := eig.Vectors
	for i := 0; i < n; i++ {
		for j := 0; j < nc; j++ {
			emb[i*nc+j] /= op.dd[i]
		}
	}
	signFlip(emb, n, nc)
	res := &Result{Embedding: emb, Eigenvalues: eig.Values, Iterations: eig.Iterations, Converged: converged}
	switch p.AssignLabels {
	case KMeans:
		e32 := make([]float32, len(emb))
		for i, v := range emb {
			e32[i] = float32(v)
		}
		res.Labels, err = km(ctx, e32, n, nc, p.NClusters, p.NInit, p.Seed)
		if err != nil {
			return nil, err
		}
	case Discretize:
		// scikit-learn's RandomState(random_state) has drawn ARPACK's start
		// vector (n uniforms in [−1, 1)) before discretize draws from it.
		rs := nprand.New(uint32(p.Seed))
		for i := 0; i < n; i++ {
			rs.Float64()
		}
		res.Labels, err = discretize(emb, n, nc, rs)
		if err != nil {
			return nil, err
		}
	case ClusterQR:
		res.Labels = clusterQR(emb, n, nc)
	default:
		return nil, fmt.Errorf("%w: assign_labels %q", ErrParams, p.AssignLabels)
	}
	for _, l := range res.Labels {
		res.NumClusters = max(res.NumClusters, int(l)+1)
	}
	return res, nil
}

// signFlip is scikit-learn's _deterministic_vector_sign_flip on the
// columns of emb (n×k): each column's entry of largest magnitude (the
// first such) becomes positive.
func signFlip(emb []float64, n, k int) {
	for j := 0; j < k; j++ {
		best, at := -1.0, 0
		for i := 0; i < n; i++ {
			if a := math.Abs(emb[i*k+j]); a > best {
				best, at = a, i
			}
		}
		if emb[at*k+j] < 0 {
			for i := 0; i < n; i++ {
				emb[i*k+j] = -emb[i*k+j]
			}
		}
	}
}

// normalized is D^−½·A·D^−½ for an affinity A without its diagonal, with
// dd the square roots of the degrees (1 for an isolated point, as scipy's
// laplacian makes them).
type normalized struct {
	n  int
	dd []float64
	// Dense: the normalised matrix itself (n×n). Sparse: CSR.
	full   []float64
	rowPtr []int64
	cols   []int32
	vals   []float64
}

func (o *normalized) Size() int { return o.n }

// Apply writes (D^−½·A·D^−½)·x into y, x and y n×p, on every core.
func (o *normalized) Apply(x []float64, p int, y []float64) {
	n := o.n
	parallel(n, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yi := y[i*p : (i+1)*p]
			clear(yi)
			if o.full != nil {
				row := o.full[i*n : (i+1)*n]
				for j, a := range row {
					if a == 0 {
						continue
					}
					xj := x[j*p : (j+1)*p]
					for c := range yi {
						yi[c] += a * xj[c]
					}
				}
				continue
			}
			for e := o.rowPtr[i]; e < o.rowPtr[i+1]; e++ {
				a, xj := o.vals[e], x[int(o.cols[e])*p:(int(o.cols[e])+1)*p]
				for c := range yi {
					yi[c] += a * xj[c]
				}
			}
		}
	})
}

// rbfAffinity builds the normalised dense rbf affinity exp(−γ‖x_i − x_j‖²)
// with the distances in float64 from differences.
func rbfAffinity(ctx context.Context, x []float32, n, d int, gamma float64) *normalized {
	full := make([]float64, n*n)
	parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if ctx.Err() != nil {
				return
			}
			xi := x[i*d : (i+1)*d]
			row := full[i*n : (i+1)*n]
			j := i + 1
			for ; j+4 <= n; j += 4 {
				s0, s1, s2, s3 := dense.SqDist4(xi, x[j*d:(j+1)*d], x[(j+1)*d:(j+2)*d], x[(j+2)*d:(j+3)*d], x[(j+3)*d:(j+4)*d])
				row[j], row[j+1], row[j+2], row[j+3] = math.Exp(-gamma*s0), math.Exp(-gamma*s1), math.Exp(-gamma*s2), math.Exp(-gamma*s3)
			}
			for ; j < n; j++ {
				row[j] = math.Exp(-gamma * dense.SqDist(xi, x[j*d:(j+1)*d]))
			}
		}
	})
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			full[i*n+j] = full[j*n+i]
		}
	}
	o := &normalized{n: n, full: full, dd: make([]float64, n)}
	for i := 0; i < n; i++ {
		var s float64
		for _, v := range full[i*n : (i+1)*n] {
			s += v
		}
		o.dd[i] = degreeRoot(s)
	}
	parallel(n, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := full[i*n : (i+1)*n]
			for j := range row {
				row[j] /= o.dd[i] * o.dd[j]
			}
		}
	})
	return o
}

func degreeRoot(s float64) float64 {
	if s == 0 {
		return 1
	}
	return math.Sqrt(s)
}

// knnAffinity builds the normalised graph 0.5·(C + Cᵀ) of the
// n_neighbors-nearest-neighbour connectivity C (each point's nearest
// points, itself included), from the backend's k-nearest search refined in
// float64 (dense.ExactKNN), so that ties fall as in scikit-learn.
func knnAffinity(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, n, k int) (*normalized, error) {
	idx, _, err := dense.ExactKNN(ctx, be, ds, x, k, 8)
	if err != nil {
		return nil, err
	}
	// Symmetrise: every edge i→j adds 0.5 at (i, j) and at (j, i).
	deg := make([]int64, n+1)
	for i := 0; i < n; i++ {
		for _, j := range idx[i*k : (i+1)*k] {
			if int(j) != i {
				deg[i+1]++
				deg[j+1]++
			}
		}
	}
	for i := 0; i < n; i++ {
		deg[i+1] += deg[i]
	}
	fill := slices.Clone(deg[:n])
	cols := make([]int32, deg[n])
	for i := 0; i < n; i++ {
		for _, j := range idx[i*k : (i+1)*k] {
			if int(j) != i {
				cols[fill[i]] = j
				fill[i]++
				cols[fill[j]] = int32(i)
				fill[j]++
			}
		}
	}
	o := &normalized{n: n, dd: make([]float64, n), rowPtr: make([]int64, n+1)}
	var outCols []int32
	var outVals []float64
	for i := 0; i < n; i++ {
		row := cols[deg[i]:deg[i+1]]
		slices.Sort(row)
		var s float64
		for q := 0; q < len(row); {
			r := q
			for r < len(row) && row[r] == row[q] {
				r++
			}
			v := 0.5 * float64(r-q)
			outCols = append(outCols, row[q])
			outVals = append(outVals, v)
			s += v
			q = r
		}
		o.rowPtr[i+1] = int64(len(outCols))
		o.dd[i] = degreeRoot(s)
	}
	for i := 0; i < n; i++ {
		for e := o.rowPtr[i]; e < o.rowPtr[i+1]; e++ {
			outVals[e] /= o.dd[i] * o.dd[outCols[e]]
		}
	}
	o.cols, o.vals = outCols, outVals
	return o, ctx.Err()
}

// clusterQR is scikit-learn's cluster_qr: the k rows that QR with column
// pivoting of embᵀ picks, the rotation U·Vᵀ from the SVD of those rows
// (transposed), and each point's label the column of largest |emb·U·Vᵀ|.
func clusterQR(emb []float64, n, k int) []int32 {
	// Greedy column pivoting: the column (row of emb) of largest remaining
	// norm, the first on ties, as LAPACK's geqp3 picks it.
	res := slices.Clone(emb)
	norms := make([]float64, n)
	for i := 0; i < n; i++ {
		for _, v := range res[i*k : (i+1)*k] {
			norms[i] += v * v
		}
	}
	used := make([]bool, n)
	piv := make([]int, 0, k)
	q := make([]float64, k)
	for step := 0; step < k; step++ {
		best := -1
		for i := 0; i < n; i++ {
			if !used[i] && (best < 0 || norms[i] > norms[best]) {
				best = i
			}
		}
		used[best] = true
		piv = append(piv, best)
		l := math.Sqrt(norms[best])
		if l == 0 {
			continue
		}
		for t := range q {
			q[t] = res[best*k+t] / l
		}
		for i := 0; i < n; i++ {
			if used[i] {
				continue
			}
			row := res[i*k : (i+1)*k]
			var c float64
			for t, v := range row {
				c += v * q[t]
			}
			norms[i] = 0
			for t := range row {
				row[t] -= c * q[t]
				norms[i] += row[t] * row[t]
			}
		}
	}
	// SVD of emb[piv]ᵀ (k×k).
	sub := mat.NewDense(k, k, nil)
	for r, i := range piv {
		for c := 0; c < k; c++ {
			sub.Set(c, r, emb[i*k+c])
		}
	}
	var svd mat.SVD
	svd.Factorize(sub, mat.SVDFull)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	var rot mat.Dense
	rot.Mul(&u, v.T())
	labels := make([]int32, n)
	for i := 0; i < n; i++ {
		best, bv := 0, -1.0
		for c := 0; c < k; c++ {
			var s float64
			for t := 0; t < k; t++ {
				s += emb[i*k+t] * rot.At(t, c)
			}
			if a := math.Abs(s); a > bv {
				best, bv = c, a
			}
		}
		labels[i] = int32(best)
	}
	return labels
}

// discretize is scikit-learn's discretize (Yu and Shi, 2003): the
// embedding's columns scaled to norm √n with the sign of their first entry
// made negative, rows normalised, then alternating discrete labels and the
// best rotation (by SVD) until the normalised-cut objective stops changing
// (at most 20 iterations, up to 30 restarts when an SVD fails).
func discretize(emb []float64, n, k int, rs *nprand.RandomState) ([]int32, error) {
	v := slices.Clone(emb)
	normOnes := math.Sqrt(float64(n))
	for j := 0; j < k; j++ {
		var s float64
		for i := 0; i < n; i++ {
			s += v[i*k+j] * v[i*k+j]
		}
		s = math.Sqrt(s)
		for i := 0; i < n; i++ {
			v[i*k+j] = v[i*k+j] / s * normOnes
		}
		if f := v[j]; f != 0 {
			sign := math.Copysign(1, f)
			for i := 0; i < n; i++ {
				v[i*k+j] = -v[i*k+j] * sign
			}
		}
	}
	for i := 0; i < n; i++ {
		var s float64
		for _, e := range v[i*k : (i+1)*k] {
			s += e * e
		}
		if s = math.Sqrt(s); s > 0 {
			for j := 0; j < k; j++ {
				v[i*k+j] /= s
			}
		}
	}
	const eps = 0x1p-52
	labels := make([]int32, n)
	for restart := 0; restart < 30; restart++ {
		rot := make([]float64, k*k) // column c is rot[·, c]
		first := rs.Intn(n)
		for t := 0; t < k; t++ {
			rot[t*k] = v[first*k+t]
		}
		c := make([]float64, n)
		for j := 1; j < k; j++ {
			for i := 0; i < n; i++ {
				var s float64
				for t := 0; t < k; t++ {
					s += v[i*k+t] * rot[t*k+j-1]
				}
				c[i] += math.Abs(s)
			}
			at := 0
			for i := range c {
				if c[i] < c[at] {
					at = i
				}
			}
			for t := 0; t < k; t++ {
				rot[t*k+j] = v[at*k+t]
			}
		}
		last := 0.0
		for it := 1; ; it++ {
			for i := 0; i < n; i++ {
				best, bv := 0, math.Inf(-1)
				for col := 0; col < k; col++ {
					var s float64
					for t := 0; t < k; t++ {
						s += v[i*k+t] * rot[t*k+col]
					}
					if s > bv {
						best, bv = col, s
					}
				}
				labels[i] = int32(best)
			}
			// t_svd = Dᵀ·v with D the one-hot labels (k×k).
			tsvd := mat.NewDense(k, k, nil)
			for i := 0; i < n; i++ {
				l := int(labels[i])
				for t := 0; t < k; t++ {
					tsvd.Set(l, t, tsvd.At(l, t)+v[i*k+t])
				}
			}
			var svd mat.SVD
			if !svd.Factorize(tsvd, mat.SVDFull) {
				break // a new random start
			}
			sv := svd.Values(nil)
			var sum float64
			for _, s := range sv {
				sum += s
			}
			ncut := 2 * (float64(n) - sum)
			if math.Abs(ncut-last) < eps || it > 20 {
				return labels, nil
			}
			last = ncut
			var u, vv mat.Dense
			svd.UTo(&u)
			svd.VTo(&vv)
			var r mat.Dense
			r.Mul(&vv, u.T()) // Vhᵀ·Uᵀ
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					rot[a*k+b] = r.At(a, b)
				}
			}
		}
	}
	return nil, errors.New("spectral: discretize: SVD did not converge")
}

// parallel runs fn over [0, n) in chunks on every core.
func parallel(n, chunk int, fn func(lo, hi int)) {
	pool.Chunks(context.Background(), 0, n, chunk, fn)
}
