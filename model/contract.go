package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// This file declares the request models of Mixpeek's clusters API
// (mixpeek-clusters-openapi-0.81.json, names kept) with schema: the API
// validates every request body against them, completes it with their
// defaults, and publishes them in /openapi.json. clusterd's additions are
// marked Ext; fields accepted without effect say why (NoEffect). A test
// compares every model with the contract file so neither can drift.

// Limits that keep one request bounded.
const (
	MaxCollections  = 64  // collection_ids of one cluster
	MaxFeatures     = 64  // feature_uris of one cluster
	MaxSteps        = 16  // preprocessing_steps
	MaxNameLength   = 256 // names and ids a client chooses
	MaxPromptLength = 100_000
)

// PathSafe is the pattern of a name or id a client chooses and later writes
// in a URL path (collection and cluster names, document ids): no "/" (a
// path separator even when escaped, for many proxies and clients) and no
// control characters.
const PathSafe = `^[^/\x00-\x1f\x7f]+$`

// ClusterTypeEnum is Mixpeek's ClusterType.
var ClusterTypeEnum = schema.Enum(ClusterTypeVector, ClusterTypeAttribute).Named("ClusterType").
	Describe("vector: cluster documents by embedding similarity; attribute: group them by payload attributes.")

// ClusteringAlgorithm is Mixpeek's ClusteringAlgorithm plus clusterd's
// minibatch_kmeans.
var ClusteringAlgorithm = schema.Enum(params.KMeans, params.DBSCAN, params.HDBSCAN, params.Agglomerative, params.Spectral,
	params.GaussianMixture, params.MeanShift, params.OPTICS, params.AttributeBased, params.MiniBatchKMeans).
	Named("ClusteringAlgorithm").Describe("The clustering algorithm. minibatch_kmeans is clusterd's.")

// weightLearning is Mixpeek's WeightLearningConfig.
var weightLearning = schema.Model("WeightLearningConfig", "How feature weights are learned for multi_feature_strategy 'weighted'.",
	schema.F("method", schema.Enum("grid_search", "bayesian")).Def("bayesian").
		Describe("bayesian: a Gaussian-process search over weight combinations; grid_search: every combination of max_iterations values per feature"),
	schema.F("max_iterations", schema.Int().Min(5).Max(100)).Def(20).
		Describe("bayesian: weight combinations evaluated; grid_search: values per feature (1/m … 1), at most 1000 combinations in all"),
	schema.F("metric", schema.Enum("silhouette", "davies_bouldin", "calinski_harabasz")).Def("silhouette"),
	schema.F("random_state", schema.Int().Min(0).Max(4294967295)).Def(42),
	schema.F("sample_size", schema.Int().Min(100).OrNull()).Def(nil).Describe("Learn the weights on a seeded sample of this many documents"),
)

// nullable wraps a shared model so one use of it may be null without
// changing the model itself.
func nullable(s *schema.Schema) *schema.Schema { return schema.OneOf(s).OrNull() }

// paramUnion is algorithm_params as the contract declares it: any of the
// parameter models (the one clustering_method names is enforced).
func paramUnion() *schema.Schema {
	alts := append([]*schema.Schema{}, params.Models()...)
	return schema.OneOf(alts...).OrNull()
}

// legacyParams is a deprecated <method>_parameters field: the model, or any
// object (enforced only when clustering_method is that method).
func legacyParams(m *schema.Schema) *schema.Schema {
	return schema.OneOf(m, schema.FreeObject()).OrNull()
}

