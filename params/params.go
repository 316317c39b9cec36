// Package params declares, once, the parameters of every clustering
// algorithm and preprocessing step: names, types, defaults, ranges, and the
// parameters that are accepted without effect. Names and defaults are
// scikit-learn's, and the models are Mixpeek's (KMeansParams, DBSCANParams,
// …) with clusterd's extensions marked. The engine parses its parameters
// with these models; the API validates requests and publishes its OpenAPI
// document with the same ones, so the three cannot disagree.
package params

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/clusterd/clusterd/schema"
	"gonum.org/v1/gonum/mat"
)

// Algorithm names: the API's clustering_method and the CLI's --algorithm.
const (
	KMeans          = "kmeans"
	MiniBatchKMeans = "minibatch_kmeans"
	HDBSCAN         = "hdbscan"
	DBSCAN          = "dbscan"
	Agglomerative   = "agglomerative"
	GaussianMixture = "gaussian_mixture"
	Spectral        = "spectral"
	MeanShift       = "mean_shift"
	OPTICS          = "optics"
	// AttributeBased groups documents by payload attributes; it has no
	// vector parameters.
	AttributeBased = "attribute_based"
)

// DefaultRandomState is the seed used when random_state is not given.
const DefaultRandomState = 42

// maxSeed bounds random_state (numpy's RandomState accepts [0, 2^32 − 1]).
const maxSeed = math.MaxUint32

func randomState() *schema.Field {
	return schema.F("random_state", schema.Int().Min(0).Max(maxSeed).OrNull()).Def(DefaultRandomState).
		Describe("Seed of every random choice; null draws a fresh seed, which the run reports in stats.seed.")
}

func noJobs() *schema.Field {
	return schema.F("n_jobs", schema.Int()).Def(1).NoEffect("clusterd uses every core of the process (--cpu-threads) or the GPU")
}

func nInit(def int) *schema.Field {
	return schema.F("n_init", schema.OneOf(schema.Int().Min(1).Max(1000), schema.Literal("auto"))).Def(def)
}

func initMethod() *schema.Field {
	return schema.F("init", schema.Enum("k-means++", "random")).Def("k-means++").Describe("Method for initialization ('k-means++' or 'random')")
}

// KMeansParams are k-means' parameters (scikit-learn's KMeans).
var KMeansParams = schema.Model("KMeansParams", "Parameters for K-Means clustering algorithm.",
	schema.F("n_clusters", schema.OneOf(schema.Int().Min(1), schema.Literal("auto"))).Def(8).
		Describe(`Number of clusters to form, or "auto": every k in [k_min, k_max] is fitted on a seeded sample of 5,000 points and the best silhouette wins.`),
	initMethod(),
	nInit(10).Describe(`Number of times k-means runs with different centroid seeds (the best inertia is kept); "auto" is 1 for k-means++ and 10 for random. When n_init is omitted and n·d·k > 2^32, one run is made and stats.n_init_note says so.`),
	schema.F("max_iter", schema.Int().Min(1)).Def(300).Describe("Maximum number of Lloyd iterations"),
	schema.F("tol", schema.Num().Min(0)).Def(1e-4).Describe("Convergence tolerance on the total squared centre shift, relative to the mean feature variance; 0 runs max_iter iterations unless labels stop changing"),
	randomState(),
	schema.F("algorithm", schema.Enum("lloyd", "elkan", "auto", "full")).Def("lloyd").
		NoEffect("every variant gives exact Lloyd results; clusterd's iterations skip work with bounds whichever is named"),
	schema.F("copy_x", schema.Bool()).Def(true).NoEffect("the input is never modified"),
	schema.F("verbose", schema.Int().Min(0)).Def(0).NoEffect("progress is reported in the execution's progress and the server log"),
	schema.F("init_size", schema.Int().Min(1).OrNull()).Def(nil).Ext().
		Describe("Size of the coreset k-means++ seeds from when there are more points (null: max(4096, 32·n_clusters), used above twice as many points); a value ≥ the number of points seeds on every point, as scikit-learn does"),
	schema.F("k_min", schema.Int().Min(2).OrNull()).Ext().Describe(`Smallest k tried by n_clusters "auto" (default 2)`),
	schema.F("k_max", schema.Int().Min(2).OrNull()).Ext().Describe(`Largest k tried by n_clusters "auto" (default 10)`),
).Checked(checkKRange)

