package engine

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ProjectionSample bounds the rows the principal axes are fitted on; every
// row is then projected onto them.
const ProjectionSample = 10000

// Projection maps d-dimensional points onto principal axes fitted by
// FitProjection, for scatter plots.
type Projection struct {
	mean  []float64   // d
	axes  [][]float64 // min(d, comps) unit vectors of length d
	comps int
}

// FitProjection fits the first comps principal axes of the n×d rows of x
// (PCA through gonum: the covariance of a seeded uniform sample of at most
// ProjectionSample rows and its symmetric eigendecomposition). Each axis's
// sign is fixed so that its largest loading is positive, which makes the
// projection deterministic. Axes beyond min(d, comps) project to zero.
func FitProjection(x []float32, n, d, comps int, seed int64) (*Projection, error) {
	if n < 1 || d < 1 || len(x) != n*d || comps < 1 {
		return nil, errors.New("engine: FitProjection: bad shape")
	}
	mean, cov := sampleCovariance(x, n, d, seed)
	p := &Projection{mean: mean, comps: comps}
	var eig mat.EigenSym
	if ok := eig.Factorize(cov, true); !ok {
		return nil, errors.New("engine: FitProjection: eigendecomposition did not converge")
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	// Eigenvalues come in ascending order: the principal axes are the last columns.
	for c := 0; c < min(comps, d); c++ {
		col := d - 1 - c
		w := make([]float64, d)
		big := 0
		for t := 0; t < d; t++ {
			w[t] = vecs.At(t, col)
			if math.Abs(w[t]) > math.Abs(w[big]) {
				big = t
			}
		}
		if w[big] < 0 {
			for t := range w {
				w[t] = -w[t]
			}
		}
		p.axes = append(p.axes, w)
	}
	return p, nil
}

// Transform projects the m rows of y (m×d) and returns m×comps coordinates,
// row-major, centred on the fitted data's mean.
func (p *Projection) Transform(y []float32, m int) []float32 {
	d := len(p.mean)
	w := make([]float32, p.comps*d)
	for c, axis := range p.axes {
		for t, v := range axis {
			w[c*d+t] = float32(v)
		}
	}
	return affine(y, m, d, p.mean, w, p.comps)
}
