// Package hdbscan is HDBSCAN* clustering (Campello, Moulavi and Sander,
// 2013) with the parameters, defaults and results of the reference Python
// implementation, scikit-learn-contrib hdbscan 0.8.33, Euclidean metric.
//
// The steps are the reference's: core distances (the distance to the
// min_samples-th nearest other point), a spanning tree of the
// mutual-reachability graph, the single-linkage tree along its edges, the
// tree condensed to clusters of at least min_cluster_size points, and the
// clusters chosen by excess of mass (or the leaves) with
// cluster_selection_epsilon and max_cluster_size applied. Like the
// reference, data of at most 60 dimensions goes through an approximate
// dual-tree Borůvka over a k-d tree and data of more dimensions through an
// exact Prim on the dense graph; both reproduce the reference's choices,
// ties and floating-point operations, so the labels match it point for
// point, including which points are noise.
//
// The k-nearest-neighbour search (above TreeKNNDimLimit dimensions) and
// Prim's distances go through the kernels.Backend; the k-d tree, its
// neighbour search in few dimensions and Borůvka are plain Go.
package hdbscan

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/engine/internal/dense"
	"github.com/clusterd/clusterd/engine/internal/kdtree"
	"github.com/clusterd/clusterd/kernels"
)

// Cluster selection methods.
const (
	ExcessOfMass = "eom"
	Leaf         = "leaf"
)

// TreeDimLimit is the largest dimension clustered through the k-d tree
// (Borůvka); above it the dense Prim is used, as in the reference.
const TreeDimLimit = 60

// TreeKNNDimLimit is the largest dimension whose nearest neighbours come
// from the k-d tree; above it (and for Prim) they come from the backend's
// brute-force search, refined to exact float64 distances. Measured on 2
// cores with the CPU backend: the tree wins clearly at 16 dimensions, the
// backend by 1.4× at 32.
const TreeKNNDimLimit = 16

// Params are the reference's parameters of the same names.
type Params struct {
	// MinClusterSize (min_cluster_size, ≥ 2, default 5) is the smallest
	// group that counts as a cluster.
	MinClusterSize int
	// MinSamples (min_samples) sets the core distance: the distance to the
	// MinSamples-th nearest other point. 0 means MinClusterSize. It is capped
	// at n−1.
	MinSamples int
	// ClusterSelectionEpsilon (cluster_selection_epsilon, ≥ 0, default 0)
	// merges clusters that split below this distance.
	ClusterSelectionEpsilon float64
	// MaxClusterSize (max_cluster_size, ≥ 0, default 0 = no limit) keeps
	// excess of mass from selecting larger clusters.
	MaxClusterSize int
	// Method (cluster_selection_method) is ExcessOfMass (default) or Leaf.
	Method string
	// AllowSingleCluster (allow_single_cluster, default false) lets the
	// whole data set be the one cluster.
	AllowSingleCluster bool
	// Alpha (alpha, > 0, default 1) divides distances before they are
	// compared with core distances. (The reference ignores it on data of at
	// most 60 dimensions; here it always applies.)
	Alpha float64
}

// DefaultParams returns the reference's defaults.
func DefaultParams() Params {
	return Params{MinClusterSize: 5, Method: ExcessOfMass, Alpha: 1}
}

// ErrParams is wrapped by the errors Fit returns for invalid Params.
var ErrParams = errors.New("hdbscan: invalid parameters")

// Validate reports the first invalid parameter.
func (p Params) Validate() error {
	switch {
	case p.MinClusterSize < 2:
		return fmt.Errorf("%w: min_cluster_size %d, need ≥ 2", ErrParams, p.MinClusterSize)
	case p.MinSamples < 0:
		return fmt.Errorf("%w: min_samples %d, need ≥ 1 (or 0 for min_cluster_size)", ErrParams, p.MinSamples)
	case !(p.ClusterSelectionEpsilon >= 0) || math.IsInf(p.ClusterSelectionEpsilon, 0):
		return fmt.Errorf("%w: cluster_selection_epsilon %g, need a finite value ≥ 0", ErrParams, p.ClusterSelectionEpsilon)
	case p.MaxClusterSize < 0:
		return fmt.Errorf("%w: max_cluster_size %d, need ≥ 0", ErrParams, p.MaxClusterSize)
	case p.Method != ExcessOfMass && p.Method != Leaf:
		return fmt.Errorf("%w: cluster_selection_method %q, need %q or %q", ErrParams, p.Method, ExcessOfMass, Leaf)
	case !(p.Alpha > 0) || math.IsInf(p.Alpha, 0):
		return fmt.Errorf("%w: alpha %g, need a finite value > 0", ErrParams, p.Alpha)
	}
	return nil
}

