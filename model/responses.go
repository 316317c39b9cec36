package model

import "encoding/json"

// ClusterMetadata is a cluster as the API returns it: Mixpeek's
// ClusterMetadata (GET, list) and ClusterModel (PATCH) in one shape, since
// each is a superset-compatible view of the other: the definition as
// created (completed with the defaults), its flattened summary
// (algorithm, feature_uris, …) and the state of its latest runs.
type ClusterMetadata struct {
	ClusterID   string  `json:"cluster_id"`
	ClusterName string  `json:"cluster_name"` // the name, or the id when the cluster has none
	Description *string `json:"description"`
	NamespaceID string  `json:"namespace_id"`
	ClusterType string  `json:"cluster_type"`
	// InputCollections are the collections' ids; CollectionIDs the
	// references as created (ids or names).
	InputCollections []string `json:"input_collections"`
	CollectionIDs    []string `json:"collection_ids"`

	Algorithm              *string           `json:"algorithm"`
	AlgorithmParams        json.RawMessage   `json:"algorithm_params"`
	FeatureURIs            []string          `json:"feature_uris"`
	MultiFeatureStrategy   *string           `json:"multi_feature_strategy"`
	EffectiveFeatureMethod *string           `json:"effective_feature_method"`
	EnrichSource           bool              `json:"enrich_source"`
	EnrichSourceCollection bool              `json:"enrich_source_collection"`
	ClusteredAttributes    []string          `json:"clustered_attributes"`
	HierarchicalGrouping   *bool             `json:"hierarchical_grouping"`
	AggregationMethod      *string           `json:"aggregation_method"`
	VectorConfig           *VectorConfig     `json:"vector_config"`
	AttributeConfig        *AttributeConfig  `json:"attribute_config"`
	Filters                json.RawMessage   `json:"filters"`
	LLMLabeling            *LLMLabeling      `json:"llm_labeling"`
	SourceEnrichmentConfig *EnrichmentConfig `json:"source_enrichment_config"`
	Metadata               json.RawMessage   `json:"metadata"` // an object ({} when none)

	// The latest run: its task status (PENDING when the cluster never ran)
	// and ids; LastRunID is the latest completed run's.
	Status              string  `json:"status"`
	TaskID              *string `json:"task_id"`
	LastExecutionTaskID *string `json:"last_execution_task_id"`
	LastExecutionStatus *string `json:"last_execution_status"`
	LastRunID           *string `json:"last_run_id"`
	LastExecutedAt      *Time   `json:"last_executed_at"`

	// From the latest completed run.
	CompletedAt            *Time              `json:"completed_at"`
	ExecutionTimeSeconds   *float64           `json:"execution_time_seconds"`
	NumClusters            *int               `json:"num_clusters"`
	NumDocumentsClustered  *int               `json:"num_documents_clustered"`
	ClusterStats           *ClusterStats      `json:"cluster_stats"`
	LLMLabelingErrors      []string           `json:"llm_labeling_errors"`
	LearnedWeights         map[string]float64 `json:"learned_weights"`
	LearningQualityScore   *float64           `json:"learning_quality_score"`
	HierarchyDetected      bool               `json:"hierarchy_detected"`
	HierarchyRelationships []map[string]any   `json:"hierarchy_relationships"`
	MembersKey             *string            `json:"members_key"`
	ParquetPath            *string            `json:"parquet_path"`

	// Output collections the runs write (one document per cluster).
	OutputCollectionIDs   []string `json:"output_collection_ids"`
	OutputCollectionNames []string `json:"output_collection_names"`

	// Mixpeek's hierarchy and lineage fields; clusterd's clusters are not
	// nested and come from no bucket, so they are null.
	ParentClusterID *string  `json:"parent_cluster_id"`
	ChildClusterIDs []string `json:"child_cluster_ids"`
	SourceBucketIDs []string `json:"source_bucket_ids"`

	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
}

// ClusterStats is Mixpeek's ClusterStats.
type ClusterStats struct {
	NumClusters     int            `json:"num_clusters"`
	SilhouetteScore *float64       `json:"silhouette_score"`
	NoisePoints     *int           `json:"noise_points"`
	Extra           map[string]any `json:"extra"`
}

// ClusterListStats is Mixpeek's ClusterListStats: aggregates over the
// clusters of a list page.
type ClusterListStats struct {
	TotalClusters          int            `json:"total_clusters"`
	TotalDocuments         int            `json:"total_documents"`
	AvgDocumentsPerCluster float64        `json:"avg_documents_per_cluster"`
	ClustersByStatus       map[string]int `json:"clusters_by_status"`
}