// checkKRange: k_min and k_max only apply to n_clusters "auto", and
// k_min ≤ k_max.
func checkKRange(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	auto := o.IsString("n_clusters", "auto")
	for _, name := range []string{"k_min", "k_max"} {
		if o.Has(name) && !auto {
			ps = append(ps, schema.Problem{Loc: at.With(name), Type: "value_error", Msg: `only applies with n_clusters "auto"`})
		}
	}
	if auto {
		kmin, kmax := 2, 10
		if v, ok := o.IntOK("k_min"); ok {
			kmin = v
		}
		if v, ok := o.IntOK("k_max"); ok {
			kmax = v
		}
		if kmax < kmin {
			ps = append(ps, schema.Problem{Loc: at.With("k_max"), Type: "value_error", Msg: fmt.Sprintf("must be ≥ k_min (%d), got %d", kmin, kmax)})
		}
	}
	return ps
}

// MiniBatchKMeansParams are mini-batch k-means' parameters
// (scikit-learn 1.2's MiniBatchKMeans); the algorithm is clusterd's.
var MiniBatchKMeansParams = schema.Model("MiniBatchKMeansParams", "Parameters for mini-batch k-means (clusterd's extension; scikit-learn's MiniBatchKMeans).",
	schema.F("n_clusters", schema.Int().Min(1)).Def(8),
	initMethod(),
	schema.F("max_iter", schema.Int().Min(1)).Def(100).Describe("Passes over the data"),
	schema.F("batch_size", schema.Int().Min(1)).Def(1024),
	schema.F("tol", schema.Num().Min(0)).Def(0.0).Describe("Early stop on the smoothed centre shift, relative to the mean feature variance; 0 disables"),
	schema.F("max_no_improvement", schema.Int().Min(1).OrNull()).Def(10).Describe("Steps without improvement of the smoothed batch inertia before stopping; null disables"),
	schema.F("init_size", schema.Int().Min(1).OrNull()).Def(nil).Describe("Size of the coreset k-means++ seeds from (null: max(4096, 32·n_clusters), as k-means on large data; scikit-learn's default is 3·batch_size)"),
	nInit(3).Describe(`Initialisations compared on a validation sample; "auto" is 1 for k-means++ and 3 for random`),
	schema.F("reassignment_ratio", schema.Num().Min(0).Max(1)).Def(0.01),
	randomState(),
)

// HDBSCANParams are HDBSCAN's parameters (the hdbscan library's, 0.8.33).
var HDBSCANParams = schema.Model("HDBSCANParams", "Parameters for HDBSCAN clustering algorithm.",
	schema.F("min_cluster_size", schema.Int().Min(2)).Def(5).Describe("Minimum number of samples in a cluster"),
	schema.F("min_samples", schema.Int().Min(1).OrNull()).Def(nil).Describe("Neighbours of a core point; null means min_cluster_size"),
	schema.F("cluster_selection_epsilon", schema.Num().Min(0)).Def(0.0).Describe("Clusters split below this distance are merged"),
	schema.F("max_cluster_size", schema.Int().Min(0).OrNull()).Def(nil).Describe("Largest cluster eom may select; null or 0 means no limit"),
	schema.F("cluster_selection_method", schema.Enum("eom", "leaf")).Def("eom"),
	schema.F("allow_single_cluster", schema.Bool()).Def(false),
	schema.F("alpha", schema.Num().Gt(0)).Def(1.0).Describe("Distance scaling of the mutual reachability"),
	schema.F("metric", schema.Enum("euclidean", "l2")).Def("euclidean").Describe("clusterd's HDBSCAN is Euclidean ('l2' is the same)"),
	schema.F("match_reference_implementation", schema.Bool()).Def(false).
		NoEffect("clusterd's HDBSCAN always follows the reference implementation (hdbscan 0.8.33) step by step"),
	schema.F("prediction_data", schema.Bool()).Def(false).
		NoEffect("points outside a fitted sample (sample_size) are always assigned; no other prediction data is kept"),
)

