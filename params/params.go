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
	"sort"

	"github.com/clusterd/clusterd/schema"
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

// The four models below are Mixpeek's; the algorithms they configure are
// not implemented yet (Supported says so), and a request naming them is
// refused at clustering_method.

// GaussianMixtureParams are Gaussian mixture's parameters (scikit-learn's GaussianMixture).
var GaussianMixtureParams = schema.Model("GaussianMixtureParams", "Parameters for Gaussian Mixture Model clustering algorithm.",
	schema.F("n_components", schema.Int().Min(1)).Def(1),
	schema.F("covariance_type", schema.Enum("full", "tied", "diag", "spherical")).Def("full"),
	schema.F("tol", schema.Num().Gt(0)).Def(1e-3),
	schema.F("reg_covar", schema.Num().Min(0)).Def(1e-6),
	schema.F("max_iter", schema.Int().Min(1)).Def(100),
	schema.F("n_init", schema.Int().Min(1)).Def(1),
	schema.F("init_params", schema.Enum("kmeans", "k-means++", "random", "random_from_data")).Def("kmeans"),
	schema.F("weights_init", schema.List(schema.AnyValue()).OrNull()).Def(nil),
	schema.F("means_init", schema.List(schema.AnyValue()).OrNull()).Def(nil),
	schema.F("precisions_init", schema.List(schema.AnyValue()).OrNull()).Def(nil),
	randomState(),
	schema.F("warm_start", schema.Bool()).Def(false),
	schema.F("verbose", schema.Int().Min(0)).Def(0).NoEffect("progress is reported in the execution's progress and the server log"),
	schema.F("verbose_interval", schema.Int().Min(1)).Def(10).NoEffect("progress is reported in the execution's progress and the server log"),
)

// SpectralParams are spectral clustering's parameters (scikit-learn's SpectralClustering).
var SpectralParams = schema.Model("SpectralParams", "Parameters for Spectral clustering algorithm.",
	schema.F("n_clusters", schema.Int().Min(2)).Def(8),
	schema.F("eigen_solver", schema.Enum("arpack", "lobpcg", "amg").OrNull()).Def(nil),
	schema.F("n_components", schema.Int().Min(1).OrNull()).Def(nil),
	randomState(),
	schema.F("n_init", schema.Int().Min(1)).Def(10),
	schema.F("gamma", schema.Num().Gt(0)).Def(1.0),
	schema.F("affinity", schema.Enum("rbf", "nearest_neighbors", "precomputed", "precomputed_nearest_neighbors")).Def("rbf"),
	schema.F("n_neighbors", schema.Int().Min(1)).Def(10),
	schema.F("eigen_tol", schema.Num().Min(0)).Def(0.0),
	schema.F("assign_labels", schema.Enum("kmeans", "discretize", "cluster_qr")).Def("kmeans"),
	schema.F("degree", schema.Num()).Def(3),
	schema.F("coef0", schema.Num()).Def(1),
	schema.F("kernel_params", schema.FreeObject().OrNull()).Def(nil),
	noJobs(),
	schema.F("verbose", schema.Bool()).Def(false).NoEffect("progress is reported in the execution's progress and the server log"),
)

// MeanShiftParams are mean shift's parameters (scikit-learn's MeanShift).
var MeanShiftParams = schema.Model("MeanShiftParams", "Parameters for Mean Shift clustering algorithm.",
	schema.F("bandwidth", schema.Num().Gt(0).OrNull()).Def(nil),
	schema.F("seeds", schema.List(schema.List(schema.Num())).OrNull()).Def(nil),
	schema.F("bin_seeding", schema.Bool()).Def(false),
	schema.F("min_bin_freq", schema.Int().Min(1)).Def(1),
	schema.F("cluster_all", schema.Bool()).Def(true),
	noJobs(),
	schema.F("max_iter", schema.Int().Min(1)).Def(300),
)

// OPTICSParams are OPTICS' parameters (scikit-learn's OPTICS).
var OPTICSParams = schema.Model("OPTICSParams", "Parameters for OPTICS clustering algorithm.",
	schema.F("min_samples", schema.Int().Min(2)).Def(5),
	schema.F("max_eps", schema.Num().Gt(0).OrNull()).Def(nil),
	schema.F("metric", schema.Str()).Def("minkowski"),
	schema.F("p", schema.Num().Gt(0)).Def(2),
	schema.F("metric_params", schema.FreeObject().OrNull()).Def(nil),
	schema.F("cluster_method", schema.Enum("xi", "dbscan")).Def("xi"),
	schema.F("eps", schema.Num().Gt(0).OrNull()).Def(nil),
	schema.F("xi", schema.Num().Min(0).Max(1)).Def(0.05),
	schema.F("predecessor_correction", schema.Bool()).Def(true),
	schema.F("min_cluster_size", schema.Num().OrNull()).Def(nil),
	schema.F("algorithm", schema.Enum("auto", "ball_tree", "kd_tree", "brute")).Def("auto"),
	schema.F("leaf_size", schema.Int().Min(1)).Def(30),
	noJobs(),
)

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
var implemented = map[string]bool{KMeans: true, MiniBatchKMeans: true, HDBSCAN: true, DBSCAN: true, Agglomerative: true}

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
