// Package gmm is the Gaussian mixture model fitted by expectation
// maximisation, as scikit-learn 1.2.1's GaussianMixture fits it: the same
// four covariance types, initialisations, regularisation, convergence test
// on the lower bound (the mean log-likelihood) and choice among n_init
// initialisations, computed in float64.
//
// Shapes (row-major): means k×d; covariances k×d×d (full), d×d (tied), k×d
// (diag) or k (spherical); the Cholesky factors of the precisions have the
// same shapes. A factor computed from a covariance is upper triangular
// (scikit-learn's inv(chol(Σ))ᵀ); one from precisions_init is the lower
// Cholesky factor of the precision, as scikit-learn keeps it. Either way
// the Mahalanobis term of x is ‖(x − μ)ᵀ·P‖².
package gmm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/clusterd/clusterd/engine/internal/nprand"
	"github.com/clusterd/clusterd/internal/parallel"
)

// Covariance types.
const (
	Full      = "full"
	Tied      = "tied"
	Diag      = "diag"
	Spherical = "spherical"
)

// Initialisations.
const (
	InitKMeans         = "kmeans"
	InitKMeansPlusPlus = "k-means++"
	InitRandom         = "random"
	InitRandomFromData = "random_from_data"
)

// Params are scikit-learn's GaussianMixture parameters of the same names.
type Params struct {
	NComponents int
	CovType     string
	Tol         float64
	RegCovar    float64
	MaxIter     int
	NInit       int
	Init        string
	// WeightsInit (k), MeansInit (k×d) and PrecisionsInit (the shape of the
	// covariance type) are nil when not given.
	WeightsInit, MeansInit, PrecisionsInit []float64
	Seed                                   int64
}

// DefaultParams returns scikit-learn's defaults.
func DefaultParams() Params {
	return Params{NComponents: 1, CovType: Full, Tol: 1e-3, RegCovar: 1e-6, MaxIter: 100, NInit: 1, Init: InitKMeans}
}

// ErrParams is wrapped by errors for invalid Params.
var ErrParams = errors.New("gmm: invalid parameters")

// ErrSingular is wrapped when a covariance is not positive definite. Its
// text is scikit-learn's message, which names reg_covar.
//
//lint:ignore ST1005 scikit-learn's message, verbatim
var ErrSingular = errors.New("Fitting the mixture model failed because some components have ill-defined empirical covariance " +
	"(for instance caused by singleton or collapsed samples). Try to decrease the number of components, or increase reg_covar")

// Seeder gives the data-dependent initialisations that need k-means: the
// labels of one k-means run (scikit-learn's KMeans(n_clusters=k, n_init=1))
// and the rows k-means++ picks, each from a seed.
type Seeder interface {
	KMeansLabels(ctx context.Context, k int, seed int64) ([]int32, error)
	KMeansPlusPlus(ctx context.Context, k int, seed int64) ([]int, error)
}

// Model is a fitted mixture.
type Model struct {
	CovType     string
	K, D        int
	Weights     []float64
	Means       []float64
	Covariances []float64 // nil when never estimated (max_iter 0 with precisions_init)
	PrecChol    []float64
	// Lower says PrecChol is lower triangular (from precisions_init).
	Lower      bool
	LowerBound float64
	NIter      int
	Converged  bool
}

// Result is a fit with the labels and probabilities of the data.
type Result struct {
	Model  *Model
	Labels []int32
	// Probabilities are each point's responsibility of its component.
	Probabilities []float64
	// InitsRun is the number of initialisations fitted.
	InitsRun int
}

// covSize is the length of a covariance (or precision factor) array.
func covSize(t string, k, d int) int {
	switch t {
	case Full:
		return k * d * d
	case Tied:
		return d * d
	case Diag:
		return k * d
	}
	return k
}

