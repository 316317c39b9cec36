// Package engine runs clustering algorithms over a kernels.Backend.
//
// It takes vectors and parameters and returns a Result: labels, centroids,
// per-cluster statistics and quality metrics. It knows nothing of HTTP, SQL
// or files, which lets the CLI, the service and the GPU worker share it.
//
// This package is the pipeline around an algorithm: validation,
// preprocessing, sampling, the finishing statistics, hierarchy and
// effective centroids. Each algorithm is a package of its own (kmeans,
// minibatch, hdbscan, dbscan, agglomerative, gmm, spectral, meanshift,
// optics) behind the small interface of package algo; package quality
// holds the quality scores.
//
// Parameters follow scikit-learn's constructor names and defaults (see
// ParseParams); every random choice is drawn from a generator seeded by the
// run's seed, and the backends are deterministic, so a run is reproducible
// bit for bit on any machine with the same backend.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/clusterd/clusterd/internal/parallel"

	"github.com/clusterd/clusterd/engine/agglomerative"
	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/engine/dbscan"
	"github.com/clusterd/clusterd/engine/gmm"
	"github.com/clusterd/clusterd/engine/hdbscan"
	"github.com/clusterd/clusterd/engine/kmeans"
	"github.com/clusterd/clusterd/engine/meanshift"
	"github.com/clusterd/clusterd/engine/minibatch"
	"github.com/clusterd/clusterd/engine/optics"
	"github.com/clusterd/clusterd/engine/quality"
	"github.com/clusterd/clusterd/engine/spectral"
	"github.com/clusterd/clusterd/kernels"
	paramModels "github.com/clusterd/clusterd/params"
)

// Algorithm names accepted in Spec.Algorithm (the API's clustering_method);
// package params declares their parameters.
const (
	KMeans          = paramModels.KMeans
	MiniBatchKMeans = paramModels.MiniBatchKMeans
	HDBSCAN         = paramModels.HDBSCAN
	DBSCAN          = paramModels.DBSCAN
	Agglomerative   = paramModels.Agglomerative
	GaussianMixture = paramModels.GaussianMixture
	Spectral        = paramModels.Spectral
	MeanShift       = paramModels.MeanShift
	OPTICS          = paramModels.OPTICS
)

// DefaultRandomState is the seed used when neither random_state nor
// Spec.Seed is given (the API's documented default).
const DefaultRandomState = paramModels.DefaultRandomState

// DefaultSilhouetteSampleSize is the number of points above which the
// silhouette coefficient, O(n²) to compute exactly, is computed on a seeded
// uniform sample of that many points (Stats.MetricsSampleSize says so).
// Davies–Bouldin and Calinski–Harabasz are O(n) and always use every point.
const DefaultSilhouetteSampleSize = 10000

// Spec says what to run.
type Spec struct {
	// Algorithm is one of the algorithm names (KMeans, MiniBatchKMeans, …).
	Algorithm string
	// Params is the JSON object of algorithm parameters (algorithm_params);
	// nil means all defaults.
	Params json.RawMessage
	// Seed, when set, overrides the random_state parameter.
	Seed *int64
	// SilhouetteSampleSize overrides DefaultSilhouetteSampleSize; a negative
	// value means always exact.
	SilhouetteSampleSize int
	// Pipeline are the steps around the algorithm (all off by default).
	Pipeline Pipeline
}

// The types the pipeline shares with the algorithms (package algo) and
// the quality scores (package quality), under the names the engine's
// callers use.
type (
	// Input is the data to cluster: N rows of D features, row-major.
	Input = algo.Input
	// Progress is reported while a run works.
	Progress = algo.Progress
	// DataError reports input data that cannot be clustered.
	DataError = algo.DataError
	// ParamError is an algorithm parameter that the data cannot honour.
	ParamError = algo.ParamError
	// Phases are the seconds a run spent in each of its phases.
	Phases = algo.Phases
	// KSelection is how n_clusters "auto" chose k.
	KSelection = algo.KSelection
	// Metrics are the quality scores, with scikit-learn's definitions.
	Metrics = quality.Metrics
)

