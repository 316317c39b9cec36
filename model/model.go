// Package model holds the wire types of the clusters API: the seed's
// ClusterExecutionResult and its parts (field for field, with clusterd's
// documented additions beside them, never renamed or dropped). The service
// and `clusterd fit` both write these (runner.Completed maps an engine
// result into them), so a file from the CLI and a response from the API
// look the same. Package model does not import the engine: stats.go
// mirrors the engine's statistics.
package model

import (
	"time"
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
	// FeatureURI is the feature a cluster of a multi_feature_strategy
	// "independent" run belongs to (as given in feature_uris).
	FeatureURI *string `json:"feature_uri,omitempty"`
	// Attributes are an attribute cluster's values, keyed by the attribute
	// as given in attribute_config.attributes: the values that define it,
	// and for a parent of a hierarchy the deeper attributes' values chosen
	// by aggregation_method (null when no member has one).
	Attributes map[string]any `json:"attributes,omitempty"`
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
	Algorithm             string    `json:"algorithm,omitempty"`
	Backend               string    `json:"backend,omitempty"`
	BackendFallbackReason *string   `json:"backend_fallback_reason,omitempty"`
	Stats                 *RunStats `json:"stats,omitempty"`
	// Progress is the fraction of the work done, in [0, 1], while processing.
	Progress *float64 `json:"progress,omitempty"`
}

// RunStats are an execution's statistics: the engine's (for a
// multi_feature_strategy "independent" run, the first feature's) and what
// the run added around the clustering.
type RunStats struct {
	Stats
	// LearnedWeights (keyed by feature URI) and LearningQualityScore (the
	// best value of weight_learning_config.metric, in the metric's own
	// units) are set when multi_feature_strategy "weighted" learned the
	// weights; WeightLearning says how.
	LearnedWeights       map[string]float64   `json:"learned_weights,omitempty"`
	LearningQualityScore *float64             `json:"learning_quality_score,omitempty"`
	WeightLearning       *WeightLearningStats `json:"weight_learning,omitempty"`
	// FeatureWeights are the weights a concatenation used, keyed by feature
	// URI (several features only).
	FeatureWeights map[string]float64 `json:"feature_weights,omitempty"`
	// Features describe each feature's clustering of an "independent" run.
	Features []FeatureRun `json:"features,omitempty"`
	// HierarchyDetected and HierarchyRelationships are Mixpeek's: the
	// parent-child pairs of clusters, detected from membership overlap
	// ("independent") or made by the clustering (hierarchical_grouping,
	// hierarchical).
	HierarchyDetected      bool                    `json:"hierarchy_detected"`
	HierarchyRelationships []HierarchyRelationship `json:"hierarchy_relationships,omitempty"`
}

// WeightLearningStats describe a weight learning: its configuration, the
// rows it learned on and every weight combination it evaluated.
type WeightLearningStats struct {
	Method        string        `json:"method"`
	Metric        string        `json:"metric"`
	MaxIterations int           `json:"max_iterations"`
	RandomState   int64         `json:"random_state"`
	SampleSize    int           `json:"sample_size"` // rows the weights were learned on
	Trials        []WeightTrial `json:"trials"`
}

// WeightTrial is one evaluated weight combination: the weights by feature
// URI and the metric's value (null when the clustering had fewer than 2
// clusters, which makes every metric undefined).
type WeightTrial struct {
	Weights map[string]float64 `json:"weights"`
	Score   *float64           `json:"score"`
}

// FeatureRun is one feature's clustering in an "independent" run: its
// clusters are centroids[first_cluster…] of the execution.
type FeatureRun struct {
	FeatureURI  string            `json:"feature_uri"`
	NumClusters int               `json:"num_clusters"`
	NoisePoints int               `json:"noise_points"`
	ClusterIDs  []string          `json:"cluster_ids"` // its top-level clusters
	Metrics     *ExecutionMetrics `json:"metrics"`
	Stats       Stats             `json:"stats"`
}

// HierarchyRelationship says that ParentClusterID contains
// ChildClusterID: SharedMembers of the child's ChildMembers documents are
// in the parent (Overlap = SharedMembers / ChildMembers). Source is
// "membership_overlap" (clusters of different features of an
// "independent" run, with their feature URIs) or "hierarchy" (a
// sub-cluster and its parent).
type HierarchyRelationship struct {
	ParentClusterID  string  `json:"parent_cluster_id"`
	ChildClusterID   string  `json:"child_cluster_id"`
	ParentFeatureURI *string `json:"parent_feature_uri,omitempty"`
	ChildFeatureURI  *string `json:"child_feature_uri,omitempty"`
	SharedMembers    int     `json:"shared_members"`
	ChildMembers     int     `json:"child_members"`
	Overlap          float64 `json:"overlap"`
	Source           string  `json:"source"`
}

// Sources of a HierarchyRelationship.
const (
	RelationOverlap   = "membership_overlap"
	RelationHierarchy = "hierarchy"
)

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