// DBSCANParams are DBSCAN's parameters (scikit-learn's DBSCAN).
var DBSCANParams = schema.Model("DBSCANParams", "Parameters for DBSCAN clustering algorithm.",
	schema.F("eps", schema.Num().Gt(0)).Def(0.5),
	schema.F("min_samples", schema.Int().Min(1)).Def(5),
	schema.F("metric", schema.Enum("euclidean", "l2", "cosine", "minkowski")).Def("euclidean").
		Describe("euclidean (l2), cosine, or minkowski with p = 2"),
	schema.F("p", schema.Num().Gt(0)).Def(2).Describe("Power of the Minkowski metric; only 2 (Euclidean) is supported, and only metric minkowski reads it"),
	schema.F("metric_params", schema.FreeObject().OrNull()).Def(nil).Describe("Must be empty: the supported metrics take no parameters"),
	schema.F("algorithm", schema.Enum("auto", "ball_tree", "kd_tree", "brute")).Def("auto").
		NoEffect("clusterd chooses the neighbour search; every choice gives the same clusters"),
	schema.F("leaf_size", schema.Int().Min(1)).Def(30).NoEffect("clusterd chooses the neighbour search; every choice gives the same clusters"),
	noJobs(),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	if p, ok := o.FloatOK("p"); ok && p != 2 && o.IsString("metric", "minkowski") {
		ps = append(ps, schema.Problem{Loc: at.With("p"), Type: "value_error", Msg: fmt.Sprintf("metric minkowski is supported with p = 2 (Euclidean) only, got %g", p)})
	}
	if len(o.Obj("metric_params")) > 0 {
		ps = append(ps, schema.Problem{Loc: at.With("metric_params"), Type: "value_error", Msg: "the supported metrics (euclidean, cosine, minkowski with p = 2) take no parameters"})
	}
	return ps
})

// AgglomerativeParams are agglomerative clustering's parameters
// (scikit-learn's AgglomerativeClustering).
var AgglomerativeParams = schema.Model("AgglomerativeParams", "Parameters for Agglomerative clustering algorithm.",
	schema.F("n_clusters", schema.Int().Min(1).OrNull()).Def(2).
		Describe("Number of clusters to find; null when distance_threshold is set. The default 2 beside a distance_threshold is ignored, since generated clients always send it."),
	schema.F("distance_threshold", schema.Num().Min(0).OrNull()).Def(nil).Describe("Linkage distance above which clusters are not merged"),
	schema.F("linkage", schema.Enum("ward", "complete", "average", "single")).Def("ward"),
	schema.F("metric", schema.Enum("euclidean", "l2", "cosine")).Ext().
		Describe("Distance between points (scikit-learn ≥ 1.2's name for affinity); ward needs euclidean"),
	schema.F("affinity", schema.Enum("euclidean", "l2", "cosine")).Def("euclidean").Deprecate().
		Describe("scikit-learn's older name for metric"),
	schema.F("connectivity", schema.AnyValue()).Def(nil).Describe("Must be null: connectivity constraints are not supported"),
	schema.F("compute_full_tree", schema.OneOf(schema.Literal("auto"), schema.Bool())).Def("auto").
		NoEffect("the whole merge tree is always built; the clusters are the same"),
	schema.F("compute_distances", schema.Bool()).Def(false).NoEffect("merge distances are not exposed"),
	schema.F("memory", schema.Str().OrNull()).Def(nil).NoEffect("no cache directory is used (a server-side path is never taken from a request)"),
).Checked(checkAgglomerative)

func checkAgglomerative(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	_, clustersGiven := o["n_clusters"]
	switch {
	case o.Has("distance_threshold") && o.Has("n_clusters") && o.Int("n_clusters") != 2 && isInt(o, "n_clusters"):
		ps = append(ps, schema.Problem{Loc: at.With("distance_threshold"), Type: "value_error", Msg: "cannot be set together with n_clusters; set exactly one of them"})
	case clustersGiven && !o.Has("n_clusters") && !o.Has("distance_threshold"):
		ps = append(ps, schema.Problem{Loc: at.With("n_clusters"), Type: "value_error", Msg: "is null and distance_threshold is not set; set exactly one of them"})
	}
	if o.Has("connectivity") {
		ps = append(ps, schema.Problem{Loc: at.With("connectivity"), Type: "value_error", Msg: "connectivity constraints are not supported; send null"})
	}
	metric, affinity := knownMetric(o.Str("metric")), knownMetric(o.Str("affinity"))
	if metric != "" && affinity != "" && metric != affinity && affinity != "euclidean" {
		ps = append(ps, schema.Problem{Loc: at.With("affinity"), Type: "value_error", Msg: fmt.Sprintf("disagrees with metric %q; give one of them", o.Str("metric"))})
	}
	if m := AgglomerativeMetric(o); m != "euclidean" && knownMetric(m) != "" && (o.Str("linkage") == "" || o.Str("linkage") == "ward") {
		loc := "metric"
		if o.Str("metric") == "" {
			loc = "affinity"
		}
		ps = append(ps, schema.Problem{Loc: at.With(loc), Type: "value_error", Msg: fmt.Sprintf("%q cannot be used with linkage \"ward\", which needs \"euclidean\"", m)})
	}
	return ps
}