// VectorBasedConfig is Mixpeek's VectorBasedConfig with clusterd's pipeline
// fields.
var VectorBasedConfig = schema.Model("VectorBasedConfig-Input",
	"What to cluster (one or more features of the documents) and how (the algorithm, its parameters and the steps around it).",
	schema.F("feature_uris", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MinLen(1).MaxLen(MaxFeatures).OrNull()).Def(nil).
		Describe("Features to cluster: mixpeek://{extractor}@{version}/{output} URIs or feature names, resolved against each collection's features (exact name, then the URI's output). Null: the collection's only feature."),
	schema.F("feature_uri", schema.Str().MaxLen(MaxNameLength).OrNull()).Def(nil).Deprecate().Describe("One feature (use feature_uris)"),
	schema.F("clustering_method", ClusteringAlgorithm).Req(),
	schema.F("algorithm_params", paramUnion()).Def(nil).
		Describe("The parameters of clustering_method: its model (KMeansParams, …); null takes every default."),
	schema.F("kmeans_parameters", legacyParams(params.KMeansParams)).Deprecate().Describe("KMeansParams when algorithm_params is null (deprecated)"),
	schema.F("dbscan_parameters", legacyParams(params.DBSCANParams)).Deprecate().Describe("DBSCANParams when algorithm_params is null (deprecated)"),
	schema.F("hdbscan_parameters", legacyParams(params.HDBSCANParams)).Deprecate().Describe("HDBSCANParams when algorithm_params is null (deprecated)"),
	schema.F("sample_size", schema.Int().Min(2).OrNull()).Def(nil).
		Describe("Fit on a seeded sample of this many documents and assign the others; a size at or above the collection's fits every document."),
	schema.F("multi_feature_strategy", schema.Enum(StrategyConcatenate, StrategyIndependent, StrategyWeighted)).Def(StrategyConcatenate).
		Describe("concatenate: one clustering of the joined vectors; independent: one clustering per feature; weighted: concatenate with weights learned by weight_learning_config."),
	schema.F("normalize_features", schema.Bool()).Def(true).Describe("L2-normalise each feature's vectors before they are joined"),
	schema.F("feature_weights", schema.MapOf(schema.Num().Min(0)).OrNull()).Def(nil).
		Describe("Weight of each feature's block, keyed by the feature URI as given in feature_uris (default 1)"),
	schema.F("weight_learning_config", nullable(weightLearning)).Def(nil),
	schema.F("output_strategy", schema.Enum(OutputSingle, OutputPerFeature)).Def(OutputSingle).
		Describe("single: one output collection with a document per cluster holding every feature's centroid; per_feature: one output collection per feature"),
	schema.F("enrich_source", schema.Bool()).Def(false).
		Describe("Write each member's cluster into its source document after every completed run (as enrich_source_collection, but the output collections are written too)"),
	schema.F("effective_feature_method", schema.Enum("mean", "median", "medoid")).Def("mean").
		Describe("How a cluster's reported centroid is made from its members"),
	schema.F("feature_extractor_name", schema.Str().OrNull()).Def(nil).NoEffect("Mixpeek fills it from feature_uri; clusterd reads the URI itself"),
	schema.F("output_name", schema.Str().OrNull()).Def(nil).NoEffect("Mixpeek fills it from feature_uri; clusterd reads the URI itself"),
	schema.F("version", schema.Str().OrNull()).Def(nil).NoEffect("Mixpeek fills it from feature_uri; clusterd reads the URI itself"),
	schema.F("hierarchical", schema.Bool()).Def(false).Ext().
		Describe("Cluster every cluster of at least 20 members again, down to max_hierarchy_depth levels"),
	schema.F("max_hierarchy_depth", schema.Int().Min(1).Max(10)).Def(3).Ext().Describe("Levels of sub-clusters, counting the top level"),
	schema.F("preprocessing_steps", schema.List(params.PreprocessingStep).MaxLen(MaxSteps)).Def([]any{}).Ext().
		Describe("Steps applied in order before clustering: normalize, pca, whitening"),
	schema.F("backend", schema.Enum("auto", "cpu", "gpu")).Def("auto").Ext().
		Describe("Where distances are computed: a GPU when one is usable (auto), the CPU, or a GPU only"),
)

func init() {
	VectorBasedConfig.Select = selectParams
	VectorBasedConfig.Check = checkVectorConfig
}

