// Package algo is the contract between the engine's pipeline (package
// engine) and its algorithms (one package each: kmeans, minibatch, hdbscan,
// dbscan, agglomerative, gmm, spectral, meanshift, optics).
//
// An algorithm is parsed from its validated parameters (a Parser), checked
// against the data (Algorithm.Check) and fitted on a State: the vectors, the
// same vectors resident on a kernels.Backend, the run's seed and where to
// report progress. It hands back a Fitted, which the pipeline turns into a
// result (statistics, metrics). Optional interfaces say how an algorithm
// labels the points outside a fitting sample (Extender), how it clusters a
// cluster again (Splitter) and which parameters the data's shape alone can
// refuse (ShapeChecker).
package algo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/clusterd/clusterd/internal/sqdist"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/schema"
)

// Input is the data to cluster: N rows of D features, row-major. Fit only
// reads X.
type Input struct {
	X    []float32
	N, D int
}

// Progress is reported while a run works.
type Progress struct {
	Phase             string // "init", "iterate", "finalize", "metrics"
	Restart, Restarts int    // current restart (1-based) and number of restarts (n_init)
	Iteration         int    // Lloyd iteration or mini-batch step within the run (1-based)
	MaxIter           int
	Inertia           float64 // current objective (sum of squared distances)
	// PointsPerSecond is the assignment rate of the last iteration.
	PointsPerSecond float64
	// Points, FLOPs and Seconds describe the work of one "iterate" event:
	// points assigned, distance FLOPs (2·points·k·d) and its duration.
	Points  int
	FLOPs   float64
	Seconds float64
	// Fraction is an estimate of the work done, in [0, 1].
	Fraction float64
}

// DataError reports input data that cannot be clustered.
type DataError struct {
	Row int // the offending row, or −1 when the problem is not one row's
	Msg string
}

// Algorithm is one algorithm with its parsed parameters.
type Algorithm interface {
	// Params returns the parameters as the run will use them.
	Params() map[string]any
	// Check validates the parameters against the data's shape.
	Check(in Input) error
	// Fit clusters the data.
	Fit(ctx context.Context, r *State) (*Fitted, error)
}

// Fitted is what an algorithm hands back to the shared finishing steps.
type Fitted struct {
	Labels      []int32
	K           int       // labels are in [0, k) or −1
	Centroids   []float32 // k×d, or nil to use the members' means
	Iterations  int
	IterSeconds float64 // seconds in iterations
	// Reach, for density methods, is per fitted point the distance within
	// which it extends its cluster to points outside a sample (negative:
	// it does not extend it), measured as cosine distance when ReachCosine
	// is set and as Euclidean distance otherwise. An algorithm without an
	// Extend that leaves Reach nil extends every cluster without limit:
	// each point outside the sample takes its nearest labelled point's label.
	Reach       []float64
	ReachCosine bool
	Inertia     *float64
	NInitUsed   int
	NInitNote   string
	// KSelection records how n_clusters "auto" chose k.
	KSelection *KSelection
	// InitSample is the number of points k-means++ seeded from.
	InitSample int
	// Measured counts the rows measured against every centre in the kept
	// run's iterations (bounded assignment skips the others).
	Measured int
	// Probabilities are a mixture's per-point posterior probabilities of
	// their component; Model is the fitted model, for the algorithm's own
	// Extend (a mixture predicts with it).
	Probabilities []float64
	Model         any
	// LowerBound and Converged describe a mixture's fit.
	LowerBound *float64
	Converged  *bool
	// Bandwidth is mean shift's bandwidth; ClusterAll its cluster_all.
	Bandwidth  float64
	ClusterAll bool
	// Seeding and SeedIterations say how k-means++ seeded the kept run.
	Seeding        string
	SeedIterations int
}

// Parser builds an algorithm from its validated parameters: v completed
// with the defaults, given as the request sent them; seed overrides
// random_state when set.
type Parser func(v, given schema.Values, seed *int64) (Algorithm, error)

// State is the state shared by an algorithm and the finishing steps.
type State struct {
	In       Input
	DS       kernels.Dataset
	Backend  kernels.Backend
	Seed     int64
	Progress func(Progress)
	// Phases collects the seeding time of the run and of the runs on its
	// samples (nil: not collected).
	Phases *Phases
}