// knownMetric is euclid(m) for a metric agglomerative clustering has, ""
// for any other (reported by the enum).
func knownMetric(m string) string {
	if m = euclid(m); m == "euclidean" || m == "cosine" {
		return m
	}
	return ""
}

func euclid(m string) string {
	if m == "l2" {
		return "euclidean"
	}
	return m
}

// AgglomerativeMetric is the metric agglomerative parameters ask for:
// metric when given, else affinity, with "l2" read as "euclidean".
func AgglomerativeMetric(o schema.Values) string {
	if m := euclid(o.Str("metric")); m != "" {
		return m
	}
	if a := euclid(o.Str("affinity")); a != "" {
		return a
	}
	return "euclidean"
}

// GaussianMixtureParams are Gaussian mixture's parameters (scikit-learn's
// GaussianMixture). The shapes of weights_init, means_init and
// precisions_init are checked here as far as they do not depend on the
// data; their dimension is checked against the vectors when the run starts.
var GaussianMixtureParams = schema.Model("GaussianMixtureParams", "Parameters for Gaussian Mixture Model clustering algorithm.",
	schema.F("n_components", schema.Int().Min(1)).Def(1).Describe("Number of mixture components (the clusters)"),
	schema.F("covariance_type", schema.Enum("full", "tied", "diag", "spherical")).Def("full").
		Describe("full: each component its own covariance matrix; tied: one shared matrix; diag: each its own diagonal; spherical: each its own variance"),
	schema.F("tol", schema.Num().Gt(0)).Def(1e-3).Describe("EM stops when the lower bound (mean log-likelihood) changes by less than this"),
	schema.F("reg_covar", schema.Num().Min(0)).Def(1e-6).Describe("Added to the diagonal of every covariance, so that they stay positive definite"),
	schema.F("max_iter", schema.Int().Min(1)).Def(100).Describe("EM iterations per initialisation"),
	schema.F("n_init", schema.Int().Min(1).Max(1000)).Def(1).Describe("Initialisations; the one with the best lower bound is kept"),
	schema.F("init_params", schema.Enum("kmeans", "k-means++", "random", "random_from_data")).Def("kmeans").
		Describe("kmeans: responsibilities from a k-means run (one k-means++ initialisation); k-means++: one point per component chosen by k-means++; random: uniform random responsibilities; random_from_data: random points"),
	schema.F("weights_init", schema.List(schema.AnyValue()).OrNull()).Def(nil).
		Describe("Initial weights: n_components numbers in [0, 1] summing to 1"),
	schema.F("means_init", schema.List(schema.AnyValue()).OrNull()).Def(nil).
		Describe("Initial means: n_components lists of d numbers"),
	schema.F("precisions_init", schema.List(schema.AnyValue()).OrNull()).Def(nil).
		Describe("Initial precisions (inverse covariances): n_components d×d matrices (full), one d×d matrix (tied), n_components lists of d numbers (diag) or n_components numbers (spherical); matrices symmetric positive definite, numbers positive"),
	randomState(),
	schema.F("warm_start", schema.Bool()).Def(false).
		NoEffect("every execution fits from scratch (as scikit-learn's first fit does with warm_start); to start from an earlier fit, pass its weights, means and precisions as weights_init, means_init and precisions_init"),
	schema.F("verbose", schema.Int().Min(0)).Def(0).NoEffect("progress is reported in the execution's progress and the server log"),
	schema.F("verbose_interval", schema.Int().Min(1)).Def(10).NoEffect("progress is reported in the execution's progress and the server log"),
).Checked(checkGaussianMixture)