// Result is a clustering.
type Result struct {
	// Labels has one entry per point: a cluster number in [0, NumClusters)
	// or −1 for noise. Clusters are numbered as the reference numbers them.
	Labels      []int32
	NumClusters int
	NoisePoints int
	// SpanningTree names the algorithm that built the spanning tree:
	// "boruvka_kdtree" or "prims".
	SpanningTree string
	// CoreDistances are the points' core distances (Euclidean distance to
	// the min_samples-th nearest point, itself included).
	CoreDistances []float64
}

// Fit clusters x, the n×d row-major data uploaded to be as ds.
func Fit(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	n, d := ds.Rows(), ds.Dim()
	if err := kernels.CheckLen("x", len(x), n*d); err != nil {
		return nil, err
	}
	if n < 2 {
		return &Result{Labels: []int32{-1}, NoisePoints: 1, SpanningTree: "none"}, nil
	}
	ms := p.MinSamples
	if ms == 0 {
		ms = p.MinClusterSize
	}
	ms = min(ms, n-1)
	edges, how, core, err := spanningTree(ctx, be, ds, x, ms+1, p.Alpha)
	if err != nil {
		return nil, err
	}
	tree := newClusterTree(condense(singleLinkage(edges, n), n, p.MinClusterSize), n)
	chosen := tree.selectClusters(selection{leaf: p.Method == Leaf, allowSingle: p.AllowSingleCluster,
		epsilon: p.ClusterSelectionEpsilon, maxSize: p.MaxClusterSize})
	res := &Result{SpanningTree: how, CoreDistances: core}
	res.Labels, res.NumClusters = tree.label(chosen, p.ClusterSelectionEpsilon)
	for _, l := range res.Labels {
		if l < 0 {
			res.NoisePoints++
		}
	}
	return res, nil
}

// spanningTree returns the reference's spanning tree of the
// mutual-reachability graph whose core distances are the distances to the
// k-th nearest point (itself included), its edges in the order the
// reference finds them, and the name of the algorithm used.
func spanningTree(ctx context.Context, be kernels.Backend, ds kernels.Dataset, x []float32, k int, alpha float64) ([]edge, string, []float64, error) {
	n, d := ds.Rows(), ds.Dim()
	coreOf := func(knnD2 []float64) []float64 {
		core := make([]float64, n)
		for i := range core {
			core[i] = math.Sqrt(knnD2[i*k+k-1])
		}
		return core
	}
	if d > TreeDimLimit {
		_, knnD2, err := exactKNN(ctx, be, ds, x, k)
		if err != nil {
			return nil, "", nil, err
		}
		core := coreOf(knnD2)
		steps, err := dense.Prim(ctx, be, ds, x, core, alpha)
		if err != nil {
			return nil, "", nil, err
		}
		edges := make([]edge, len(steps))
		for i, s := range steps {
			edges[i] = edge{s.Source, s.Node, s.Dist}
		}
		return edges, "prims", core, nil
	}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	t, err := kdtree.Build(x64, n, d, kdtree.DefaultLeafSize)
	if err != nil {
		return nil, "", nil, err
	}
	var knn []int32
	var knnD2 []float64
	if d <= TreeKNNDimLimit {
		knn, knnD2 = make([]int32, n*k), make([]float64, n*k)
		err = t.KNN(ctx, k, 0, knn, knnD2)
	} else {
		knn, knnD2, err = exactKNN(ctx, be, ds, x, k)
	}
	if err != nil {
		return nil, "", nil, err
	}
	edges, err := boruvkaMST(ctx, t, knn, knnD2, k, alpha)
	return edges, "boruvka_kdtree", coreOf(knnD2), err
}