// How a k-means restart was seeded (Stats.Seeding).
const (
	SeedingGreedy  = kmeans.SeedingGreedy
	SeedingCoreset = kmeans.SeedingCoreset
)

// Options carry what a run needs besides the data and parameters.
type Options struct {
	Backend  kernels.Backend
	Progress func(Progress) // optional; called from the run's goroutine
}

// Result is what a run produced.
type Result struct {
	Algorithm   string
	Labels      []int32 // one per input row; −1 is noise
	NumClusters int     // real clusters (noise is not one)
	Centroids   []float32
	Clusters    []Cluster // NumClusters entries, in label order
	// Distances are each point's squared Euclidean distance to its
	// cluster's centroid, −1 for noise.
	Distances []float32
	// Probabilities are, for a Gaussian mixture, each point's posterior
	// probability of the component it belongs to (nil for other
	// algorithms).
	Probabilities []float32
	// Vectors are the vectors that were clustered: the input after
	// preprocessing (the input itself when there was none).
	Vectors Input
	// SubClusters are the clusters found inside clusters when the pipeline
	// is hierarchical, parents before children; Leaf then gives each
	// point's deepest cluster as an index into AllClusters (−1 noise).
	SubClusters []Cluster
	Leaf        []int32
	Metrics     *Metrics // nil unless at least 2 clusters
	Stats       Stats
}

// Cluster describes one cluster of a result.
type Cluster struct {
	Label    int    // the label its members carry
	ID       string // "cl_0", …
	Members  int
	Centroid []float32 // length D, a view into Result.Centroids
	// Variance is the mean squared Euclidean distance of the members to the
	// centroid (the cluster's share of the inertia divided by its size).
	Variance float64
	// MeanCosine and MinCosine are the mean and minimum cosine similarity of
	// the members to the centroid; nil when undefined (zero vectors).
	MeanCosine, MinCosine *float64
	// Parent is the enclosing cluster's ID ("" at the top level) and Level
	// the depth (0 at the top level).
	Parent string
	Level  int
}

// AllClusters lists the top-level clusters followed by the sub-clusters.
func (r *Result) AllClusters() []Cluster {
	return append(append([]Cluster(nil), r.Clusters...), r.SubClusters...)
}

// Stats describe how the run went.
type Stats struct {
	Iterations int `json:"iterations"`
	// IterationSeconds is the time spent in the algorithm's iterations
	// (Lloyd iterations or mini-batch steps) of the kept restart, without
	// initialisation, metrics and bookkeeping.
	IterationSeconds float64  `json:"iteration_seconds,omitempty"`
	Inertia          *float64 `json:"inertia"`
	NInitUsed        int      `json:"n_init_used"`
	NInitNote        string   `json:"n_init_note,omitempty"`
	DurationSeconds  float64  `json:"duration_seconds"`
	PointsPerSecond  float64  `json:"points_per_second"`
	// MetricsSampleSize is the number of points the silhouette was computed
	// on (the non-noise points, or a sample of them).
	MetricsSampleSize int `json:"metrics_sample_size"`
	// FitSampleSize is the number of points the algorithm was fitted on when
	// the pipeline's sample_size applied (the others were assigned after).
	FitSampleSize int            `json:"fit_sample_size,omitempty"`
	NoisePoints   int            `json:"noise_points"`
	Parameters    map[string]any `json:"parameters"`
	Seed          int64          `json:"seed"`
	// KSelection is the silhouette curve n_clusters "auto" chose k by.
	KSelection *KSelection `json:"k_selection,omitempty"`
	// InitSampleSize is the number of points k-means++ seeded from.
	InitSampleSize int `json:"init_sample_size,omitempty"`
	// RowsMeasured is how many rows the kept run's iterations measured
	// against every centre; with bounds it is below iterations × n.
	RowsMeasured int `json:"rows_measured,omitempty"`
	// ZeroVectors is the number of clustered vectors that are all zero.
	// Under the cosine metric every algorithm treats them as scikit-learn's
	// cosine_distances does: similarity 0, distance 1 to every point.
	ZeroVectors int `json:"zero_vectors"`
	// LowerBound and Converged are a Gaussian mixture's final lower bound
	// (mean log-likelihood per point) of the kept initialisation and
	// whether EM converged within max_iter.
	LowerBound *float64 `json:"lower_bound,omitempty"`
	Converged  *bool    `json:"converged,omitempty"`
	// Bandwidth is the bandwidth mean shift used (given or estimated).
	Bandwidth *float64 `json:"bandwidth,omitempty"`
	// Seeding says how k-means++ seeded the kept restart (SeedingGreedy or
	// SeedingCoreset) and SeedingIterations how many weighted Lloyd
	// iterations refined the seeds on the coreset.
	Seeding           string `json:"seeding,omitempty"`
	SeedingIterations int    `json:"seeding_iterations,omitempty"`
	// PhaseSeconds is where the run's time went. The engine fills
	// preprocessing, seeding, iterations and metrics; the caller the rest.
	PhaseSeconds Phases `json:"phase_seconds"`
}