// GaussianInit is the data-independent part of a Gaussian mixture's
// initial parameters, read from validated parameters: Weights has
// n_components entries (nil when not given); Means n_components rows of
// Dim numbers (nil when not given); Precisions the flattened
// precisions_init (nil when not given) with PrecisionDim the d it implies
// (0 for spherical, which has no d).
type GaussianInit struct {
	Weights      []float64
	Means        [][]float64
	Precisions   []float64
	PrecisionDim int
}

// ReadGaussianInit reads weights_init, means_init and precisions_init,
// reporting the problems of their shapes and values (located at at).
func ReadGaussianInit(o schema.Values, at schema.Path) (GaussianInit, schema.Problems) {
	var g GaussianInit
	var ps schema.Problems
	k, kOK := o.IntOK("n_components")
	bad := func(name, msg string) {
		ps = append(ps, schema.Problem{Loc: at.With(name), Type: "value_error", Msg: msg})
	}
	if o.Has("weights_init") {
		w, ok := numbers(o.List("weights_init"))
		switch {
		case !ok:
			bad("weights_init", "must be a list of numbers")
		case kOK && len(w) != k:
			bad("weights_init", fmt.Sprintf("has %d weights; n_components is %d", len(w), k))
		default:
			sum := 0.0
			for _, v := range w {
				sum += v
			}
			if slices.Min(w) < 0 || slices.Max(w) > 1 {
				bad("weights_init", "weights must lie in [0, 1]")
			} else if math.Abs(1-sum) > 1e-8 { // numpy.allclose(|1 − Σ|, 0)
				bad("weights_init", fmt.Sprintf("weights must sum to 1, got %g", sum))
			} else {
				g.Weights = w
			}
		}
	}
	if o.Has("means_init") {
		rows, d, ok := matrix(o.List("means_init"))
		switch {
		case !ok:
			bad("means_init", "must be a list of n_components lists of numbers, all of the same length")
		case kOK && len(rows) != k:
			bad("means_init", fmt.Sprintf("has %d means; n_components is %d", len(rows), k))
		case d == 0:
			bad("means_init", "means must have at least one coordinate")
		default:
			g.Means = rows
		}
	}
	if o.Has("precisions_init") {
		var problem string
		g.Precisions, g.PrecisionDim, problem = readPrecisions(o.List("precisions_init"), o.Str("covariance_type"), k, kOK)
		if problem != "" {
			bad("precisions_init", problem)
			g.Precisions = nil
		}
	}
	return g, ps
}

// readPrecisions flattens precisions_init for a covariance type and checks
// its shape and values (scikit-learn's _check_precisions).
func readPrecisions(v []any, covType string, k int, kOK bool) ([]float64, int, string) {
	switch covType {
	case "spherical":
		p, ok := numbers(v)
		if !ok {
			return nil, 0, "for covariance_type spherical, must be a list of n_components numbers"
		}
		if kOK && len(p) != k {
			return nil, 0, fmt.Sprintf("has %d precisions; n_components is %d", len(p), k)
		}
		if slices.Min(p) <= 0 {
			return nil, 0, "spherical precisions must be positive"
		}
		return p, 0, ""
	case "diag":
		rows, d, ok := matrix(v)
		if !ok || d == 0 {
			return nil, 0, "for covariance_type diag, must be n_components lists of d numbers"
		}
		if kOK && len(rows) != k {
			return nil, 0, fmt.Sprintf("has %d precisions; n_components is %d", len(rows), k)
		}
		var flat []float64
		for _, r := range rows {
			if slices.Min(r) <= 0 {
				return nil, 0, "diag precisions must be positive"
			}
			flat = append(flat, r...)
		}
		return flat, d, ""
	case "tied":
		rows, d, ok := matrix(v)
		if !ok || d == 0 || len(rows) != d {
			return nil, 0, "for covariance_type tied, must be one d×d matrix (a list of d lists of d numbers)"
		}
		flat := slices.Concat(rows...)
		if !symmetricPD(flat, d) {
			return nil, 0, "the tied precision must be symmetric positive definite"
		}
		return flat, d, ""
	default: // full
		var flat []float64
		d := -1
		for _, m := range v {
			l, isList := m.([]any)
			rows, md, ok := matrix(l)
			if !isList || !ok || md == 0 || len(rows) != md || (d >= 0 && md != d) {
				return nil, 0, "for covariance_type full, must be n_components d×d matrices (lists of d lists of d numbers)"
			}
			d = md
			mf := slices.Concat(rows...)
			if !symmetricPD(mf, d) {
				return nil, 0, "every full precision must be symmetric positive definite"
			}
			flat = append(flat, mf...)
		}
		if kOK && len(v) != k {
			return nil, 0, fmt.Sprintf("has %d precision matrices; n_components is %d", len(v), k)
		}
		return flat, max(d, 0), ""
	}
}