// Validate checks Params against the data's dimension.
func (p Params) Validate(n, d int) error {
	k := p.NComponents
	switch {
	case k < 1:
		return fmt.Errorf("%w: n_components %d", ErrParams, k)
	case n < k:
		return fmt.Errorf("%w: n_components = %d is more than the %d points", ErrParams, k, n)
	case p.CovType != Full && p.CovType != Tied && p.CovType != Diag && p.CovType != Spherical:
		return fmt.Errorf("%w: covariance_type %q", ErrParams, p.CovType)
	case p.Init != InitKMeans && p.Init != InitKMeansPlusPlus && p.Init != InitRandom && p.Init != InitRandomFromData:
		return fmt.Errorf("%w: init_params %q", ErrParams, p.Init)
	case p.WeightsInit != nil && len(p.WeightsInit) != k:
		return fmt.Errorf("%w: weights_init has %d weights for %d components", ErrParams, len(p.WeightsInit), k)
	case p.MeansInit != nil && len(p.MeansInit) != k*d:
		return fmt.Errorf("%w: means_init has %d values, want %d×%d", ErrParams, len(p.MeansInit), k, d)
	case p.PrecisionsInit != nil && len(p.PrecisionsInit) != covSize(p.CovType, k, d):
		return fmt.Errorf("%w: precisions_init has %d values, want %d for covariance_type %s with %d components of dimension %d",
			ErrParams, len(p.PrecisionsInit), covSize(p.CovType, k, d), p.CovType, k, d)
	case p.NInit < 1 || p.MaxIter < 0 || p.Tol < 0 || p.RegCovar < 0:
		return fmt.Errorf("%w: n_init %d, max_iter %d, tol %g, reg_covar %g", ErrParams, p.NInit, p.MaxIter, p.Tol, p.RegCovar)
	}
	return nil
}

// data is the float64 copy of the input with what every iteration reuses.
type data struct {
	x    []float64 // n×d
	n, d int
	xtx  []float64 // XᵀX (d×d), for tied covariances
}

// Fit fits the mixture to x (n×d float32, row-major).
func Fit(ctx context.Context, x []float32, n, d int, p Params, seeder Seeder) (*Result, error) {
	if err := p.Validate(n, d); err != nil {
		return nil, err
	}
	dt := &data{x: make([]float64, len(x)), n: n, d: d}
	for i, v := range x {
		dt.x[i] = float64(v)
	}
	if p.CovType == Tied {
		dt.xtx = make([]float64, d*d)
		gemm(blas.Trans, blas.NoTrans, d, d, n, 1, dt.x, d, dt.x, d, 0, dt.xtx, d)
	}
	k := p.NComponents
	logResp := make([]float64, n*k)
	var best *Model
	bestLB := math.Inf(-1)
	converged := false
	// scikit-learn draws every initialisation from one RandomState(random_state).
	rs := nprand.New(uint32(p.Seed))
	for init := 0; init < p.NInit; init++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := initialResp(ctx, dt, p, p.Seed+int64(init), rs, seeder)
		if err != nil {
			return nil, err
		}
		m, err := initialize(dt, resp, p)
		if err != nil {
			return nil, err
		}
		lb := math.Inf(-1)
		nIter := 0
		if p.MaxIter == 0 {
			m.NIter = 0
		}
		for it := 1; it <= p.MaxIter; it++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			nIter = it
			prev := lb
			lpn := m.eStep(dt, logResp)
			if err := m.mStep(dt, logResp, p.RegCovar); err != nil {
				return nil, err
			}
			lb = lpn
			if math.Abs(lb-prev) < p.Tol {
				converged = true
				break
			}
		}
		m.NIter, m.LowerBound = nIter, lb
		if lb > bestLB || math.IsInf(bestLB, -1) {
			bestLB, best = lb, m
		}
	}
	best.Converged = converged
	best.LowerBound = bestLB
	labels, probs := best.Predict(dt.x, n)
	return &Result{Model: best, Labels: labels, Probabilities: probs, InitsRun: p.NInit}, nil
}