// selectParams makes algorithm_params (and the deprecated field of the
// same method) the parameter model of clustering_method.
func selectParams(obj map[string]any) map[string]*schema.Schema {
	method, _ := obj["clustering_method"].(string)
	m := params.For(method)
	if m == nil {
		return nil
	}
	out := map[string]*schema.Schema{"algorithm_params": nullable(m)}
	switch method {
	case params.KMeans:
		out["kmeans_parameters"] = nullable(m)
	case params.DBSCAN:
		out["dbscan_parameters"] = nullable(m)
	case params.HDBSCAN:
		out["hdbscan_parameters"] = nullable(m)
	}
	return out
}

func checkVectorConfig(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	method := o.Str("clustering_method")
	switch {
	case method == params.AttributeBased:
		if o.Has("algorithm_params") {
			ps = append(ps, schema.Problem{Loc: at.With("algorithm_params"), Type: "value_error", Msg: "attribute_based takes no algorithm_params"})
		}
	case method != "" && params.For(method) != nil && !params.Supported(method):
		ps = append(ps, schema.Problem{Loc: at.With("clustering_method"), Type: "value_error",
			Msg: fmt.Sprintf("clustering_method %q is not implemented in clusterd yet (implemented: %s)", method, strings.Join(params.Algorithms(), ", "))})
	}
	legacy := map[string]string{params.KMeans: "kmeans_parameters", params.DBSCAN: "dbscan_parameters", params.HDBSCAN: "hdbscan_parameters"}
	if name, ok := legacy[method]; ok && o.Has("algorithm_params") && o.Has(name) && !schema.Equal(o["algorithm_params"], o[name]) {
		ps = append(ps, schema.Problem{Loc: at.With(name), Type: "value_error", Msg: "differs from algorithm_params; give the parameters once, in algorithm_params"})
	}
	ps = append(ps, checkSampleSize(o, at)...)
	features := map[string]bool{}
	for _, f := range o.List("feature_uris") {
		if s, ok := f.(string); ok {
			features[s] = true
		}
	}
	if uri := o.Str("feature_uri"); uri != "" {
		if len(features) > 0 && !features[uri] {
			ps = append(ps, schema.Problem{Loc: at.With("feature_uri"), Type: "value_error", Msg: "differs from feature_uris; give feature_uris only"})
		}
		features[uri] = true
	}
	for key := range o.Obj("feature_weights") {
		// Weights scale the blocks of several named features; with none
		// named, the collection's only feature is clustered as it is.
		if len(features) > 0 && !features[key] {
			ps = append(ps, schema.Problem{Loc: at.With("feature_weights", key), Type: "value_error",
				Msg: "not one of the features in feature_uris"})
		}
	}
	return append(ps, checkGridBudget(o, len(features), at)...)
}

// checkGridBudget refuses a grid_search weight learning of more than
// MaxGridEvaluations clusterings (max_iterations values per feature, every
// combination).
func checkGridBudget(o schema.Values, features int, at schema.Path) schema.Problems {
	if o.Str("multi_feature_strategy") != StrategyWeighted || o.Has("feature_weights") || features < 2 {
		return nil
	}
	wl := o.Obj("weight_learning_config")
	if wl.Str("method") != LearnGridSearch {
		return nil
	}
	m, ok := wl.IntOK("max_iterations")
	if !ok {
		if wl.Has("max_iterations") {
			return nil // the field's own problem is reported
		}
		m = 20
	}
	if n := GridEvaluations(m, features); n > MaxGridEvaluations {
		return schema.Problems{{Loc: at.With("weight_learning_config", "max_iterations"), Type: "value_error",
			Msg: fmt.Sprintf("grid_search evaluates max_iterations^features = %d^%d weight combinations, more than the %d clusterings allowed; lower max_iterations or use method bayesian",
				m, features, MaxGridEvaluations)}}
	}
	return nil
}

// GridEvaluations is m^features, saturating at MaxGridEvaluations+1.
func GridEvaluations(m, features int) int {
	n := 1
	for i := 0; i < features; i++ {
		n *= m
		if n > MaxGridEvaluations {
			return MaxGridEvaluations + 1
		}
	}
	return n
}

