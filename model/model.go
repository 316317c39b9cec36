// Package model holds the wire types of the clusters API: the seed's
// ClusterExecutionResult and its parts (field for field, with clusterd's
// documented additions beside them, never renamed or dropped) and the
// conversion from an engine.Result. The service and `clusterd fit` both
// write these, so a file from the CLI and a response from the API look the
// same.
package model

import (
	"math"
	"time"

	"github.com/clusterd/clusterd/engine"
)

// Execution statuses of the seed's ClusterExecutionResult.status enum.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// Time is a UTC timestamp written as RFC 3339 with microseconds and a Z,
// the seed's format ("2025-11-13T13:20:40.122000Z").
type Time struct{ time.Time }

const timeLayout = "2006-01-02T15:04:05.000000Z"

// Now returns the current time as a Time.
func Now() Time { return Time{time.Now().UTC()} }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(timeLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// ExecutionMetrics is the seed's ClusterExecutionMetrics.
type ExecutionMetrics struct {
	SilhouetteScore       *float64 `json:"silhouette_score"`
	DaviesBouldinIndex    *float64 `json:"davies_bouldin_index"`
	CalinskiHarabaszScore *float64 `json:"calinski_harabasz_score"`
}

// ExecutionCentroid is the seed's ClusterExecutionCentroid plus clusterd's
// additions (variance, parent_cluster_id, hierarchy_level).
type ExecutionCentroid struct {
	ClusterID            string   `json:"cluster_id"`
	NumMembers           int      `json:"num_members"`
	Label                *string  `json:"label"`
	Summary              *string  `json:"summary"`
	Keywords             []string `json:"keywords"`
	MeanCosineSimilarity *float64 `json:"mean_cosine_similarity"`
	MinCosineSimilarity  *float64 `json:"min_cosine_similarity"`
	// clusterd additions
	Variance        *float64 `json:"variance,omitempty"`
	ParentClusterID *string  `json:"parent_cluster_id,omitempty"`
	HierarchyLevel  *int     `json:"hierarchy_level,omitempty"`
	// Metadata is the LLM's answer for the cluster when
	// llm_labeling.response_shape is set: the JSON object as the model gave
	// it (label, summary and keywords also fill the fields above when the
	// shape has them). Absent otherwise, and for clusters whose answer
	// failed. The seed's ClusterExecutionCentroid allows extra properties.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ExecutionResult is the seed's ClusterExecutionResult plus clusterd's
// additions (algorithm, backend, backend_fallback_reason, stats, progress).
type ExecutionResult struct {
	RunID             string              `json:"run_id"`
	ClusterID         string              `json:"cluster_id"`
	Status            string              `json:"status"`
	NumClusters       int                 `json:"num_clusters"`
	NumPoints         int                 `json:"num_points"`
	Metrics           *ExecutionMetrics   `json:"metrics"`
	Centroids         []ExecutionCentroid `json:"centroids"`
	CreatedAt         Time                `json:"created_at"`
	CompletedAt       *Time               `json:"completed_at"`
	ErrorMessage      *string             `json:"error_message"`
	LLMLabelingErrors []string            `json:"llm_labeling_errors"`
	// clusterd additions
	Algorithm             string        `json:"algorithm,omitempty"`
	Backend               string        `json:"backend,omitempty"`
	BackendFallbackReason *string       `json:"backend_fallback_reason,omitempty"`
	Stats                 *engine.Stats `json:"stats,omitempty"`
	// Progress is the fraction of the work done, in [0, 1], while processing.
	Progress *float64 `json:"progress,omitempty"`
}

// Completed fills the result fields of e from an engine result.
func (e *ExecutionResult) Completed(res *engine.Result, backend string, at Time) {
	e.Status = StatusCompleted
	e.NumClusters = res.NumClusters
	e.NumPoints = len(res.Labels)
	e.Algorithm = res.Algorithm
	e.Backend = backend
	st := res.Stats
	e.Stats = &st
	e.CompletedAt = &at
	e.ErrorMessage = nil
	e.Progress = nil
	if res.Metrics != nil {
		e.Metrics = &ExecutionMetrics{
			SilhouetteScore:       finite(res.Metrics.Silhouette),
			DaviesBouldinIndex:    finite(res.Metrics.DaviesBouldin),
			CalinskiHarabaszScore: finite(res.Metrics.CalinskiHarabasz),
		}
	}
	all := res.AllClusters()
	e.Centroids = make([]ExecutionCentroid, 0, len(all)+1)
	for _, c := range all {
		ec := ExecutionCentroid{
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
			}
		}
		e.Centroids = append(e.Centroids, ec)
	}
	if st.NoisePoints > 0 {
		e.Centroids = append(e.Centroids, ExecutionCentroid{ClusterID: NoiseClusterID, NumMembers: st.NoisePoints})
	}
}

// Failed marks e failed with msg.
func (e *ExecutionResult) Failed(msg string, at Time) {
	e.Status = StatusFailed
	e.ErrorMessage = &msg
	e.CompletedAt = &at
	e.Metrics = nil
	e.Centroids = nil
	e.Progress = nil
}

// NoiseClusterID is the centroid entry that counts noise points.
const NoiseClusterID = "cl_-1"

// finite returns a pointer to v, or nil for NaN and ±Inf (JSON has neither).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
