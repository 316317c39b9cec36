package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// symOp is a dense symmetric operator for the eigensolver tests.
type symOp struct {
	n int
	a []float64
}

func (o symOp) Size() int { return o.n }
func (o symOp) Apply(x []float64, p int, y []float64) {
	for i := 0; i < o.n; i++ {
		for c := 0; c < p; c++ {
			var s float64
			for j := 0; j < o.n; j++ {
				s += o.a[i*o.n+j] * x[j*p+c]
			}
			y[i*p+c] = s
		}
	}
}

// TestLargestAgainstDense: LOBPCG's leading eigenpairs equal the known
// ones (values to 1e-8, vectors up to sign to 1e-5), also for a tripled
// leading eigenvalue, which a single-vector Lanczos without restarts could
// not resolve.
func TestLargestAgainstDense(t *testing.T) {
	const n, k = 800, 5
	rng := rand.New(rand.NewPCG(1, 2))
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	lam := make([]float64, n)
	for i := range lam {
		lam[i] = -1 + 1.6*float64(i)/float64(n)
	}
	lam[n-1], lam[n-2], lam[n-3], lam[n-4], lam[n-5] = 1, 1, 1, 0.95, 0.9
	var a mat.Dense
	a.Mul(&q, mat.NewDiagDense(n, lam))
	a.Mul(&a, q.T())
	eig, err := Largest(context.Background(), symOp{n, a.RawMatrix().Data}, k, 1e-10, 2000, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 1, 1, 0.95, 0.9}
	for j, w := range want {
		if math.Abs(eig.Values[j]-w) > 1e-8 {
			t.Errorf("value %d = %v, want %v", j, eig.Values[j], w)
		}
	}
	for j, col := range []int{n - 4, n - 5} {
		var dot float64
		for i := 0; i < n; i++ {
			dot += eig.Vectors[i*k+3+j] * q.At(i, col)
		}
		if math.Abs(math.Abs(dot)-1) > 1e-5 {
			t.Errorf("vector %d: |cos| %v with the true one", 3+j, math.Abs(dot))
		}
	}
}

// TestClusterQRAndSignFlip: cluster_qr on an embedding whose rows are
// rotated indicator vectors recovers the indicators; the sign flip makes
// each column's largest entry positive.
func TestClusterQRAndSignFlip(t *testing.T) {
	const n, k = 90, 3
	emb := make([]float64, n*k)
	theta := 0.4
	rot := []float64{math.Cos(theta), -math.Sin(theta), 0, math.Sin(theta), math.Cos(theta), 0, 0, 0, 1}
	for i := 0; i < n; i++ {
		c := i % k
		for t := 0; t < k; t++ {
			emb[i*k+t] = rot[c*k+t] * (1 + 0.01*float64(i%5))
		}
	}
	labels := clusterQR(emb, n, k)
	for i := 0; i < n; i++ {
		if labels[i] != labels[i%k] {
			t.Fatalf("point %d in cluster %d, its class's first point in %d", i, labels[i], labels[i%k])
		}
	}
	if labels[0] == labels[1] || labels[1] == labels[2] || labels[0] == labels[2] {
		t.Fatalf("classes merged: %v", labels[:3])
	}
	v := []float64{1, -3, 2, 0.5}
	signFlip(v, 2, 2)
	if v[0] != 1 || v[2] != 2 || v[1] != 3 || v[3] != -0.5 {
		t.Errorf("sign flip gave %v", v)
	}
}