// checkSampleSize refuses a sample smaller than the number of clusters
// asked for: it cannot hold a point per cluster.
func checkSampleSize(vc schema.Values, at schema.Path) schema.Problems {
	n, ok := vc.IntOK("sample_size")
	if !ok {
		return nil
	}
	method := vc.Str("clustering_method")
	p := vc.Obj("algorithm_params")
	if p == nil {
		p = vc.Obj(method + "_parameters")
	}
	k, isInt := p.IntOK("n_clusters")
	if !isInt && p["n_clusters"] == nil {
		switch method {
		case params.KMeans, params.MiniBatchKMeans:
			k, isInt = 8, true
		case params.Agglomerative:
			k, isInt = 2, !p.Has("distance_threshold")
		}
	}
	if isInt && n < k {
		return schema.Problems{{Loc: at.With("sample_size"), Type: "value_error",
			Msg: fmt.Sprintf("sample_size = %d is below n_clusters = %d: the sample must hold a point per cluster", n, k)}}
	}
	return nil
}

// AttributeBasedConfig is Mixpeek's AttributeBasedConfig.
var AttributeBasedConfig = schema.Model("AttributeBasedConfig", "Group documents by payload attributes instead of vectors.",
	schema.F("attributes", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MinLen(1).MaxLen(16)).Req().
		Describe("Payload fields (dot paths; a metadata. or payload. prefix is read as the payload) whose distinct value combinations are the clusters; with hierarchical_grouping, the first is the top level."),
	schema.F("hierarchical_grouping", schema.Bool()).Def(false).
		Describe("Parent clusters by the first attribute, child clusters by the following ones within each parent"),
	schema.F("aggregation_method", schema.Enum("most_frequent", "first", "last").OrNull()).Def(nil).
		Describe("How a parent cluster's value of a deeper attribute is chosen from its members (null: most_frequent)"),
)

// InputSourceType is Mixpeek's InputSourceType.
var InputSourceType = schema.Enum(SourcePayload, SourceLiteral, SourceVector).Named("InputSourceType")

// inputMapping is Mixpeek's InputMapping.
var inputMapping = schema.Model("InputMapping", "One input of a representative document: a payload path, a literal, or a feature's vector.",
	schema.F("input_key", schema.Str().MinLen(1).MaxLen(MaxNameLength)).Req(),
	schema.F("source_type", nullable(InputSourceType)).Def(nil).Describe("null reads the payload"),
	schema.F("path", schema.Str().MaxLen(1024).OrNull()).Def(nil).
		Describe("Dot path in the payload (null: the whole payload), or the feature of a vector input (null: the collection's only feature)"),
	schema.F("override", schema.AnyValue()).Def(nil).Describe("The value of a literal input"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	src := o.Str("source_type")
	if (src == "" || src == SourcePayload) && o.Str("path") != "" && !ValidPayloadPath(o.Str("path")) {
		return schema.Problems{{Loc: at.With("path"), Type: "value_error",
			Msg: "a payload path is a dot path of non-empty field names (content.title)"}}
	}
	return nil
})

// labelingInputs is Mixpeek's LLMLabelingInput.
var labelingInputs = schema.Model("LLMLabelingInput-Input", "The inputs built for each representative document.",
	schema.F("input_mappings", schema.List(inputMapping).MinLen(1).MaxLen(64)).Req(),
)

