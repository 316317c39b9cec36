// Package kernels defines the seam between clustering algorithms and the
// hardware that runs their costly steps.
//
// An algorithm in package engine uploads its data once with Backend.Upload and
// then calls the few primitives below, which is all a CPU or GPU backend has
// to implement. Every method's comment states the shapes, the layout and the
// plain loop the method must equal; package kernels/conformance checks any
// backend against a float64 reference of those loops.
//
// Conventions for every method:
//   - matrices are row-major float32 slices: "c is k×d" means c[j*d+t] is
//     feature t of row j;
//   - squared Euclidean distance is ‖a−b‖² = Σ_t (a_t − b_t)²;
//   - ties are broken towards the lower index, so results do not depend on
//     how a backend splits the work;
//   - outputs are caller-allocated with the stated length; a method returns
//     ErrShape (wrapped) when a length is wrong and never writes past it;
//   - methods honour ctx cancellation between blocks of work and then return
//     ctx.Err().
package kernels

import (
	"context"
	"errors"
	"fmt"
)

// ErrShape reports a slice whose length does not match the stated shape.
var ErrShape = errors.New("kernels: shape mismatch")

// ErrUnsupported reports a request a backend cannot serve (for example a
// dataset too large for device memory); callers may retry on another backend.
var ErrUnsupported = errors.New("kernels: unsupported by backend")

// Dataset is an n×d float32 matrix resident on a backend. It is created by
// Backend.Upload and must be released with Close. A Dataset belongs to the
// backend that made it; passing it to another backend is a programming error.
type Dataset interface {
	// Rows is n, the number of points.
	Rows() int
	// Dim is d, the number of features per point.
	Dim() int
	// Close releases the resources held for the dataset.
	Close() error
}

// Backend runs the hot loops of the clustering algorithms.
// Implementations must be safe for use by one goroutine at a time per
// Dataset; different Datasets may be used concurrently.
type Backend interface {
	// Name identifies the backend in results and metrics ("cpu", "gpu:0").
	Name() string

	// Upload makes x (n×d, row-major) resident on the backend. The backend
	// may keep a reference to x instead of copying it, so the caller must
	// not modify x until the Dataset is closed. n ≥ 1, d ≥ 1.
	Upload(x []float32, n, d int) (Dataset, error)

	// Assign finds each row's nearest centroid.
	// c is k×d; labels and dist2 have length n. It must equal:
	//
	//	for i := range n {
	//	    labels[i], dist2[i] = 0, +Inf
	//	    for j := range k {
	//	        if e := ‖x_i − c_j‖²; e < dist2[i] { labels[i], dist2[i] = j, e }
	//	    }
	//	}
	//
	// dist2 within 1e-5·(‖x_i‖² + ‖c_j‖²) absolute of the float64 value;
	// a label may differ from the reference only where the reference's best
	// and second-best distances are within that tolerance.
	Assign(ctx context.Context, x Dataset, c []float32, k int, labels []int32, dist2 []float32) error

	// SumByLabel accumulates per-cluster sums and counts: sums is k×d, counts
	// has length k, labels has length n; both outputs are overwritten. It
	// must equal, in float64 arithmetic:
	//
	//	clear(sums); clear(counts)
	//	for i := range n {
	//	    if l := labels[i]; l >= 0 {            // negative labels (noise) are skipped
	//	        counts[l]++
	//	        for t := range d { sums[l*d+t] += x[i*d+t] }
	//	    }
	//	}
	//
	// within 1e-9 relative to Σ|x| per entry. A label ≥ k is ErrShape.
	SumByLabel(ctx context.Context, x Dataset, labels []int32, k int, sums []float64, counts []int64) error

	// Distances computes all squared distances from the rows to m points:
	// y is m×d and out is n×m with out[i*m+j] = ‖x_i − y_j‖², to the same
	// tolerance as Assign. Meant for small m (k-means++ candidates).
	Distances(ctx context.Context, x Dataset, y []float32, m int, out []float32) error

	// LabelDistances measures every row's squared distance to its own
	// cluster's centroid: c is k×d, labels and out have length n, and
	//
	//	out[i] = ‖x_i − c_{labels[i]}‖²   if labels[i] ≥ 0
	//	out[i] = −1                      if labels[i] < 0 (noise)
	//
	// computed from differences rather than the GEMM form, so it is accurate
	// to float32 rounding (1e-6 relative) even for near-zero distances and
	// data far from the origin. A label ≥ k is ErrShape.
	LabelDistances(ctx context.Context, x Dataset, c []float32, k int, labels []int32, out []float32) error

	// KNN finds each row's k nearest rows of the same dataset, the row
	// itself included (it is normally first, at distance 0). idx and dist2
	// are n×k; row i's neighbours are sorted by ascending distance, ties by
	// ascending index. 1 ≤ k ≤ n. Must equal sorting all n candidates by
	// (‖x_i − x_j‖², j) and keeping the first k; distances to the Assign
	// tolerance, and an index may differ only where distances tie within it.
	KNN(ctx context.Context, x Dataset, k int, idx []int32, dist2 []float32) error

	// ClusterDistanceSums sums plain (not squared) Euclidean distances from
	// every row to the members of every cluster, the reduction behind the
	// silhouette coefficient. labels has length n with values in [0, k) or
	// negative (excluded); out is n×k:
	//
	//	clear(out)
	//	for i := range n {
	//	    for j := range n {
	//	        if l := labels[j]; l >= 0 { out[i*k+l] += ‖x_i − x_j‖ }
	//	    }
	//	}
	//
	// within 1e-5 relative per entry (float64 accumulation).
	ClusterDistanceSums(ctx context.Context, x Dataset, labels []int32, k int, out []float64) error
}

// SubsetAssigner is an optional fast path used by bounded (Hamerly) k-means:
// it assigns only the listed rows and also reports the second-smallest
// distance, which bounds how far the centroids may move before the row has
// to be checked again. rows holds distinct row indices; labels, dist2 and
// second2 have length len(rows) and refer to rows[i]. For k = 1, second2 is
// +Inf. Same tolerances as Backend.Assign.
type SubsetAssigner interface {
	AssignSubset(ctx context.Context, x Dataset, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error
}

// CheckLen returns an ErrShape error naming what when got != want.
func CheckLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%w: %s has length %d, want %d", ErrShape, what, got, want)
	}
	return nil
}