// initialResp computes the initial responsibilities (n×k) of one
// initialisation. random and random_from_data draw from rs exactly as
// scikit-learn draws from its RandomState (uniform(size=(n, k)) and
// choice(n, k, replace=False)), so they start where scikit-learn starts;
// the k-means initialisations use clusterd's k-means seeded with seed.
func initialResp(ctx context.Context, dt *data, p Params, seed int64, rs *nprand.RandomState, seeder Seeder) ([]float64, error) {
	n, k := dt.n, p.NComponents
	resp := make([]float64, n*k)
	switch p.Init {
	case InitKMeans:
		labels, err := seeder.KMeansLabels(ctx, k, seed)
		if err != nil {
			return nil, err
		}
		for i, l := range labels {
			resp[i*k+int(l)] = 1
		}
	case InitRandom:
		for i := 0; i < n; i++ {
			var s float64
			for j := 0; j < k; j++ {
				v := rs.Float64()
				resp[i*k+j] = v
				s += v
			}
			for j := 0; j < k; j++ {
				resp[i*k+j] /= s
			}
		}
	case InitRandomFromData:
		for j, i := range rs.Choice(n, k) {
			resp[i*k+j] = 1
		}
	case InitKMeansPlusPlus:
		rows, err := seeder.KMeansPlusPlus(ctx, k, seed)
		if err != nil {
			return nil, err
		}
		for j, i := range rows {
			resp[i*k+j] = 1
		}
	}
	return resp, nil
}

// initialize is scikit-learn's _initialize: parameters estimated from the
// responsibilities, replaced by the given initial ones.
func initialize(dt *data, resp []float64, p Params) (*Model, error) {
	k, d := p.NComponents, dt.d
	m := &Model{CovType: p.CovType, K: k, D: d}
	nk, means, cov := estimate(dt, resp, k, p.RegCovar, p.CovType)
	for j := range nk {
		nk[j] /= float64(dt.n)
	}
	m.Weights, m.Means = nk, means
	if p.WeightsInit != nil {
		m.Weights = slices.Clone(p.WeightsInit)
	}
	if p.MeansInit != nil {
		m.Means = slices.Clone(p.MeansInit)
	}
	if p.PrecisionsInit == nil {
		m.Covariances = cov
		pc, err := precisionCholesky(cov, p.CovType, k, d)
		if err != nil {
			return nil, err
		}
		m.PrecChol = pc
		return m, nil
	}
	switch p.CovType {
	case Full, Tied:
		mats := 1
		if p.CovType == Full {
			mats = k
		}
		m.PrecChol = make([]float64, mats*d*d)
		for j := 0; j < mats; j++ {
			l, ok := choleskyLower(p.PrecisionsInit[j*d*d:(j+1)*d*d], d)
			if !ok {
				return nil, fmt.Errorf("%w: precisions_init is not positive definite", ErrParams)
			}
			copy(m.PrecChol[j*d*d:], l)
		}
		m.Lower = true
	default:
		m.PrecChol = make([]float64, len(p.PrecisionsInit))
		for i, v := range p.PrecisionsInit {
			m.PrecChol[i] = math.Sqrt(v)
		}
	}
	return m, nil
}

// estimate is scikit-learn's _estimate_gaussian_parameters: nk (k), means
// (k×d) and covariances from responsibilities resp (n×k).
func estimate(dt *data, resp []float64, k int, reg float64, covType string) ([]float64, []float64, []float64) {
	n, d := dt.n, dt.d
	nk := make([]float64, k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			nk[j] += resp[i*k+j]
		}
	}
	for j := range nk {
		nk[j] += 10 * 0x1p-52 // 10·float64 eps, as scikit-learn adds
	}
	means := make([]float64, k*d)
	gemm(blas.Trans, blas.NoTrans, k, d, n, 1, resp, k, dt.x, d, 0, means, d)
	for j := 0; j < k; j++ {
		for t := 0; t < d; t++ {
			means[j*d+t] /= nk[j]
		}
	}
	var cov []float64
	switch covType {
	case Full:
		cov = covFull(dt, resp, nk, means, reg)
	case Tied:
		cov = covTied(dt, nk, means, reg)
	case Diag:
		cov = covDiag(dt, resp, nk, means, reg)
	case Spherical:
		diag := covDiag(dt, resp, nk, means, reg)
		cov = make([]float64, k)
		for j := 0; j < k; j++ {
			var s float64
			for t := 0; t < d; t++ {
				s += diag[j*d+t]
			}
			cov[j] = s / float64(d)
		}
	}
	return nk, means, cov
}