// Model names Mixpeek lists (any other name is taken too, for
// OpenAI-compatible servers).
var (
	openAIModel    = schema.Enum("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "o3-mini-2025-01-31").Named("OpenAIModel")
	googleModel    = schema.Enum("gemini-2.0-flash", "gemini-2.0-flash-exp").Named("GoogleModel")
	anthropicModel = schema.Enum("claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022").Named("AnthropicModel")
	llmProvider    = schema.Enum("openai", "google", "anthropic").Named("LLMProvider")
)

// LLMLabelingModel is Mixpeek's LLMLabeling.
var LLMLabelingModel = schema.Model("LLMLabeling-Input", "How clusters are named: always TF-IDF keywords and a label; with enabled, an LLM's label and summary.",
	schema.F("enabled", schema.Bool()).Def(false),
	schema.F("provider", nullable(llmProvider)).Def(nil).Describe("null: inferred from model_name"),
	schema.F("model_name", schema.OneOf(openAIModel, googleModel, anthropicModel, schema.Str().MinLen(1).MaxLen(MaxNameLength)).OrNull()).Def(nil).
		Describe("Mixpeek's model names, or any name an OpenAI-compatible server knows (null: the provider's default)"),
	schema.F("include_summary", schema.Bool()).Def(true),
	schema.F("include_keywords", schema.Bool()).Def(true),
	schema.F("max_samples_per_cluster", schema.Int().Min(1).Max(100)).Def(10),
	schema.F("sample_text_max_length", schema.Int().Min(10).Max(10000)).Def(200),
	schema.F("custom_prompt", schema.Str().MaxLen(MaxPromptLength).OrNull()).Def(nil).
		Describe("Replaces the default prompt; the clusters' samples, keywords and the answer's JSON shape follow it"),
	schema.F("labeling_inputs", nullable(labelingInputs)).Def(nil).
		Describe("Inputs of each representative document; null sends the whole payload as JSON (the text comes from payload.text)"),
	schema.F("parameters", llm.ParametersModel).Def(map[string]any{}),
	schema.F("cache_ttl_seconds", schema.Int().Min(0).Max(2592000)).Def(604800),
	schema.F("use_embedding_dedup", schema.Bool()).Def(false).
		Describe("Drop representative documents whose embedding is within embedding_similarity_threshold (cosine) of one already chosen"),
	schema.F("embedding_similarity_threshold", schema.Num().Min(0.5).Max(1)).Def(0.8),
	schema.F("response_shape", schema.OneOf(schema.Str().MaxLen(MaxPromptLength), schema.FreeObject()).OrNull().Checked(checkResponseShape)).Def(nil).
		Describe("A JSON Schema object, or a description in words, that each cluster's answer must follow; the answer is kept on the centroid (metadata)"),
).Checked(func(v any, at schema.Path) schema.Problems {
	// A model name outside Mixpeek's lists needs a provider: say so now
	// rather than failing every cluster's labeling at run time.
	o := schema.AsValues(v)
	provider, _ := o["provider"].(string)
	name, _ := o["model_name"].(string)
	if _, _, err := llm.ResolveProvider(provider, name); provider == "" && name != "" && err != nil {
		return schema.Problems{{Loc: at.With("model_name"), Type: "value_error",
			Msg: fmt.Sprintf("cannot infer the provider of %q; set provider to openai, anthropic or google", name)}}
	}
	return nil
})

// checkResponseShape refuses object shapes the labeler could not use (see
// llm.CheckResponseShape) or that are too long to put in a prompt.
func checkResponseShape(v any, at schema.Path) schema.Problems {
	if _, ok := v.(map[string]any); !ok {
		return nil
	}
	if err := llm.CheckResponseShape(v); err != nil {
		return schema.Problems{{Loc: at, Type: "value_error", Msg: "not a usable JSON Schema: " + err.Error()}}
	}
	if b, _ := json.Marshal(v); len(b) > MaxPromptLength {
		return schema.Problems{{Loc: at, Type: "value_error", Msg: fmt.Sprintf("the JSON Schema is longer than %d characters", MaxPromptLength)}}
	}
	return nil
}

// fieldMapping is Mixpeek's EnrichmentFieldMapping.
var fieldMapping = schema.Model("EnrichmentFieldMapping", "A field of the cluster result written into member documents.",
	schema.F("source_field", schema.Str().MinLen(1).MaxLen(MaxNameLength)).Req().
		Describe("cluster_id, cluster_label, cluster_summary, cluster_keywords (keywords), distance_to_centroid, member_count, x, y, z, run_id, or metadata.PATH"),
	schema.F("target_field", schema.Str().MinLen(1).MaxLen(MaxNameLength)).Req().Describe("The payload field written"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	var ps schema.Problems
	if src := o.Str("source_field"); src != "" && !validEnrichSource(src) {
		ps = append(ps, schema.Problem{Loc: at.With("source_field"), Type: "value_error",
			Msg: fmt.Sprintf("unknown source field %q (known: %s, keywords, summary, metadata.PATH)", src, strings.Join(EnrichSources, ", "))})
	}
	if t := o.Str("target_field"); t != "" && !ValidPayloadPath(t) {
		ps = append(ps, schema.Problem{Loc: at.With("target_field"), Type: "value_error", Msg: "must be a field name: no control characters, no empty path segments"})
	}
	return ps
})

func validEnrichSource(s string) bool {
	if rest, ok := strings.CutPrefix(s, "metadata."); ok {
		return ValidPayloadPath(rest)
	}
	c := canonicalSource(s)
	for _, k := range EnrichSources {
		if c == k {
			return true
		}
	}
	return false
}

// ValidPayloadPath reports whether p is a dot path of non-empty segments
// without control characters.
func ValidPayloadPath(p string) bool {
	if p == "" {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
	}
	return !strings.ContainsFunc(p, unicode.IsControl)
}

func legacyName() *schema.Schema { return schema.Str().MaxLen(128).OrNull() }

// SourceEnrichmentConfig is Mixpeek's SourceEnrichmentConfig.
var SourceEnrichmentConfig = schema.Model("SourceEnrichmentConfig", "Which cluster result fields enrichment writes into member documents.",
	schema.F("field_mappings", schema.List(fieldMapping).MaxLen(32)).
		Describe("null: cluster_id, cluster_label and distance_to_centroid under their own names"),
	schema.F("cluster_id_field", legacyName()).Ext().Deprecate().Describe("Target of cluster_id (use field_mappings)"),
	schema.F("cluster_label_field", legacyName()).Ext().Deprecate().Describe("Target of cluster_label (use field_mappings)"),
	schema.F("distance_field", legacyName()).Ext().Deprecate().Describe("Target of distance_to_centroid (use field_mappings)"),
	schema.F("keywords_field", legacyName()).Ext().Deprecate().Describe("Target of cluster_keywords (use field_mappings)"),
	schema.F("summary_field", legacyName()).Ext().Deprecate().Describe("Target of cluster_summary (use field_mappings)"),
	schema.F("run_id_field", legacyName()).Ext().Deprecate().Describe("Target of run_id (use field_mappings)"),
)

// CreateClusterRequestModel is Mixpeek's CreateClusterRequest.
var CreateClusterRequestModel = schema.Model("CreateClusterRequest", "Create a cluster: what to cluster and how.",
	schema.F("collection_ids", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MinLen(1).MaxLen(MaxCollections)).Req().
		Describe("Collections (ids or names) clustered together"),
	schema.F("cluster_name", schema.Str().MinLen(1).MaxLen(MaxNameLength).Matching(PathSafe).OrNull()).Def(nil).Describe("Unique in the namespace when given; no '/' or control characters"),
	schema.F("cluster_type", ClusterTypeEnum).Def(ClusterTypeVector),
	schema.F("vector_config", nullable(VectorBasedConfig)).Def(nil).Describe("Required when cluster_type is vector"),
	schema.F("attribute_config", nullable(AttributeBasedConfig)).Def(nil).Describe("Required when cluster_type is attribute"),
	schema.F("filters", nullable(LogicalOperator)).Def(nil).Describe("Only documents matching these filters are clustered"),
	schema.F("llm_labeling", nullable(LLMLabelingModel)).Def(nil),
	schema.F("enrich_source_collection", schema.Bool()).Def(false).
		Describe("Write each member's cluster into its source document after every completed run, instead of writing the output collections"),
	schema.F("source_enrichment_config", nullable(SourceEnrichmentConfig)).Def(nil),
	schema.F("description", schema.Str().MaxLen(4096).OrNull()).Ext(),
	schema.F("metadata", schema.FreeObject().OrNull()).Ext(),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	vc := o.Obj("vector_config")
	switch o.Str("cluster_type") {
	case "", ClusterTypeVector:
		if !o.Has("vector_config") {
			return schema.Problems{{Loc: at.With("vector_config"), Type: "missing", Msg: "Field required when cluster_type is vector"}}
		}
		if vc.IsString("clustering_method", params.AttributeBased) {
			return schema.Problems{{Loc: at.With("vector_config", "clustering_method"), Type: "value_error",
				Msg: "attribute_based needs cluster_type attribute and an attribute_config"}}
		}
	case ClusterTypeAttribute:
		if !o.Has("attribute_config") {
			return schema.Problems{{Loc: at.With("attribute_config"), Type: "missing", Msg: "Field required when cluster_type is attribute"}}
		}
		if vc != nil && !vc.IsString("clustering_method", params.AttributeBased) {
			return schema.Problems{{Loc: at.With("vector_config", "clustering_method"), Type: "value_error",
				Msg: "an attribute cluster groups by attributes: clustering_method must be attribute_based (vector_config then only names the features whose centroids are reported)"}}
		}
	}
	return nil
})

