package model

import (
	"encoding/json"
	"strings"

	"github.com/clusterd/clusterd/schema"
)

// CreateClusterRequest is Mixpeek's CreateClusterRequest (POST /v1/clusters)
// plus clusterd's description and metadata. Its declaration, with defaults
// and ranges, is CreateClusterRequestModel; a stored cluster keeps the
// request completed with the defaults.
type CreateClusterRequest struct {
	CollectionIDs          []string          `json:"collection_ids"`
	ClusterName            *string           `json:"cluster_name"`
	ClusterType            string            `json:"cluster_type"`
	VectorConfig           *VectorConfig     `json:"vector_config"`
	AttributeConfig        *AttributeConfig  `json:"attribute_config"`
	Filters                json.RawMessage   `json:"filters"`
	LLMLabeling            *LLMLabeling      `json:"llm_labeling"`
	EnrichSourceCollection bool              `json:"enrich_source_collection"`
	SourceEnrichmentConfig *EnrichmentConfig `json:"source_enrichment_config"`
	// clusterd's additions
	Description *string         `json:"description,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

// Cluster types.
const (
	ClusterTypeVector    = "vector"
	ClusterTypeAttribute = "attribute"
)

// VectorConfig is Mixpeek's VectorBasedConfig: what to cluster and how,
// plus clusterd's pipeline fields (hierarchical, preprocessing_steps, …).
type VectorConfig struct {
	FeatureURIs            []string        `json:"feature_uris"`
	FeatureURI             *string         `json:"feature_uri"` // deprecated: one feature
	ClusteringMethod       string          `json:"clustering_method"`
	AlgorithmParams        json.RawMessage `json:"algorithm_params"`
	KMeansParameters       json.RawMessage `json:"kmeans_parameters,omitempty"`  // deprecated
	DBSCANParameters       json.RawMessage `json:"dbscan_parameters,omitempty"`  // deprecated
	HDBSCANParameters      json.RawMessage `json:"hdbscan_parameters,omitempty"` // deprecated
	SampleSize             *int            `json:"sample_size"`
	MultiFeatureStrategy   string          `json:"multi_feature_strategy"`
	NormalizeFeatures      bool            `json:"normalize_features"`
	FeatureWeights         FeatureWeights  `json:"feature_weights"`
	WeightLearningConfig   *WeightLearning `json:"weight_learning_config"`
	OutputStrategy         string          `json:"output_strategy"`
	EnrichSource           bool            `json:"enrich_source"`
	EffectiveFeatureMethod string          `json:"effective_feature_method"`
	FeatureExtractorName   *string         `json:"feature_extractor_name,omitempty"` // Mixpeek's internal field: filled from the URI
	OutputName             *string         `json:"output_name,omitempty"`            // Mixpeek's internal field: filled from the URI
	Version                *string         `json:"version,omitempty"`                // Mixpeek's internal field: filled from the URI
	// clusterd's additions
	Hierarchical       bool              `json:"hierarchical"`
	MaxHierarchyDepth  int               `json:"max_hierarchy_depth"`
	PreprocessingSteps []json.RawMessage `json:"preprocessing_steps"`
	Backend            string            `json:"backend"`
}

// Multi-feature strategies and output strategies.
const (
	StrategyConcatenate = "concatenate"
	StrategyIndependent = "independent"
	StrategyWeighted    = "weighted"
	OutputSingle        = "single"
	OutputPerFeature    = "per_feature"
)

// Features returns the feature URIs the config asks for (feature_uris, or
// the deprecated feature_uri); empty means "the collection's only feature".
func (v *VectorConfig) Features() []string {
	if len(v.FeatureURIs) > 0 {
		return v.FeatureURIs
	}
	if v.FeatureURI != nil && *v.FeatureURI != "" {
		return []string{*v.FeatureURI}
	}
	return nil
}

// Params returns the algorithm parameters the run uses: algorithm_params,
// else the deprecated <method>_parameters of the chosen method, else none
// (every default).
func (v *VectorConfig) Params() json.RawMessage {
	if !isNull(v.AlgorithmParams) {
		return v.AlgorithmParams
	}
	var legacy json.RawMessage
	switch v.ClusteringMethod {
	case "kmeans":
		legacy = v.KMeansParameters
	case "dbscan":
		legacy = v.DBSCANParameters
	case "hdbscan":
		legacy = v.HDBSCANParameters
	}
	if !isNull(legacy) {
		return legacy
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}

// FeatureURIParts splits a Mixpeek feature URI
// (mixpeek://{extractor}@{version}/{output}) into its parts; ok is false
// for anything else (a plain feature name).
func FeatureURIParts(uri string) (extractor, version, output string, ok bool) {
	rest, found := strings.CutPrefix(uri, "mixpeek://")
	if !found {
		return "", "", "", false
	}
	head, output, found := strings.Cut(rest, "/")
	if !found || output == "" {
		return "", "", "", false
	}
	extractor, version, _ = strings.Cut(head, "@")
	return extractor, version, output, extractor != ""
}

// FeatureWeights are per-feature weights keyed by feature URI (Mixpeek's
// form). Configs stored before clusterd took that form hold a list in
// feature order, which decodes to keys "#0", "#1", … (see Weight).
type FeatureWeights map[string]float64

// UnmarshalJSON accepts an object (the contract's form) or, for stored
// configs, a list.
func (w *FeatureWeights) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		*w = nil
		return nil
	}
	if strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		var list []float64
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		m := make(FeatureWeights, len(list))
		for i, x := range list {
			m["#"+itoa(i)] = x
		}
		*w = m
		return nil
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*w = m
	return nil
}

// Weight returns the weight of the i-th feature, named uri: its entry, or
// 1 when it has none.
func (w FeatureWeights) Weight(i int, uri string) float64 {
	if x, ok := w[uri]; ok {
		return x
	}
	if x, ok := w["#"+itoa(i)]; ok {
		return x
	}
	return 1
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// WeightLearning is Mixpeek's WeightLearningConfig: how feature weights are
// learned for multi_feature_strategy "weighted".
type WeightLearning struct {
	Method        string `json:"method"` // "bayesian" or "grid_search"
	MaxIterations int    `json:"max_iterations"`
	Metric        string `json:"metric"` // silhouette, davies_bouldin, calinski_harabasz
	RandomState   int64  `json:"random_state"`
	SampleSize    *int   `json:"sample_size"`
}

// Weight learning methods and metrics (WeightLearningConfig).
const (
	LearnBayesian         = "bayesian"
	LearnGridSearch       = "grid_search"
	LearnSilhouette       = "silhouette"
	LearnDaviesBouldin    = "davies_bouldin"
	LearnCalinskiHarabasz = "calinski_harabasz"
)

// MaxGridEvaluations bounds a grid_search weight learning: max_iterations
// to the power of the number of features may not exceed it (each
// evaluation is a whole clustering).
const MaxGridEvaluations = 1000

// Learning returns weight_learning_config, or its defaults when null (as
// Mixpeek does when weights must be learned and none is given).
func (v *VectorConfig) Learning() WeightLearning {
	if v.WeightLearningConfig != nil {
		return *v.WeightLearningConfig
	}
	return WeightLearning{Method: LearnBayesian, MaxIterations: 20, Metric: MetricSilhouette, RandomState: 42}
}

// LearnsWeights reports whether a run learns the feature weights:
// multi_feature_strategy "weighted" with several features and no
// feature_weights.
func (v *VectorConfig) LearnsWeights() bool {
	return v.MultiFeatureStrategy == StrategyWeighted && len(v.Features()) > 1 && v.FeatureWeights == nil
}

// AttributeConfig is Mixpeek's AttributeBasedConfig: clusters are the
// documents' distinct combinations of payload attributes.
type AttributeConfig struct {
	Attributes           []string `json:"attributes"`
	HierarchicalGrouping bool     `json:"hierarchical_grouping"`
	AggregationMethod    *string  `json:"aggregation_method"`
}

// Aggregation methods (AttributeBasedConfig.aggregation_method).
const (
	AggregateMostFrequent = "most_frequent"
	AggregateFirst        = "first"
	AggregateLast         = "last"
)

// Aggregation returns aggregation_method, most_frequent when null.
func (a *AttributeConfig) Aggregation() string {
	if a.AggregationMethod == nil || *a.AggregationMethod == "" {
		return AggregateMostFrequent
	}
	return *a.AggregationMethod
}

// LLMLabeling is Mixpeek's LLMLabeling: how clusters are named.
type LLMLabeling struct {
	Enabled                      bool            `json:"enabled"`
	Provider                     *string         `json:"provider"`
	ModelName                    *string         `json:"model_name"`
	IncludeSummary               bool            `json:"include_summary"`
	IncludeKeywords              bool            `json:"include_keywords"`
	MaxSamplesPerCluster         int             `json:"max_samples_per_cluster"`
	SampleTextMaxLength          int             `json:"sample_text_max_length"`
	CustomPrompt                 *string         `json:"custom_prompt"`
	LabelingInputs               *LabelingInputs `json:"labeling_inputs"`
	Parameters                   json.RawMessage `json:"parameters"`
	CacheTTLSeconds              int             `json:"cache_ttl_seconds"`
	UseEmbeddingDedup            bool            `json:"use_embedding_dedup"`
	EmbeddingSimilarityThreshold float64         `json:"embedding_similarity_threshold"`
	ResponseShape                json.RawMessage `json:"response_shape"`
}

// LabelingInputs is Mixpeek's LLMLabelingInput: where the text (and other
// inputs) of each representative document come from.
type LabelingInputs struct {
	InputMappings []InputMapping `json:"input_mappings"`
}

// UnmarshalJSON accepts the contract's object or, for configs stored before
// clusterd took that form, a list of payload field names.
func (l *LabelingInputs) UnmarshalJSON(b []byte) error {
	if strings.HasPrefix(strings.TrimSpace(string(b)), "[") {
		var fields []string
		if err := json.Unmarshal(b, &fields); err != nil {
			return err
		}
		l.InputMappings = nil
		for _, f := range fields {
			src, path := SourcePayload, f
			l.InputMappings = append(l.InputMappings, InputMapping{InputKey: f, SourceType: &src, Path: &path})
		}
		return nil
	}
	type plain LabelingInputs
	return json.Unmarshal(b, (*plain)(l))
}

// InputMapping is Mixpeek's InputMapping: one input built from a payload
// path, a literal value or a feature's vector.
type InputMapping struct {
	InputKey   string          `json:"input_key"`
	SourceType *string         `json:"source_type"`
	Path       *string         `json:"path"`
	Override   json.RawMessage `json:"override"`
}

// Input source types (InputSourceType).
const (
	SourcePayload = "payload"
	SourceLiteral = "literal"
	SourceVector  = "vector"
)

// Source returns the mapping's source type; null means payload.
func (m InputMapping) Source() string {
	if m.SourceType == nil || *m.SourceType == "" {
		return SourcePayload
	}
	return *m.SourceType
}

// EnrichmentConfig is Mixpeek's SourceEnrichmentConfig: which fields of a
// cluster result are written into the payloads of its member documents,
// and under which names. clusterd's earlier *_field names are kept as
// deprecated aliases.
type EnrichmentConfig struct {
	FieldMappings []FieldMapping `json:"field_mappings"`
	// deprecated clusterd names, each one mapping
	ClusterIDField    *string `json:"cluster_id_field,omitempty"`
	ClusterLabelField *string `json:"cluster_label_field,omitempty"`
	DistanceField     *string `json:"distance_field,omitempty"`
	KeywordsField     *string `json:"keywords_field,omitempty"`
	SummaryField      *string `json:"summary_field,omitempty"`
	RunIDField        *string `json:"run_id_field,omitempty"`
}

// FieldMapping is Mixpeek's EnrichmentFieldMapping.
type FieldMapping struct {
	SourceField string `json:"source_field"`
	TargetField string `json:"target_field"`
}

// Enrichment source fields (EnrichmentFieldMapping.source_field); a
// "metadata." prefix reads the cluster's fields of the LLM's custom
// response shape.
const (
	EnrichClusterID       = "cluster_id"
	EnrichClusterLabel    = "cluster_label"
	EnrichClusterSummary  = "cluster_summary"
	EnrichClusterKeywords = "cluster_keywords"
	EnrichDistance        = "distance_to_centroid"
	EnrichMemberCount     = "member_count"
	EnrichX               = "x"
	EnrichY               = "y"
	EnrichZ               = "z"
	EnrichRunID           = "run_id"
)

// EnrichSources lists the source fields a field mapping may name, besides
// "metadata.PATH" (and the aliases "keywords" and "summary").
var EnrichSources = []string{EnrichClusterID, EnrichClusterLabel, EnrichClusterSummary, EnrichClusterKeywords,
	EnrichDistance, EnrichMemberCount, EnrichX, EnrichY, EnrichZ, EnrichRunID}

// Mappings resolves the configured field mappings: field_mappings when
// given, else the deprecated names, else the defaults (cluster_id,
// cluster_label and distance_to_centroid under their own names). Aliases
// are resolved ("keywords" → cluster_keywords, "summary" →
// cluster_summary).
func (c *EnrichmentConfig) Mappings() []FieldMapping {
	if c != nil && c.FieldMappings != nil {
		out := make([]FieldMapping, len(c.FieldMappings))
		for i, m := range c.FieldMappings {
			out[i] = FieldMapping{SourceField: canonicalSource(m.SourceField), TargetField: m.TargetField}
		}
		return out
	}
	pick := func(p *string, def string) string {
		if p != nil {
			return *p
		}
		return def
	}
	if c == nil {
		c = &EnrichmentConfig{}
	}
	var out []FieldMapping
	for _, m := range []FieldMapping{
		{EnrichClusterID, pick(c.ClusterIDField, EnrichClusterID)},
		{EnrichClusterLabel, pick(c.ClusterLabelField, EnrichClusterLabel)},
		{EnrichDistance, pick(c.DistanceField, EnrichDistance)},
		{EnrichClusterKeywords, pick(c.KeywordsField, "")},
		{EnrichClusterSummary, pick(c.SummaryField, "")},
		{EnrichRunID, pick(c.RunIDField, "")},
	} {
		if m.TargetField != "" {
			out = append(out, m)
		}
	}
	return out
}

func canonicalSource(s string) string {
	switch s {
	case "keywords":
		return EnrichClusterKeywords
	case "summary", "label_summary":
		return EnrichClusterSummary
	case "label":
		return EnrichClusterLabel
	}
	return s
}

// EnrichRequest is Mixpeek's ApplyClusterEnrichmentRequest (POST
// /v1/clusters/enrich), with the single clustering_id it up-converts.
type EnrichRequest struct {
	ClusteringIDs      []string `json:"clustering_ids"`
	ClusteringID       *string  `json:"clustering_id,omitempty"`
	SourceCollectionID string   `json:"source_collection_id"`
	TargetCollectionID *string  `json:"target_collection_id"`
	BatchSize          int      `json:"batch_size"`
	Parallelism        int      `json:"parallelism"`
}

// IDs returns clustering_ids with clustering_id appended when given.
func (r *EnrichRequest) IDs() []string {
	ids := append([]string(nil), r.ClusteringIDs...)
	if r.ClusteringID != nil && *r.ClusteringID != "" {
		ids = append(ids, *r.ClusteringID)
	}
	return ids
}

// EnrichResponse is Mixpeek's ClusteringEnrichmentResponse.
type EnrichResponse struct {
	Processed int `json:"processed"`
	Enriched  int `json:"enriched"`
	Failed    int `json:"failed"`
	Batches   int `json:"batches"`
}

// PatchClusterRequest is Mixpeek's PatchClusterRequest; a null field is
// left as it is.
type PatchClusterRequest struct {
	ClusterName *string         `json:"cluster_name"`
	Description *string         `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
}

