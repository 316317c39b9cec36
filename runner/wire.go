package runner

import (
	"math"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
)

// The engine's results as the API's wire types (package model does not
// import the engine). `clusterd fit` writes its result file with these too.

// Completed fills the result fields of e from an engine result: the
// execution's status, counts, metrics, centroids (with the hierarchy when
// the run had one) and stats.
func Completed(e *model.ExecutionResult, res *engine.Result, backend string, at model.Time) {
	e.Status = model.StatusCompleted
	e.NumClusters = res.NumClusters
	e.NumPoints = len(res.Labels)
	e.Algorithm = res.Algorithm
	e.Backend = backend
	e.Stats = &model.RunStats{Stats: StatsOf(res.Stats)}
	e.CompletedAt = &at
	e.ErrorMessage = nil
	e.Progress = nil
	e.Metrics = MetricsOf(res.Metrics)
	all := res.AllClusters()
	e.Centroids = make([]model.ExecutionCentroid, 0, len(all)+1)
	for _, c := range all {
		ec := model.ExecutionCentroid{
			ClusterID: c.ID, NumMembers: c.Members,
			MeanCosineSimilarity: c.MeanCosine, MinCosineSimilarity: c.MinCosine,
			Variance: finite(c.Variance),
		}
		if res.Leaf != nil { // hierarchical: say where each cluster sits
			level := c.Level
			ec.HierarchyLevel = &level
			if c.Parent != "" {
				parent := c.Parent
				ec.ParentClusterID = &parent
				e.Stats.HierarchyRelationships = append(e.Stats.HierarchyRelationships, model.HierarchyRelationship{ParentClusterID: c.Parent,
					ChildClusterID: c.ID, SharedMembers: c.Members, ChildMembers: c.Members, Overlap: 1, Source: model.RelationHierarchy})
			}
		}
		e.Centroids = append(e.Centroids, ec)
	}
	e.Stats.HierarchyDetected = len(e.Stats.HierarchyRelationships) > 0
	if n := res.Stats.NoisePoints; n > 0 {
		e.Centroids = append(e.Centroids, model.ExecutionCentroid{ClusterID: model.NoiseClusterID, NumMembers: n})
	}
}

// StatsOf copies engine statistics into their wire type (the same JSON).
func StatsOf(s engine.Stats) model.Stats {
	out := model.Stats{
		Iterations: s.Iterations, IterationSeconds: s.IterationSeconds, Inertia: s.Inertia,
		NInitUsed: s.NInitUsed, NInitNote: s.NInitNote, DurationSeconds: s.DurationSeconds,
		PointsPerSecond: s.PointsPerSecond, MetricsSampleSize: s.MetricsSampleSize, FitSampleSize: s.FitSampleSize,
		NoisePoints: s.NoisePoints, Parameters: s.Parameters, Seed: s.Seed, InitSampleSize: s.InitSampleSize,
		RowsMeasured: s.RowsMeasured, ZeroVectors: s.ZeroVectors, LowerBound: s.LowerBound, Converged: s.Converged,
		Bandwidth: s.Bandwidth, Seeding: s.Seeding, SeedingIterations: s.SeedingIterations,
		PhaseSeconds: model.Phases(s.PhaseSeconds),
	}
	if k := s.KSelection; k != nil {
		out.KSelection = &model.KSelection{K: k.K, Silhouette: k.Silhouette, Chosen: k.Chosen, SampleSize: k.SampleSize, Description: k.Description}
	}
	return out
}

// MetricsOf converts engine metrics (nil stays nil; NaN and ±Inf become
// null).
func MetricsOf(m *engine.Metrics) *model.ExecutionMetrics {
	if m == nil {
		return nil
	}
	return &model.ExecutionMetrics{SilhouetteScore: finite(m.Silhouette), DaviesBouldinIndex: finite(m.DaviesBouldin),
		CalinskiHarabaszScore: finite(m.CalinskiHarabasz)}
}

// finite returns a pointer to v, or nil for NaN and ±Inf (JSON has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