// ErrUnknownAlgorithm is wrapped when Spec.Algorithm names no algorithm.
var ErrUnknownAlgorithm = errors.New("unknown clustering algorithm")

// algorithms are the algorithms by name: each package's Parse builds its
// Algorithm from the validated parameters.
var algorithms = map[string]algo.Parser{
	KMeans:          kmeans.Parse,
	MiniBatchKMeans: minibatch.Parse,
	HDBSCAN:         hdbscan.Parse,
	DBSCAN:          dbscan.Parse,
	Agglomerative:   agglomerative.Parse,
	GaussianMixture: gmm.Parse,
	Spectral:        spectral.Parse,
	MeanShift:       meanshift.Parse,
	OPTICS:          optics.Parse,
}

// Algorithms lists the algorithm names Fit accepts.
func Algorithms() []string {
	out := make([]string, 0, len(algorithms))
	for name := range algorithms {
		out = append(out, name)
	}
	return sortedStrings(out)
}

// ParseParams validates an algorithm name and its parameters without data,
// so a caller can reject a bad request before storing or queueing it. It
// returns the effective parameters (defaults filled in). Errors are
// ErrUnknownAlgorithm (wrapped) or schema.Problems located relative to the
// parameters object (every problem at once).
func ParseParams(name string, params json.RawMessage) (map[string]any, error) {
	m, err := parseAlgorithm(name, params, nil)
	if err != nil {
		return nil, err
	}
	return m.Params(), nil
}

func parseAlgorithm(name string, raw json.RawMessage, seed *int64) (algo.Algorithm, error) {
	parse, ok := algorithms[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownAlgorithm, name, quoteAll(Algorithms()))
	}
	v, given, err := decodeParams(paramModels.For(name), raw)
	if err != nil {
		return nil, err
	}
	return parse(v, given, seed)
}