// fitShare is the part of a run's progress given to fitting; the statistics
// and metrics take the rest.
const fitShare = 0.85

// Report passes an event on, turning its Fraction into the whole run's:
// algorithms report their fitting progress in [0, 1].
func (r *State) Report(p Progress) {
	if r.Progress == nil {
		return
	}
	switch p.Phase {
	case "init", "iterate":
		p.Fraction *= fitShare
	case "finalize":
		p.Fraction = fitShare
	case "metrics":
		p.Fraction = (1 + fitShare) / 2
	}
	r.Progress(p)
}

// ParamError is an algorithm parameter that the data cannot honour (found
// when the data is known, such as n_clusters above the number of points).
// Param is the parameter's name in algorithm_params. Problems that need no
// data are schema.Problems from the algorithm's model in package params.
type ParamError struct {
	Param string
	Msg   string
}

// ReadSeed returns the run's seed: the override when set, else
// random_state, else (random_state null) a fresh seed, which the run
// reports in its stats so it can be repeated.
func ReadSeed(v schema.Values, override *int64) int64 {
	switch {
	case override != nil:
		return *override
	case v.Has("random_state"):
		return int64(v.Int("random_state"))
	}
	return int64(rand.Uint32())
}

// ReadNInit reads n_init: a positive integer or "auto"; given reports
// whether the request sent it.
func ReadNInit(v, given schema.Values) (n int, isGiven, auto bool) {
	isGiven = given.Has("n_init")
	if v.IsString("n_init", "auto") {
		return 0, true, true
	}
	return v.Int("n_init"), isGiven, false
}

// Extender is implemented by algorithms that know how to label points
// outside the sample they were fitted on; rows are the sample's rows in full.
type Extender interface {
	Extend(ctx context.Context, full, sample *State, rows []int, f *Fitted) (*Fitted, error)
}

func ExtendCentroids(ctx context.Context, full *State, f *Fitted) (*Fitted, error) {
	out := *f
	out.Labels = make([]int32, full.In.N)
	dist := make([]float32, full.In.N)
	if err := full.Backend.Assign(ctx, full.DS, f.Centroids, f.K, out.Labels, dist); err != nil {
		return nil, err
	}
	if err := full.Backend.LabelDistances(ctx, full.DS, f.Centroids, f.K, out.Labels, dist); err != nil {
		return nil, err
	}
	inertia := Sum64(dist)
	out.Inertia = &inertia
	return &out, nil
}

// Splitter is implemented by algorithms whose parameters change for a
// sub-clustering; others re-run with the same parameters.
type Splitter interface {
	// Child returns the algorithm for a cluster of m points, or false when such
	// a cluster should not be split.
	Child(m int) (Algorithm, bool)
}

// ChildClusters is a child's n_clusters for a cluster of size points:
// min(n_clusters, ⌊size/10⌋), so children average at least 10 points;
// fewer than 2 means no split.
func ChildClusters(nClusters, size int) (int, bool) {
	k := min(nClusters, size/10)
	return k, k >= 2
}

// ShapeChecker is implemented by algorithms whose parameters can be
// checked against the data's shape alone (n points of d features).
type ShapeChecker interface {
	CheckShape(n, d int) error
}

// Compact drops clusters without members and renumbers the rest 0..k'−1 in
// their original order; centroids (k×d, may be nil) follow.
func Compact(labels []int32, k int, centroids []float32, d int) ([]int32, int, []float32) {
	used := make([]bool, k)
	for _, l := range labels {
		if l >= 0 {
			used[l] = true
		}
	}
	newID := make([]int32, k)
	kk := 0
	for j := 0; j < k; j++ {
		newID[j] = int32(kk)
		if used[j] {
			kk++
		}
	}
	if kk == k {
		return labels, k, centroids
	}
	out := make([]int32, len(labels))
	for i, l := range labels {
		out[i] = l
		if l >= 0 {
			out[i] = newID[l]
		}
	}
	var cent []float32
	if centroids != nil {
		cent = make([]float32, 0, kk*d)
		for j := 0; j < k; j++ {
			if used[j] {
				cent = append(cent, centroids[j*d:(j+1)*d]...)
			}
		}
	}
	return out, kk, cent
}