// TaskResponse is Mixpeek's TaskResponse: what execute returns and
// GET /v1/tasks/{id} reads.
type TaskResponse struct {
	TaskID         string         `json:"task_id"`
	TaskType       string         `json:"task_type"`
	Status         string         `json:"status"` // PENDING, PROCESSING, COMPLETED, FAILED, CANCELED
	AdditionalData map[string]any `json:"additional_data"`
	Error          *string        `json:"error"`
	Inputs         []any          `json:"inputs"`
	Outputs        []any          `json:"outputs"`
	CreatedAt      Time           `json:"created_at"`
	UpdatedAt      *Time          `json:"updated_at,omitempty"`
	ErrorMessage   *string        `json:"error_message,omitempty"`
	Progress       *float64       `json:"progress,omitempty"`
}

// TaskTypeClusterBuild is the task_type of an execute.
const TaskTypeClusterBuild = "engine_cluster_build"

// DecodeClusterConfig reads a stored cluster definition, completing it with
// the defaults of CreateClusterRequestModel (so definitions stored before a
// field existed read as if it had its default).
func DecodeClusterConfig(raw []byte) (CreateClusterRequest, error) {
	var cfg CreateClusterRequest
	v, err := schema.Parse(raw)
	if err != nil {
		return cfg, err
	}
	if err := schema.Into(CreateClusterRequestModel.Complete(v), &cfg); err != nil {
		return cfg, err
	}
	if cfg.ClusterType == "" {
		cfg.ClusterType = ClusterTypeVector
	}
	return cfg, nil
}