// covFull: Σ_j = Σ_i r_ij (x_i − μ_j)(x_i − μ_j)ᵀ / nk_j + reg·I, through
// a rank-n update of the rows scaled by √r_ij.
func covFull(dt *data, resp, nk, means []float64, reg float64) []float64 {
	n, d := dt.n, dt.d
	k := len(nk)
	cov := make([]float64, k*d*d)
	// One component per goroutine: Σ_j = Wᵀ·W for the rows w_i =
	// √r_ij·(x_i − μ_j), computed as the Gram matrix of Wᵀ's rows. Rows
	// whose responsibility is exactly 0 (exp underflows far from a
	// component) add exactly 0 and are left out, which on separated data
	// leaves each component about its own points.
	parallelChunks(k, 1, func(j, _ int) {
		mu := means[j*d : (j+1)*d]
		var rows []int32
		for i := 0; i < n; i++ {
			if resp[i*k+j] > 0 {
				rows = append(rows, int32(i))
			}
		}
		np := pad4(len(rows))
		wt := make([]float64, d*np)
		for q, i := range rows {
			w := math.Sqrt(resp[int(i)*k+j])
			src := dt.x[int(i)*d : (int(i)+1)*d]
			for t := 0; t < d; t++ {
				wt[t*np+q] = w * (src[t] - mu[t])
			}
		}
		c := cov[j*d*d : (j+1)*d*d]
		gram(wt, d, np, c)
		for s := 0; s < d; s++ {
			for t := 0; t < d; t++ {
				if t < s {
					c[s*d+t] = c[t*d+s]
				}
			}
		}
		for e := range c {
			c[e] /= nk[j]
		}
		for s := 0; s < d; s++ {
			c[s*d+s] += reg
		}
	})
	return cov
}

// covTied is scikit-learn's (XᵀX − Σ_j nk_j μ_j μ_jᵀ)/Σ nk + reg·I.
func covTied(dt *data, nk, means []float64, reg float64) []float64 {
	d := dt.d
	k := len(nk)
	cov := slices.Clone(dt.xtx)
	var total float64
	for j := 0; j < k; j++ {
		total += nk[j]
		mu := means[j*d : (j+1)*d]
		for s := 0; s < d; s++ {
			for t := 0; t < d; t++ {
				cov[s*d+t] -= nk[j] * mu[s] * mu[t]
			}
		}
	}
	for e := range cov {
		cov[e] /= total
	}
	for s := 0; s < d; s++ {
		cov[s*d+s] += reg
	}
	return cov
}

// covDiag is scikit-learn's respᵀ(X²)/nk − 2·μ·(respᵀX)/nk + μ² + reg.
func covDiag(dt *data, resp, nk, means []float64, reg float64) []float64 {
	n, d := dt.n, dt.d
	k := len(nk)
	x2 := make([]float64, n*d)
	for i, v := range dt.x {
		x2[i] = v * v
	}
	avgX2 := make([]float64, k*d)
	gemm(blas.Trans, blas.NoTrans, k, d, n, 1, resp, k, x2, d, 0, avgX2, d)
	rx := make([]float64, k*d)
	gemm(blas.Trans, blas.NoTrans, k, d, n, 1, resp, k, dt.x, d, 0, rx, d)
	cov := make([]float64, k*d)
	for j := 0; j < k; j++ {
		for t := 0; t < d; t++ {
			e := j*d + t
			cov[e] = avgX2[e]/nk[j] - 2*(means[e]*rx[e]/nk[j]) + means[e]*means[e] + reg
		}
	}
	return cov
}