// symmetricPD reports whether the d×d matrix a is symmetric (numpy's
// allclose) and positive definite (its Cholesky factorisation exists).
func symmetricPD(a []float64, d int) bool {
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			x, y := a[i*d+j], a[j*d+i]
			if math.Abs(x-y) > 1e-8+1e-5*math.Abs(y) {
				return false
			}
		}
	}
	var c mat.Cholesky
	return c.Factorize(mat.NewSymDense(d, slices.Clone(a)))
}

// numbers reads a list of JSON numbers.
func numbers(v []any) ([]float64, bool) {
	if len(v) == 0 {
		return nil, false
	}
	out := make([]float64, len(v))
	for i, e := range v {
		f, ok := schema.AsValues(map[string]any{"v": e}).FloatOK("v")
		if !ok {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

// matrix reads a non-empty list of equally long lists of numbers.
func matrix(v []any) ([][]float64, int, bool) {
	if len(v) == 0 {
		return nil, 0, false
	}
	out := make([][]float64, len(v))
	for i, r := range v {
		l, ok := r.([]any)
		if !ok {
			return nil, 0, false
		}
		if out[i], ok = numbers(l); !ok || len(out[i]) != len(out[0]) {
			return nil, 0, false
		}
	}
	return out, len(out[0]), true
}

func checkGaussianMixture(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	g, ps := ReadGaussianInit(o, at)
	if g.Means != nil && g.PrecisionDim > 0 && len(g.Means[0]) != g.PrecisionDim {
		ps = append(ps, schema.Problem{Loc: at.With("precisions_init"), Type: "value_error",
			Msg: fmt.Sprintf("precisions are %d-dimensional while means_init is %d-dimensional", g.PrecisionDim, len(g.Means[0]))})
	}
	return ps
}

// SpectralParams are spectral clustering's parameters (scikit-learn's
// SpectralClustering). clusterd clusters vectors, so affinity
// "precomputed" (a user-supplied n×n affinity matrix) is refused;
// "precomputed_nearest_neighbors" reads the vectors' Euclidean distances as
// the precomputed distance matrix, which gives the nearest_neighbors graph.
var SpectralParams = schema.Model("SpectralParams", "Parameters for Spectral clustering algorithm.",
	schema.F("n_clusters", schema.Int().Min(2)).Def(8),
	schema.F("eigen_solver", schema.Enum("arpack", "lobpcg", "amg").OrNull()).Def(nil).
		NoEffect("clusterd computes the eigenvectors with its own LOBPCG (block, sparse or dense) whichever is named; they agree with ARPACK's to eigen_tol"),
	schema.F("n_components", schema.Int().Min(1).OrNull()).Def(nil).Describe("Eigenvectors in the embedding (null: n_clusters)"),
	randomState(),
	schema.F("n_init", schema.Int().Min(1).Max(1000)).Def(10).Describe("k-means restarts on the embedding (assign_labels kmeans)"),
	schema.F("gamma", schema.Num().Gt(0)).Def(1.0).Describe("rbf affinity exp(−gamma·‖x − y‖²)"),
	schema.F("affinity", schema.Enum("rbf", "nearest_neighbors", "precomputed", "precomputed_nearest_neighbors")).Def("rbf").
		Describe("rbf: a dense n×n affinity (limited in size, see docs); nearest_neighbors: the symmetrised n_neighbors graph (scales to large n); precomputed_nearest_neighbors: the same graph from the vectors' Euclidean distances; precomputed is refused (it takes an affinity matrix, not vectors)"),
	schema.F("n_neighbors", schema.Int().Min(1)).Def(10).Describe("Neighbours of each point in the nearest_neighbors graph, itself included"),
	schema.F("eigen_tol", schema.Num().Min(0)).Def(0.0).Describe("Residual tolerance of the eigenvectors, relative; 0 means 1e-7 (machine precision is what ARPACK's 0 asks for; the labels do not change below that)"),
	schema.F("assign_labels", schema.Enum("kmeans", "discretize", "cluster_qr")).Def("kmeans"),
	schema.F("degree", schema.Num()).Def(3).NoEffect("only polynomial kernels read it, and affinity offers rbf, nearest_neighbors and precomputed ones"),
	schema.F("coef0", schema.Num()).Def(1).NoEffect("only polynomial and sigmoid kernels read it, and affinity offers rbf, nearest_neighbors and precomputed ones"),
	schema.F("kernel_params", schema.FreeObject().OrNull()).Def(nil).
		NoEffect("scikit-learn filters it to the rbf kernel's parameters and then replaces gamma with the gamma parameter, so it never changes the rbf affinity"),
	noJobs(),
	schema.F("verbose", schema.Bool()).Def(false).NoEffect("progress is reported in the execution's progress and the server log"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	if o.IsString("affinity", "precomputed") {
		return schema.Problems{{Loc: at.With("affinity"), Type: "value_error",
			Msg: "precomputed takes a user-supplied n×n affinity matrix, and clusterd clusters vectors; use rbf, nearest_neighbors or precomputed_nearest_neighbors"}}
	}
	return nil
})

// MeanShiftParams are mean shift's parameters (scikit-learn's MeanShift).
var MeanShiftParams = schema.Model("MeanShiftParams", "Parameters for Mean Shift clustering algorithm.",
	schema.F("bandwidth", schema.Num().Gt(0).OrNull()).Def(nil).
		Describe("Radius of the flat kernel; null estimates it as scikit-learn's estimate_bandwidth(quantile) does"),
	schema.F("seeds", schema.List(schema.List(schema.Num()).MinLen(1)).MinLen(1).OrNull()).Def(nil).
		Describe("Starting points of the kernels, each as long as the vectors (null: every point, or the bins with bin_seeding)"),
	schema.F("bin_seeding", schema.Bool()).Def(false).Describe("Start from the points of a grid of cell size bandwidth that hold at least min_bin_freq points"),
	schema.F("min_bin_freq", schema.Int().Min(1)).Def(1),
	schema.F("cluster_all", schema.Bool()).Def(true).Describe("false leaves points farther than bandwidth from every centre as noise"),
	noJobs(),
	schema.F("max_iter", schema.Int().Min(1)).Def(300).Describe("Shifts per seed"),
	schema.F("quantile", schema.Num().Gt(0).Max(1)).Def(0.3).Ext().
		Describe("When bandwidth is null: the bandwidth is the mean distance of every point to its ⌊quantile·n⌋-th nearest neighbour (scikit-learn's estimate_bandwidth)"),
)

// OPTICSMetric is the metric OPTICS parameters ask for, with "l2" and
// "minkowski" (p = 2) read as "euclidean".
func OPTICSMetric(o schema.Values) string {
	switch m := o.Str("metric"); m {
	case "", "minkowski", "l2":
		return "euclidean"
	default:
		return m
	}
}

// OPTICSParams are OPTICS' parameters (scikit-learn's OPTICS).
var OPTICSParams = schema.Model("OPTICSParams", "Parameters for OPTICS clustering algorithm.",
	schema.F("min_samples", schema.Int().Min(2)).Def(5).Describe("Neighbours of a core point, itself included"),
	schema.F("max_eps", schema.Num().Gt(0).OrNull()).Def(nil).Describe("Largest neighbourhood radius (null: no limit)"),
	schema.F("metric", schema.Enum("minkowski", "euclidean", "l2", "cosine")).Def("minkowski").
		Describe("minkowski with p = 2, euclidean and l2 are the Euclidean distance; cosine is 1 − cos (a zero vector is at distance 1 from everything)"),
	schema.F("p", schema.Num().Gt(0)).Def(2).Describe("Power of the Minkowski metric; only 2 (Euclidean) is supported"),
	schema.F("metric_params", schema.FreeObject().OrNull()).Def(nil).Describe("Must be empty: the supported metrics take no parameters"),
	schema.F("cluster_method", schema.Enum("xi", "dbscan")).Def("xi"),
	schema.F("eps", schema.Num().Gt(0).OrNull()).Def(nil).Describe("Radius of cluster_method dbscan (null: max_eps); at most max_eps"),
	schema.F("xi", schema.Num().Min(0).Max(1)).Def(0.05).Describe("Minimum steepness of a cluster boundary on the reachability plot (cluster_method xi)"),
	schema.F("predecessor_correction", schema.Bool()).Def(true),
	schema.F("min_cluster_size", schema.Num().Gt(0).OrNull()).Def(nil).
		Describe("Smallest xi cluster: a whole number ≥ 2, or a fraction of the points in (0, 1] (null: min_samples)"),
	schema.F("algorithm", schema.Enum("auto", "ball_tree", "kd_tree", "brute")).Def("auto").
		NoEffect("clusterd chooses the neighbour search; every choice gives the same ordering"),
	schema.F("leaf_size", schema.Int().Min(1)).Def(30).NoEffect("clusterd chooses the neighbour search; every choice gives the same ordering"),
	noJobs(),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	if p, ok := o.FloatOK("p"); ok && p != 2 && o.IsString("metric", "minkowski") {
		ps = append(ps, schema.Problem{Loc: at.With("p"), Type: "value_error", Msg: fmt.Sprintf("metric minkowski is supported with p = 2 (Euclidean) only, got %g", p)})
	}
	if len(o.Obj("metric_params")) > 0 {
		ps = append(ps, schema.Problem{Loc: at.With("metric_params"), Type: "value_error", Msg: "the supported metrics (minkowski with p = 2, euclidean, cosine) take no parameters"})
	}
	if m, ok := o.FloatOK("min_cluster_size"); ok && m > 1 && (m != math.Trunc(m) || m < 2) {
		ps = append(ps, schema.Problem{Loc: at.With("min_cluster_size"), Type: "value_error", Msg: fmt.Sprintf("must be a whole number ≥ 2 or a fraction in (0, 1], got %g", m)})
	}
	eps, epsOK := o.FloatOK("eps")
	maxEps, maxOK := o.FloatOK("max_eps")
	if epsOK && maxOK && eps > maxEps && o.Str("cluster_method") == "dbscan" {
		ps = append(ps, schema.Problem{Loc: at.With("eps"), Type: "value_error", Msg: fmt.Sprintf("must be at most max_eps (%g), got %g", maxEps, eps)})
	}
	return ps
})

// models maps each algorithm to its parameter model.
var models = map[string]*schema.Schema{
	KMeans:          KMeansParams,
	MiniBatchKMeans: MiniBatchKMeansParams,
	HDBSCAN:         HDBSCANParams,
	DBSCAN:          DBSCANParams,
	Agglomerative:   AgglomerativeParams,
	GaussianMixture: GaussianMixtureParams,
	Spectral:        SpectralParams,
	MeanShift:       MeanShiftParams,
	OPTICS:          OPTICSParams,
}

// For returns the parameter model of an algorithm, or nil for a name that
// has none (attribute_based, or an unknown name).
func For(algorithm string) *schema.Schema { return models[algorithm] }

// implemented lists the algorithms the engine runs.
var implemented = map[string]bool{KMeans: true, MiniBatchKMeans: true, HDBSCAN: true, DBSCAN: true, Agglomerative: true,
	GaussianMixture: true, Spectral: true, MeanShift: true, OPTICS: true}

// Supported reports whether the engine runs algorithm.
func Supported(algorithm string) bool { return implemented[algorithm] }

// Algorithms lists the algorithms the engine runs, sorted.
func Algorithms() []string {
	out := make([]string, 0, len(implemented))
	for a := range implemented {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Models lists every parameter model, in the order of Mixpeek's
// algorithm_params union followed by clusterd's.
func Models() []*schema.Schema {
	return []*schema.Schema{KMeansParams, DBSCANParams, HDBSCANParams, AgglomerativeParams, SpectralParams,
		GaussianMixtureParams, MeanShiftParams, OPTICSParams, MiniBatchKMeansParams}
}

func isInt(o schema.Values, name string) bool {
	_, ok := o.IntOK(name)
	return ok
}
