package model

import (
	"encoding/json"

	"github.com/clusterd/clusterd/engine"
)

// CreateClusterRequest is Mixpeek's CreateClusterRequest (POST /v1/clusters).
// Validation tags are go-playground/validator's, applied by the API; JSON
// names are the field paths reported in 422 responses.
type CreateClusterRequest struct {
	CollectionIDs          []string          `json:"collection_ids" binding:"required,min=1,max=64,dive,required"`
	ClusterName            string            `json:"cluster_name,omitempty" binding:"max=256"`
	Description            string            `json:"description,omitempty" binding:"max=4096"`
	ClusterType            string            `json:"cluster_type,omitempty" binding:"omitempty,oneof=vector"`
	VectorConfig           *VectorConfig     `json:"vector_config,omitempty"`
	Filters                json.RawMessage   `json:"filters,omitempty"`
	LLMLabeling            *LLMLabeling      `json:"llm_labeling,omitempty"`
	EnrichSourceCollection bool              `json:"enrich_source_collection,omitempty"`
	SourceEnrichmentConfig *EnrichmentConfig `json:"source_enrichment_config,omitempty"`
	Metadata               json.RawMessage   `json:"metadata,omitempty"`
}

// VectorConfig says what to cluster and how.
type VectorConfig struct {
	FeatureURIs            []string          `json:"feature_uris,omitempty" binding:"omitempty,max=16,dive,required"`
	FeatureURI             string            `json:"feature_uri,omitempty"` // deprecated: one feature
	ClusteringMethod       string            `json:"clustering_method" binding:"required"`
	AlgorithmParams        json.RawMessage   `json:"algorithm_params,omitempty"`
	SampleSize             *int              `json:"sample_size,omitempty" binding:"omitempty,min=2"`
	MultiFeatureStrategy   string            `json:"multi_feature_strategy,omitempty" binding:"omitempty,oneof=concatenate"`
	NormalizeFeatures      *bool             `json:"normalize_features,omitempty"`
	FeatureWeights         []float64         `json:"feature_weights,omitempty" binding:"omitempty,dive,gte=0"`
	EffectiveFeatureMethod string            `json:"effective_feature_method,omitempty" binding:"omitempty,oneof=mean median medoid"`
	Hierarchical           bool              `json:"hierarchical,omitempty"`
	MaxHierarchyDepth      *int              `json:"max_hierarchy_depth,omitempty" binding:"omitempty,min=1,max=10"`
	PreprocessingSteps     []json.RawMessage `json:"preprocessing_steps,omitempty" binding:"max=16"`
	Backend                string            `json:"backend,omitempty" binding:"omitempty,oneof=auto cpu gpu"`
}

// Features returns the feature names the config asks for (feature_uris, or
// the deprecated feature_uri); empty means "the collection's only feature".
func (v *VectorConfig) Features() []string {
	if len(v.FeatureURIs) > 0 {
		return v.FeatureURIs
	}
	if v.FeatureURI != "" {
		return []string{v.FeatureURI}
	}
	return nil
}

// Pipeline returns the engine pipeline options of the config.
func (v *VectorConfig) Pipeline() engine.Pipeline {
	p := engine.Pipeline{Preprocessing: v.PreprocessingSteps, Hierarchical: v.Hierarchical, EffectiveFeatureMethod: v.EffectiveFeatureMethod}
	if v.SampleSize != nil {
		p.SampleSize = *v.SampleSize
	}
	if v.MaxHierarchyDepth != nil {
		p.MaxHierarchyDepth = *v.MaxHierarchyDepth
	}
	return p
}