// Grow returns s resliced to length n when its capacity allows, else a new
// zeroed slice of length n (the contents are not kept): scratch buffers
// reused from call to call.
func Grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// AddRows64 adds every row of x (rows of len(sum) values, in order) to
// sum, in float64: the same additions in the same order as the plain loop
// (sum[t] += x[i·d+t] row after row), so the same bits, but eight features
// at a time over a block of rows, with their sums in registers. The plain
// loop keeps each sum in memory and waits for the store of one row before
// it adds the next (about 8 cycles a value; a column sum of 1,000,000 ×
// 128 took 0.17 s).
func AddRows64(sum []float64, x []float32) {
	d := len(sum)
	if d == 0 {
		return
	}
	const block = 256 // rows per block: 128 KiB at d = 128, read from cache once per 8 features
	for lo := 0; lo < len(x); lo += block * d {
		xb := x[lo:min(len(x), lo+block*d)]
		t := 0
		for ; t+8 <= d; t += 8 {
			s := sum[t : t+8 : t+8]
			s0, s1, s2, s3, s4, s5, s6, s7 := s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
			for i := t; i+8 <= len(xb); i += d {
				v := xb[i : i+8 : i+8]
				s0 += float64(v[0])
				s1 += float64(v[1])
				s2 += float64(v[2])
				s3 += float64(v[3])
				s4 += float64(v[4])
				s5 += float64(v[5])
				s6 += float64(v[6])
				s7 += float64(v[7])
			}
			s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7] = s0, s1, s2, s3, s4, s5, s6, s7
		}
		for ; t < d; t++ {
			st := sum[t]
			for i := t; i < len(xb); i += d {
				st += float64(xb[i])
			}
			sum[t] = st
		}
	}
}

// SqNorm64 is ‖v‖² accumulated in float64 (sqdist.Norm: each square
// exact, vectorised where the machine can).
func SqNorm64(v []float32) float64 { return sqdist.Norm(v) }

// SampleRows returns m distinct indices drawn uniformly from rows, in
// ascending order, using a seeded generator.
func SampleRows(rows []int, m int, seed int64) []int {
	if m >= len(rows) {
		return rows
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5ea1))
	p := slices.Clone(rows)
	for i := 0; i < m; i++ {
		j := i + rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	out := p[:m]
	slices.Sort(out)
	return out
}

func Sum64(v []float32) float64 {
	var s float64
	for _, e := range v {
		s += float64(e)
	}
	return s
}

// LabelledRows returns the rows whose label is not noise (≥ 0), in order,
// in one allocation (a list grown by appending costs a million-row run
// about 0.1 s in copies and the collections they start under a low GOGC).
func LabelledRows(labels []int32) []int {
	n := 0
	for _, l := range labels {
		if l >= 0 {
			n++
		}
	}
	rows := make([]int, 0, n)
	for i, l := range labels {
		if l >= 0 {
			rows = append(rows, i)
		}
	}
	return rows
}

// GatherRows copies the listed rows of in into a new Input.
func GatherRows(in Input, idx []int) Input {
	out := Input{X: make([]float32, len(idx)*in.D), N: len(idx), D: in.D}
	for p, i := range idx {
		copy(out.X[p*in.D:(p+1)*in.D], in.X[i*in.D:(i+1)*in.D])
	}
	return out
}

// KSelection is how n_clusters "auto" chose k: every candidate with its
// silhouette coefficient on the comparison sample.
type KSelection struct {
	K           []int     `json:"k"`
	Silhouette  []float64 `json:"silhouette"`
	Chosen      int       `json:"chosen"`
	SampleSize  int       `json:"sample_size"`
	Description string    `json:"description"`
}

func (e *DataError) Error() string {
	if e.Row >= 0 {
		return fmt.Sprintf("row %d: %s", e.Row, e.Msg)
	}
	return e.Msg
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return "algorithm_params: " + e.Msg
	}
	return fmt.Sprintf("algorithm_params.%s: %s", e.Param, e.Msg)
}