// precisionCholesky is scikit-learn's _compute_precision_cholesky.
func precisionCholesky(cov []float64, covType string, k, d int) ([]float64, error) {
	switch covType {
	case Full, Tied:
		mats := 1
		if covType == Full {
			mats = k
		}
		out := make([]float64, mats*d*d)
		for j := 0; j < mats; j++ {
			l, ok := choleskyLower(cov[j*d*d:(j+1)*d*d], d)
			if !ok {
				return nil, ErrSingular
			}
			// inv(L)ᵀ: upper triangular.
			var t mat.TriDense
			if err := t.InverseTri(mat.NewTriDense(d, mat.Lower, l)); err != nil {
				return nil, ErrSingular
			}
			pc := out[j*d*d : (j+1)*d*d]
			for r := 0; r < d; r++ {
				for c := 0; c <= r; c++ {
					pc[c*d+r] = t.At(r, c)
				}
			}
		}
		return out, nil
	default:
		out := make([]float64, len(cov))
		for i, v := range cov {
			if v <= 0 {
				return nil, ErrSingular
			}
			out[i] = 1 / math.Sqrt(v)
		}
		return out, nil
	}
}

// choleskyLower returns the lower Cholesky factor (d×d, row-major) of the
// symmetric matrix a, reading its lower triangle, as LAPACK's potrf does.
func choleskyLower(a []float64, d int) ([]float64, bool) {
	l := make([]float64, d*d)
	for j := 0; j < d; j++ {
		s := a[j*d+j]
		for t := 0; t < j; t++ {
			s -= l[j*d+t] * l[j*d+t]
		}
		if !(s > 0) {
			return nil, false
		}
		ljj := math.Sqrt(s)
		l[j*d+j] = ljj
		for i := j + 1; i < d; i++ {
			v := a[i*d+j]
			for t := 0; t < j; t++ {
				v -= l[i*d+t] * l[j*d+t]
			}
			l[i*d+j] = v / ljj
		}
	}
	return l, true
}

// logDet is scikit-learn's _compute_log_det_cholesky per component.
func (m *Model) logDet() []float64 {
	k, d := m.K, m.D
	out := make([]float64, k)
	switch m.CovType {
	case Full:
		for j := 0; j < k; j++ {
			for t := 0; t < d; t++ {
				out[j] += math.Log(m.PrecChol[j*d*d+t*d+t])
			}
		}
	case Tied:
		var s float64
		for t := 0; t < d; t++ {
			s += math.Log(m.PrecChol[t*d+t])
		}
		for j := range out {
			out[j] = s
		}
	case Diag:
		for j := 0; j < k; j++ {
			for t := 0; t < d; t++ {
				out[j] += math.Log(m.PrecChol[j*d+t])
			}
		}
	case Spherical:
		for j := 0; j < k; j++ {
			out[j] = float64(d) * math.Log(m.PrecChol[j])
		}
	}
	return out
}