// Fit clusters in according to spec: it validates the input, applies
// spec.Pipeline (preprocessing, sampling, hierarchy, effective centroids)
// around the algorithm, and computes the statistics and metrics on the
// vectors that were clustered.
func Fit(ctx context.Context, in Input, spec Spec, opts Options) (*Result, error) {
	start := time.Now()
	if opts.Backend == nil {
		return nil, errors.New("engine: Options.Backend is nil")
	}
	m, err := parseAlgorithm(spec.Algorithm, spec.Params, spec.Seed)
	if err != nil {
		return nil, err
	}
	if err := CheckPipeline(spec.Pipeline); err != nil {
		return nil, err
	}
	t := time.Now() // checking the values is part of preprocessing's time
	if err := CheckInput(in); err != nil {
		return nil, err
	}
	if err := CheckPipelineData(spec.Pipeline, in.N, in.D); err != nil {
		return nil, err
	}
	params := m.Params()
	seed := int64(DefaultRandomState)
	if v, ok := params["random_state"].(int64); ok {
		seed = v
	}
	if spec.Seed != nil {
		seed = *spec.Seed
	}
	phases := &Phases{}
	data, err := preprocess(in, spec.Pipeline, seed)
	if err != nil {
		return nil, err
	}
	ds, err := opts.Backend.Upload(data.X, data.N, data.D)
	if err != nil {
		return nil, fmt.Errorf("upload to %s: %w", opts.Backend.Name(), err)
	}
	defer ds.Close()
	phases.Preprocessing = time.Since(t).Seconds()
	r := &algo.State{In: data, DS: ds, Backend: opts.Backend, Seed: seed, Progress: opts.Progress, Phases: phases}
	t = time.Now()
	f, err := fitPossiblySampled(ctx, r, m, spec.Pipeline.SampleSize)
	if err != nil {
		return nil, err
	}
	fitSec := time.Since(t).Seconds()
	t = time.Now()
	res, err := finish(ctx, r, spec, f)
	if err != nil {
		return nil, err
	}
	phases.Metrics = time.Since(t).Seconds()
	if spec.Pipeline.Hierarchical {
		t = time.Now()
		if err := subcluster(ctx, r, m, spec, res); err != nil {
			return nil, err
		}
		fitSec += time.Since(t).Seconds()
	}
	phases.Iterations = math.Max(0, fitSec-phases.Seeding)
	res.Stats.PhaseSeconds = *phases
	res.Algorithm = spec.Algorithm
	res.Vectors = data
	res.Stats.ZeroVectors = countZeroRows(data)
	res.Stats.Parameters = params
	res.Stats.Seed = seed
	if spec.Pipeline.SampleSize > 0 && spec.Pipeline.SampleSize < in.N {
		res.Stats.FitSampleSize = spec.Pipeline.SampleSize
	}
	res.Stats.DurationSeconds = time.Since(start).Seconds()
	if res.Stats.DurationSeconds > 0 {
		res.Stats.PointsPerSecond = float64(in.N) / res.Stats.DurationSeconds
	}
	return res, nil
}

// countZeroRows counts the rows of in whose every feature is zero.
func countZeroRows(in Input) int {
	zeros := 0
	for i := 0; i < in.N; i++ {
		zero := true
		for _, v := range in.X[i*in.D : (i+1)*in.D] {
			if v != 0 {
				zero = false
				break
			}
		}
		if zero {
			zeros++
		}
	}
	return zeros
}

// CheckInput validates the shape and values of the data: at least 2 points,
// at least 1 feature, and every value finite.
func CheckInput(in Input) error {
	if in.N < 2 {
		return &DataError{Row: -1, Msg: fmt.Sprintf("Insufficient documents for clustering: need at least 2 documents, found %d", max(in.N, 0))}
	}
	if in.D < 1 {
		return &DataError{Row: -1, Msg: "vectors have no features (dimension 0)"}
	}
	if len(in.X) != in.N*in.D {
		return &DataError{Row: -1, Msg: fmt.Sprintf("data has %d values, want %d×%d = %d", len(in.X), in.N, in.D, in.N*in.D)}
	}
	// Blocks are checked in parallel; the first bad value of the first bad
	// block is the one reported, whatever the core count.
	const block = 1 << 16
	blocks := (len(in.X) + block - 1) / block
	bad := make([]bool, blocks)
	parallel.For(context.Background(), 0, blocks, func(b int) {
		bad[b] = !allFinite(in.X[b*block : min((b+1)*block, len(in.X))])
	})
	for b, isBad := range bad {
		if !isBad {
			continue
		}
		for i := b * block; ; i++ {
			if v := in.X[i]; v-v != 0 {
				what := "NaN"
				if !math.IsNaN(float64(v)) {
					what = fmt.Sprintf("%v", v)
				}
				return &DataError{Row: i / in.D, Msg: fmt.Sprintf("%s at feature %d; embeddings must be finite", what, i%in.D)}
			}
		}
	}
	return nil
}

// allFinite reports whether every value of x is finite. v − v is 0 for a
// finite v and NaN for NaN and ±Inf, and a NaN stays NaN through the sums:
// four independent sums and no branch per value make it 2.4 times as fast
// as testing each value (128,000,000 values in memory, one core: 50 ms
// instead of 122 ms; the two cores of the development machine then read
// them at about the memory's rate, 46 ms).
func allFinite(x []float32) bool {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] - x[i]
		s1 += x[i+1] - x[i+1]
		s2 += x[i+2] - x[i+2]
		s3 += x[i+3] - x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] - x[i]
	}
	return s0+s1+s2+s3 == 0
}
