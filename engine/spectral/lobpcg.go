package spectral

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Operator is a symmetric n×n matrix applied to blocks of vectors:
// Apply writes A·X into y for x of n×p (row-major).
type Operator interface {
	Size() int
	Apply(x []float64, p int, y []float64)
}

// ErrNoConvergence is wrapped when the eigensolver stops at its iteration
// limit before every wanted residual is below the tolerance.
var ErrNoConvergence = errors.New("spectral: eigenvectors did not converge")

// Eigen holds the k eigenpairs of largest eigenvalue: Values descending,
// Vectors n×k row-major (column j is the eigenvector of Values[j]).
type Eigen struct {
	Values     []float64
	Vectors    []float64
	Iterations int
	// Residual is the largest ‖A·v − λ·v‖ of the returned pairs.
	Residual float64
}

// denseLimit is the size up to which the eigenpairs come from a dense
// symmetric eigendecomposition instead of LOBPCG.
const denseLimit = 600

// Largest returns the k eigenpairs of largest eigenvalue of a, to the
// residual tolerance tol (absolute; the operators here have norm ≤ 1),
// with LOBPCG (Knyazev 2001) on a block of k plus a few vectors,
// orthonormalised by SVQB (Stathopoulos and Wu 2002) so that a block that
// loses rank is reduced rather than broken. A repeated eigenvalue (one per
// connected component of a graph) is found with all its multiplicity, as a
// block method does. The random start is drawn from seed.
func Largest(ctx context.Context, a Operator, k int, tol float64, maxIter int, seed int64) (*Eigen, error) {
	n := a.Size()
	if n <= denseLimit {
		return denseLargest(a, k)
	}
	p := min(n/3, k+max(4, k/2))
	rng := rand.New(rand.NewPCG(uint64(seed), 0x10bc9))
	x := make([]float64, n*p)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	x, p = svqb(x, n, p)
	ax := make([]float64, n*p)
	a.Apply(x, p, ax)
	theta, x, ax := rayleighRitz(x, ax, n, p, p)
	var w, aw, pp, app []float64
	pw, ppN := 0, 0
	res := &Eigen{}
	r := make([]float64, n*p)
	for it := 1; ; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Residuals R = AX − XΘ.
		worst := 0.0
		norms := make([]float64, p)
		for i := 0; i < n; i++ {
			for j := 0; j < p; j++ {
				v := ax[i*p+j] - x[i*p+j]*theta[j]
				r[i*p+j] = v
				norms[j] += v * v
			}
		}
		for j := 0; j < k; j++ {
			worst = max(worst, math.Sqrt(norms[j]))
		}
		res.Iterations, res.Residual = it, worst
		if worst <= tol || it > maxIter {
			res.Values = theta[:k]
			res.Vectors = takeCols(x, n, p, k)
			if worst > tol {
				return res, ErrNoConvergence
			}
			return res, nil
		}
		// W: the residuals made orthogonal to X (twice, for stability) and
		// orthonormal.
		w = append(w[:0], r...)
		pw = p
		for range 2 {
			project(w, n, pw, x, p)
		}
		w, pw = svqb(w, n, pw)
		if pw == 0 {
			res.Values = theta[:k]
			res.Vectors = takeCols(x, n, p, k)
			return res, nil
		}
		aw = resize(aw, n*pw)
		a.Apply(w, pw, aw)
		// P made orthogonal to X and W; AP follows the same combination.
		if ppN > 0 {
			for range 2 {
				c1 := projectWith(pp, app, n, ppN, x, ax, p)
				_ = c1
				projectWith(pp, app, n, ppN, w, aw, pw)
			}
			var t []float64
			pp, ppN, t = svqbT(pp, n, ppN)
			if ppN > 0 {
				app = mulSmall(app, n, len(t)/ppN, t, ppN)
			} else {
				app = nil
			}
		}
		// S = [X W P], AS likewise; Rayleigh–Ritz on S.
		m := p + pw + ppN
		s := make([]float64, n*m)
		as := make([]float64, n*m)
		for i := 0; i < n; i++ {
			copy(s[i*m:], x[i*p:(i+1)*p])
			copy(s[i*m+p:], w[i*pw:(i+1)*pw])
			copy(as[i*m:], ax[i*p:(i+1)*p])
			copy(as[i*m+p:], aw[i*pw:(i+1)*pw])
			if ppN > 0 {
				copy(s[i*m+p+pw:], pp[i*ppN:(i+1)*ppN])
				copy(as[i*m+p+pw:], app[i*ppN:(i+1)*ppN])
			}
		}
		vals, c := smallEig(s, as, n, m)
		// Top p Ritz vectors.
		cp := make([]float64, m*p)
		for r := 0; r < m; r++ {
			for j := 0; j < p; j++ {
				cp[r*p+j] = c[r*m+j]
			}
		}
		theta = vals[:p]
		xNew := make([]float64, n*p)
		axNew := make([]float64, n*p)
		gemm(blas.NoTrans, blas.NoTrans, n, p, m, s, m, cp, p, xNew, p)
		gemm(blas.NoTrans, blas.NoTrans, n, p, m, as, m, cp, p, axNew, p)
		// P: the part of the new X along W and P.
		ppN = p
		pp = make([]float64, n*p)
		app = make([]float64, n*p)
		if m > p {
			gemm(blas.NoTrans, blas.NoTrans, n, p, m-p, s[p:], m, cp[p*p:], p, pp, p)
			gemm(blas.NoTrans, blas.NoTrans, n, p, m-p, as[p:], m, cp[p*p:], p, app, p)
		}
		x, ax = xNew, axNew
	}
}