// weightedLogProb writes log N(x_i | μ_j, Σ_j) + log w_j for every point
// and component into out (n×k).
func (m *Model) weightedLogProb(x []float64, n int, out []float64) {
	k, d := m.K, m.D
	ld := m.logDet()
	c := float64(d) * math.Log(2*math.Pi)
	logW := make([]float64, k)
	for j := range logW {
		logW[j] = math.Log(m.Weights[j])
	}
	switch m.CovType {
	case Full, Tied:
		mats := 1
		if m.CovType == Full {
			mats = k
		}
		factors := make([]*factorRows, mats)
		for j := range factors {
			factors[j] = newFactorRows(m.PrecChol[j*d*d:(j+1)*d*d], d, m.Lower)
		}
		dp := pad4(d)
		const chunk = 128
		parallelChunks(n, chunk, func(lo, hi int) {
			rows := hi - lo
			diff := make([]float64, rows*dp)
			sq := make([]float64, rows)
			for j := 0; j < k; j++ {
				f := factors[0]
				if m.CovType == Full {
					f = factors[j]
				}
				mu := m.Means[j*d : (j+1)*d]
				for r := 0; r < rows; r++ {
					src := x[(lo+r)*d : (lo+r+1)*d]
					for t := 0; t < d; t++ {
						diff[r*dp+t] = src[t] - mu[t]
					}
				}
				f.sqNorms(diff, rows, sq)
				for r := 0; r < rows; r++ {
					out[(lo+r)*k+j] = -0.5*(c+sq[r]) + ld[j] + logW[j]
				}
			}
		})
	case Diag, Spherical:
		parallelChunks(n, 256, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				xi := x[i*d : (i+1)*d]
				for j := 0; j < k; j++ {
					mu := m.Means[j*d : (j+1)*d]
					var s float64
					if m.CovType == Diag {
						pc := m.PrecChol[j*d : (j+1)*d]
						for t, v := range xi {
							e := (v - mu[t]) * pc[t]
							s += e * e
						}
					} else {
						for t, v := range xi {
							e := v - mu[t]
							s += e * e
						}
						s *= m.PrecChol[j] * m.PrecChol[j]
					}
					out[i*k+j] = -0.5*(c+s) + ld[j] + logW[j]
				}
			}
		})
	}
}

// eStep turns the weighted log-probabilities into log-responsibilities
// (written to logResp, n×k) and returns the mean log-likelihood.
func (m *Model) eStep(dt *data, logResp []float64) float64 {
	n, k := dt.n, m.K
	m.weightedLogProb(dt.x, n, logResp)
	norms := make([]float64, n)
	parallelChunks(n, 1024, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := logResp[i*k : (i+1)*k]
			lse := logSumExp(row)
			norms[i] = lse
			for j := range row {
				row[j] -= lse
			}
		}
	})
	var s float64
	for _, v := range norms {
		s += v
	}
	return s / float64(n)
}

// logSumExp is scipy's logsumexp of one row: log Σ exp(a − max) + max.
func logSumExp(a []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range a {
		mx = max(mx, v)
	}
	if math.IsInf(mx, 0) {
		mx = 0
	}
	var s float64
	for _, v := range a {
		s += math.Exp(v - mx)
	}
	return math.Log(s) + mx
}

// mStep is scikit-learn's _m_step.
func (m *Model) mStep(dt *data, logResp []float64, reg float64) error {
	resp := make([]float64, len(logResp))
	for i, v := range logResp {
		resp[i] = math.Exp(v)
	}
	nk, means, cov := estimate(dt, resp, m.K, reg, m.CovType)
	var s float64
	for _, v := range nk {
		s += v
	}
	for j := range nk {
		nk[j] /= s
	}
	pc, err := precisionCholesky(cov, m.CovType, m.K, m.D)
	if err != nil {
		return err
	}
	m.Weights, m.Means, m.Covariances, m.PrecChol, m.Lower = nk, means, cov, pc, false
	return nil
}

// Predict returns the most probable component of every row of x (n×d,
// float64) and its responsibility.
func (m *Model) Predict(x []float64, n int) ([]int32, []float64) {
	k := m.K
	lp := make([]float64, n*k)
	m.weightedLogProb(x, n, lp)
	labels := make([]int32, n)
	probs := make([]float64, n)
	for i := 0; i < n; i++ {
		row := lp[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		labels[i] = int32(best)
		probs[i] = math.Exp(row[best] - logSumExp(row))
	}
	return labels, probs
}

// gemm is C = alpha·op(A)·op(B) + beta·C (row-major) through gonum's BLAS.
func gemm(ta, tb blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	blas64.Implementation().Dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// parallelChunks runs fn over [0, n) in chunks of the given size on every
// core.
func parallelChunks(n, chunk int, fn func(lo, hi int)) {
	parallel.Chunks(context.Background(), 0, n, chunk, fn)
}
