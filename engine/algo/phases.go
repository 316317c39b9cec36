package algo

import (
	"fmt"
	"strings"
	"time"
)

// Phases are the seconds a run spent in each of its phases (the
// execution's stats.phase_seconds). Every run has every phase; one that
// does not apply took 0 s.
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

// phaseNames are the JSON names of the phases, in their order.
var phaseNames = []string{"load", "preprocessing", "seeding", "iterations", "metrics", "projection", "labels", "artifacts", "outputs"}

func (p *Phases) values() []float64 {
	return []float64{p.Load, p.Preprocessing, p.Seeding, p.Iterations, p.Metrics, p.Projection, p.Labels, p.Artifacts, p.Outputs}
}

// Total is the sum of the phases.
func (p Phases) Total() float64 {
	var s float64
	for _, v := range p.values() {
		s += v
	}
	return s
}

// Add adds q's phases to p's.
func (p *Phases) Add(q Phases) {
	p.Load += q.Load
	p.Preprocessing += q.Preprocessing
	p.Seeding += q.Seeding
	p.Iterations += q.Iterations
	p.Metrics += q.Metrics
	p.Projection += q.Projection
	p.Labels += q.Labels
	p.Artifacts += q.Artifacts
	p.Outputs += q.Outputs
}

// String lists the phases as "load 0.41s, preprocessing 0.02s, …".
func (p Phases) String() string {
	var b strings.Builder
	for i, v := range p.values() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2fs", phaseNames[i], v)
	}
	return b.String()
}

// LogAttrs are the phases as slog key-value pairs ("load_seconds", 0.41, …).
func (p Phases) LogAttrs() []any {
	out := make([]any, 0, 2*len(phaseNames))
	for i, v := range p.values() {
		out = append(out, phaseNames[i]+"_seconds", v)
	}
	return out
}

// AddSeeding adds the time since t0 to the seeding phase (p may be nil).
func (p *Phases) AddSeeding(t0 time.Time) {
	if p != nil {
		p.Seeding += time.Since(t0).Seconds()
	}
}