// denseLargest is the dense eigendecomposition of a small operator.
func denseLargest(a Operator, k int) (*Eigen, error) {
	n := a.Size()
	id := make([]float64, n*n)
	for i := 0; i < n; i++ {
		id[i*n+i] = 1
	}
	full := make([]float64, n*n)
	a.Apply(id, n, full)
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (full[i*n+j]+full[j*n+i])/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, ErrNoConvergence
	}
	vals := eig.Values(nil)
	var vec mat.Dense
	eig.VectorsTo(&vec)
	out := &Eigen{Values: make([]float64, k), Vectors: make([]float64, n*k)}
	for j := 0; j < k; j++ {
		col := n - 1 - j // ascending from gonum
		out.Values[j] = vals[col]
		for i := 0; i < n; i++ {
			out.Vectors[i*k+j] = vec.At(i, col)
		}
	}
	return out, nil
}

// rayleighRitz rotates the orthonormal block x (n×p) and ax = A·x to the
// Ritz vectors of largest values, keeping q of them.
func rayleighRitz(x, ax []float64, n, p, q int) ([]float64, []float64, []float64) {
	vals, c := smallEig(x, ax, n, p)
	cq := make([]float64, p*q)
	for r := 0; r < p; r++ {
		copy(cq[r*q:(r+1)*q], c[r*p:r*p+q])
	}
	xn := make([]float64, n*q)
	axn := make([]float64, n*q)
	gemm(blas.NoTrans, blas.NoTrans, n, q, p, x, p, cq, q, xn, q)
	gemm(blas.NoTrans, blas.NoTrans, n, q, p, ax, p, cq, q, axn, q)
	return vals[:q], xn, axn
}

// smallEig solves the projected problem G = Sᵀ·AS (m×m, symmetrised) and
// returns its eigenvalues descending with the eigenvectors as columns of c
// (m×m, row-major) in the same order.
func smallEig(s, as []float64, n, m int) ([]float64, []float64) {
	g := make([]float64, m*m)
	gemm(blas.Trans, blas.NoTrans, m, m, n, s, m, as, m, g, m)
	sym := mat.NewSymDense(m, nil)
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			sym.SetSym(i, j, (g[i*m+j]+g[j*m+i])/2)
		}
	}
	var eig mat.EigenSym
	eig.Factorize(sym, true)
	vals := eig.Values(nil)
	var vec mat.Dense
	eig.VectorsTo(&vec)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	outV := make([]float64, m)
	c := make([]float64, m*m)
	for j, o := range order {
		outV[j] = vals[o]
		for r := 0; r < m; r++ {
			c[r*m+j] = vec.At(r, o)
		}
	}
	return outV, c
}

// svqb orthonormalises the columns of v (n×p), dropping directions whose
// Gram eigenvalue is below 1e-14 of the largest; it returns the new block
// and its width.
func svqb(v []float64, n, p int) ([]float64, int) {
	out, q, _ := svqbT(v, n, p)
	return out, q
}

// svqbT is svqb that also returns the p×q transform applied.
func svqbT(v []float64, n, p int) ([]float64, int, []float64) {
	if p == 0 {
		return v, 0, nil
	}
	g := make([]float64, p*p)
	gemm(blas.Trans, blas.NoTrans, p, p, n, v, p, v, p, g, p)
	sym := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			sym.SetSym(i, j, (g[i*p+j]+g[j*p+i])/2)
		}
	}
	var eig mat.EigenSym
	eig.Factorize(sym, true)
	vals := eig.Values(nil)
	var vec mat.Dense
	eig.VectorsTo(&vec)
	top := 0.0
	for _, l := range vals {
		top = max(top, l)
	}
	var keep []int
	for j := p - 1; j >= 0; j-- {
		if vals[j] > 1e-14*top && vals[j] > 0 {
			keep = append(keep, j)
		}
	}
	q := len(keep)
	t := make([]float64, p*q)
	for c, j := range keep {
		s := 1 / math.Sqrt(vals[j])
		for r := 0; r < p; r++ {
			t[r*q+c] = vec.At(r, j) * s
		}
	}
	out := make([]float64, n*q)
	if q > 0 {
		gemm(blas.NoTrans, blas.NoTrans, n, q, p, v, p, t, q, out, q)
	}
	return out, q, t
}

// project removes from w (n×pw) its components along the orthonormal
// columns of x (n×p).
func project(w []float64, n, pw int, x []float64, p int) {
	c := make([]float64, p*pw)
	gemm(blas.Trans, blas.NoTrans, p, pw, n, x, p, w, pw, c, pw)
	blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, n, pw, p, -1, x, p, c, pw, 1, w, pw)
}

// projectWith is project applied to v (n×pv) and, with the same
// coefficients, to av against ax, so that av stays A·v.
func projectWith(v, av []float64, n, pv int, x, ax []float64, p int) []float64 {
	c := make([]float64, p*pv)
	gemm(blas.Trans, blas.NoTrans, p, pv, n, x, p, v, pv, c, pv)
	blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, n, pv, p, -1, x, p, c, pv, 1, v, pv)
	blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, n, pv, p, -1, ax, p, c, pv, 1, av, pv)
	return c
}

// mulSmall returns v (n×p) times t (p×q).
func mulSmall(v []float64, n, p int, t []float64, q int) []float64 {
	out := make([]float64, n*q)
	gemm(blas.NoTrans, blas.NoTrans, n, q, p, v, p, t, q, out, q)
	return out
}

func takeCols(x []float64, n, p, k int) []float64 {
	out := make([]float64, n*k)
	for i := 0; i < n; i++ {
		copy(out[i*k:(i+1)*k], x[i*p:i*p+k])
	}
	return out
}

func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
}

// gemm is C = op(A)·op(B) (row-major) through gonum's BLAS.
func gemm(ta, tb blas.Transpose, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int) {
	blas64.Implementation().Dgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}
