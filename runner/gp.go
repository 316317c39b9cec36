package runner

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// gp is Gaussian-process regression with a squared-exponential kernel
// k(a, b) = exp(−‖a − b‖² / (2ℓ²)) (unit signal variance) and noise
// variance noise, on observations standardised to mean 0 and standard
// deviation 1; predictions are in the observations' units.
type gp struct {
	x          [][]float64
	ell, noise float64
	mean, std  float64
	chol       mat.Cholesky
	alpha      *mat.VecDense // (K + noise·I)⁻¹ y
}

// gpLengthScales are the length scales fitGP chooses from (by marginal
// likelihood), relative to the diagonal of the unit box.
var gpLengthScales = []float64{0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1}

// fitGP fits a GP to observations y at points x, choosing the length scale
// from gpLengthScales (times √dim) that maximises the log marginal
// likelihood log p(y | x, ℓ) = −½ yᵀα − Σ log Lᵢᵢ − (n/2) log 2π.
func fitGP(x [][]float64, y []float64, noise float64) (*gp, error) {
	if len(x) == 0 || len(x) != len(y) {
		return nil, errors.New("gp: no observations")
	}
	mean, std := stat.MeanStdDev(y, nil)
	if len(y) < 2 || std == 0 || math.IsNaN(std) {
		std = 1
	}
	ys := make([]float64, len(y))
	for i, v := range y {
		ys[i] = (v - mean) / std
	}
	yv := mat.NewVecDense(len(ys), ys)
	var best *gp
	bestLL := math.Inf(-1)
	for _, rel := range gpLengthScales {
		g := &gp{x: x, ell: rel * math.Sqrt(float64(len(x[0]))), noise: noise, mean: mean, std: std}
		n := len(x)
		k := mat.NewSymDense(n, nil)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := g.kernel(x[i], x[j])
				if i == j {
					v += noise
				}
				k.SetSym(i, j, v)
			}
		}
		if ok := g.chol.Factorize(k); !ok {
			continue
		}
		g.alpha = mat.NewVecDense(n, nil)
		if err := g.chol.SolveVecTo(g.alpha, yv); err != nil {
			continue
		}
		ll := -0.5*mat.Dot(yv, g.alpha) - 0.5*g.chol.LogDet() - 0.5*float64(n)*math.Log(2*math.Pi)
		if ll > bestLL {
			best, bestLL = g, ll
		}
	}
	if best == nil {
		return nil, errors.New("gp: the kernel matrix is not positive definite")
	}
	return best, nil
}

func (g *gp) kernel(a, b []float64) float64 {
	d := floats.Distance(a, b, 2)
	return math.Exp(-d * d / (2 * g.ell * g.ell))
}

// predict returns the posterior mean and standard deviation of the latent
// function at p: μ = k*ᵀα, σ² = k(p, p) − k*ᵀ (K + noise·I)⁻¹ k*.
func (g *gp) predict(p []float64) (mu, sd float64) {
	n := len(g.x)
	ks := mat.NewVecDense(n, nil)
	for i, xi := range g.x {
		ks.SetVec(i, g.kernel(p, xi))
	}
	mu = mat.Dot(ks, g.alpha)
	w := mat.NewVecDense(n, nil)
	variance := 1.0
	if err := g.chol.SolveVecTo(w, ks); err == nil {
		variance -= mat.Dot(ks, w)
	}
	return g.mean + g.std*mu, g.std * math.Sqrt(math.Max(variance, 0))
}

// expectedImprovement is E[max(f − best − xi, 0)] for f ~ N(mu, sd²):
// (mu − best − xi)·Φ(z) + sd·φ(z) with z = (mu − best − xi)/sd, and
// max(mu − best − xi, 0) when sd is 0.
func expectedImprovement(mu, sd, best, xi float64) float64 {
	gain := mu - best - xi
	if sd <= 0 {
		return math.Max(gain, 0)
	}
	z := gain / sd
	n := distuv.UnitNormal
	return gain*n.CDF(z) + sd*n.Prob(z)
}