// PatchClusterRequestModel is Mixpeek's PatchClusterRequest.
var PatchClusterRequestModel = schema.Model("PatchClusterRequest", "Change a cluster's name, description or metadata; null leaves a field as it is.",
	schema.F("cluster_name", schema.Str().MinLen(1).MaxLen(MaxNameLength).Matching(PathSafe).OrNull()),
	schema.F("description", schema.Str().MaxLen(4096).OrNull()),
	schema.F("metadata", schema.FreeObject().OrNull()),
)

// EnrichRequestModel is Mixpeek's ApplyClusterEnrichmentRequest.
var EnrichRequestModel = schema.Model("ApplyClusterEnrichmentRequest", "Write cluster assignments into documents' payloads.",
	schema.F("clustering_ids", schema.List(schema.Str().MinLen(1).MaxLen(MaxNameLength)).MaxLen(MaxCollections)).Req().
		Describe("Run ids, or cluster ids or names (their latest completed run)"),
	schema.F("clustering_id", schema.Str().MinLen(1).MaxLen(MaxNameLength).OrNull()).Deprecate().Describe("One more id (Mixpeek up-converts it into clustering_ids)"),
	schema.F("source_collection_id", schema.Str().MinLen(1).MaxLen(MaxNameLength)).Req(),
	schema.F("target_collection_id", schema.Str().MinLen(1).MaxLen(MaxNameLength).OrNull()).Def(nil).Describe("Write into this collection's documents of the same ids instead"),
	schema.F("batch_size", schema.Int().Min(1).Max(100000)).Def(1000).Describe("Documents patched per transaction"),
	schema.F("parallelism", schema.Int().Min(1).Max(64)).Def(1).NoEffect("writes go through the store's single writer"),
).Checked(func(v any, at schema.Path) schema.Problems {
	o := schema.AsValues(v)
	if _, isList := o["clustering_ids"].([]any); isList && len(o.List("clustering_ids")) == 0 && !o.Has("clustering_id") {
		return schema.Problems{{Loc: at.With("clustering_ids"), Type: "too_short", Msg: "List should have at least 1 item after validation, not 0"}}
	}
	return nil
})

// PipelineModel is the pipeline part of VectorBasedConfig (clusterd fit's
// --pipeline): the same fields, declared once above.
var PipelineModel = schema.Model("Pipeline", "The steps around an algorithm, as in vector_config.",
	pick(VectorBasedConfig, "preprocessing_steps", "sample_size", "hierarchical", "max_hierarchy_depth", "effective_feature_method")...)

// pick returns the named fields of m.
func pick(m *schema.Schema, names ...string) []*schema.Field {
	out := make([]*schema.Field, len(names))
	for i, n := range names {
		out[i] = m.Field(n)
	}
	return out
}