// LLMLabeling configures cluster labels.
type LLMLabeling struct {
	Enabled              bool            `json:"enabled"`
	Provider             string          `json:"provider,omitempty" binding:"omitempty,oneof=openai anthropic google"`
	ModelName            string          `json:"model_name,omitempty"`
	IncludeSummary       *bool           `json:"include_summary,omitempty"`
	IncludeKeywords      *bool           `json:"include_keywords,omitempty"`
	MaxSamplesPerCluster *int            `json:"max_samples_per_cluster,omitempty" binding:"omitempty,min=1,max=100"`
	SampleTextMaxLength  *int            `json:"sample_text_max_length,omitempty" binding:"omitempty,min=10,max=10000"`
	CustomPrompt         string          `json:"custom_prompt,omitempty" binding:"max=8000"`
	LabelingInputs       []string        `json:"labeling_inputs,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	CacheTTLSeconds      *int            `json:"cache_ttl_seconds,omitempty" binding:"omitempty,min=0"`
}

// EnrichmentConfig is source_enrichment_config: the payload field names
// enrichment writes (an empty name leaves that field out). Defaults:
// cluster_id, cluster_label, distance_to_centroid; keywords, summary and
// run_id are only written when named.
type EnrichmentConfig struct {
	ClusterIDField    *string `json:"cluster_id_field,omitempty" binding:"omitempty,max=128"`
	ClusterLabelField *string `json:"cluster_label_field,omitempty" binding:"omitempty,max=128"`
	DistanceField     *string `json:"distance_field,omitempty" binding:"omitempty,max=128"`
	KeywordsField     *string `json:"keywords_field,omitempty" binding:"omitempty,max=128"`
	SummaryField      *string `json:"summary_field,omitempty" binding:"omitempty,max=128"`
	RunIDField        *string `json:"run_id_field,omitempty" binding:"omitempty,max=128"`
}

// Fields resolves the configured names, with the defaults.
func (c *EnrichmentConfig) Fields() (clusterID, label, distance, keywords, summary, runID string) {
	pick := func(p *string, def string) string {
		if p != nil {
			return *p
		}
		return def
	}
	if c == nil {
		c = &EnrichmentConfig{}
	}
	return pick(c.ClusterIDField, "cluster_id"), pick(c.ClusterLabelField, "cluster_label"), pick(c.DistanceField, "distance_to_centroid"),
		pick(c.KeywordsField, ""), pick(c.SummaryField, ""), pick(c.RunIDField, "")
}

// EnrichRequest is POST /v1/clusters/enrich.
type EnrichRequest struct {
	ClusteringIDs      []string `json:"clustering_ids" binding:"required,min=1,max=64,dive,required"`
	SourceCollectionID string   `json:"source_collection_id" binding:"required"`
	TargetCollectionID string   `json:"target_collection_id,omitempty"`
	BatchSize          int      `json:"batch_size,omitempty" binding:"omitempty,min=1,max=100000"`
	Parallelism        int      `json:"parallelism,omitempty" binding:"omitempty,min=1,max=64"`
}

// EnrichResponse reports an enrichment.
type EnrichResponse struct {
	Processed int `json:"processed"`
	Enriched  int `json:"enriched"`
	Failed    int `json:"failed"`
	Batches   int `json:"batches"`
}

// ClusterMetadata is a cluster as the API returns it.
type ClusterMetadata struct {
	ClusterID              string            `json:"cluster_id"`
	ClusterName            *string           `json:"cluster_name"`
	Description            *string           `json:"description"`
	ClusterType            string            `json:"cluster_type"`
	CollectionIDs          []string          `json:"collection_ids"`
	VectorConfig           *VectorConfig     `json:"vector_config"`
	Filters                json.RawMessage   `json:"filters"`
	LLMLabeling            *LLMLabeling      `json:"llm_labeling"`
	EnrichSourceCollection bool              `json:"enrich_source_collection"`
	SourceEnrichmentConfig *EnrichmentConfig `json:"source_enrichment_config"`
	Metadata               json.RawMessage   `json:"metadata"`
	NamespaceID            string            `json:"namespace_id"`
	CreatedAt              Time              `json:"created_at"`
	UpdatedAt              Time              `json:"updated_at"`
	LastExecutionStatus    *string           `json:"last_execution_status"`
	LastRunID              *string           `json:"last_run_id"`
}

// TaskResponse is what execute returns and GET /v1/tasks/{id} reads.
type TaskResponse struct {
	TaskID         string         `json:"task_id"`
	TaskType       string         `json:"task_type"`
	Status         string         `json:"status"` // PENDING, PROCESSING, COMPLETED, FAILED, CANCELED
	AdditionalData map[string]any `json:"additional_data"`
	CreatedAt      Time           `json:"created_at"`
	UpdatedAt      *Time          `json:"updated_at,omitempty"`
	ErrorMessage   *string        `json:"error_message,omitempty"`
	Progress       *float64       `json:"progress,omitempty"`
}

// TaskTypeClusterBuild is the task_type of an execute.
const TaskTypeClusterBuild = "engine_cluster_build"
