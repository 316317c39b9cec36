package model

// The engine's statistics as wire types: package model does not import the
// engine, so these mirror engine.Stats, engine.Phases and engine.KSelection
// (same fields, same order, same JSON), and the runner and the CLI map an
// engine result into them.

// Stats describe how a clustering went: the engine's engine.Stats, field
// for field with the same JSON (the runner and the CLI copy them over).
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
	// Seeding says how k-means++ seeded the kept restart (engine.SeedingGreedy
	// or engine.SeedingCoreset) and SeedingIterations how many weighted Lloyd
	// iterations refined the seeds on the coreset.
	Seeding           string `json:"seeding,omitempty"`
	SeedingIterations int    `json:"seeding_iterations,omitempty"`
	// PhaseSeconds is where the run's time went. The engine fills
	// preprocessing, seeding, iterations and metrics; the caller the rest.
	PhaseSeconds Phases `json:"phase_seconds"`
}

// Phases (engine.Phases, with the same fields and JSON) are the seconds a
// run spent in each of its phases (the execution's stats.phase_seconds).
// Every run has every phase; one that does not apply took 0 s.
type Phases struct {
	// Load is reading the vectors (a file, or the store).
	Load float64 `json:"load"`
	// Preprocessing is the pipeline's preprocessing steps and making the
	// data resident on the backend (row norms on the CPU, the copy to a GPU).
	Preprocessing float64 `json:"preprocessing"`
	// Seeding is choosing k-means' initial centres (every restart).
	Seeding float64 `json:"seeding"`
	// Iterations is the rest of fitting: Lloyd iterations, mini-batch
	// steps, or the whole fit of an algorithm without seeding, with the
	// assignment of the points outside a fitting sample and sub-clustering.
	Iterations float64 `json:"iterations"`
	// Metrics is the clusters' statistics and the quality metrics.
	Metrics float64 `json:"metrics"`
	// Projection is the principal-axes projection of the points and
	// centroids for the scatter plots (the service's artifacts).
	Projection float64 `json:"projection"`
	// Labels is naming the clusters (keywords, LLM labels).
	Labels float64 `json:"labels"`
	// Artifacts is writing the run's files: the Parquet artifacts (the
	// service: the time the run still waited for them after the outputs,
	// which are written meanwhile), the labels and result files (the CLI).
	Artifacts float64 `json:"artifacts"`
	// Outputs is enriching the source documents and writing the output
	// collections (the service).
	Outputs float64 `json:"outputs"`
}

// KSelection (engine.KSelection, with the same JSON) is how n_clusters "auto" chose k: every candidate with its
// silhouette coefficient on the comparison sample.
type KSelection struct {
	K           []int     `json:"k"`
	Silhouette  []float64 `json:"silhouette"`
	Chosen      int       `json:"chosen"`
	SampleSize  int       `json:"sample_size"`
	Description string    `json:"description"`
}
