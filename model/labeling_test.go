package model

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

// TestLLMLabelingModel checks llm_labeling requests: Mixpeek's own examples
// (from the contract's LLMLabeling-Input, InputMapping and response_shape
// examples) are accepted, defaults are the contract's, and what the labeler
// could not use is a 422 at its exact location.
func TestLLMLabelingModel(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		wantLoc []string // locs of the problems, as strings
	}{
		{"minimal", `{"enabled": true}`, nil},
		{"contract example: multiple fields", `{"enabled": true, "provider": "openai", "model_name": "gpt-4o-mini-2024-07-18",
			"labeling_inputs": {"input_mappings": [{"input_key": "title", "path": "title", "source_type": "payload"},
			{"input_key": "description", "path": "description", "source_type": "payload"}, {"input_key": "text", "path": "text", "source_type": "payload"}]}}`, nil},
		{"contract example: image url", `{"enabled": true, "provider": "google", "model_name": "gemini-2.0-flash",
			"labeling_inputs": {"input_mappings": [{"input_key": "text", "path": "headline", "source_type": "payload"},
			{"input_key": "image_url", "path": "thumbnail_url", "source_type": "payload"}]}}`, nil},
		{"InputMapping examples", `{"labeling_inputs": {"input_mappings": [{"input_key": "query_text", "path": "content.title", "source_type": "payload"},
			{"input_key": "lang", "override": "en", "source_type": "literal"}, {"input_key": "image_vector", "path": "features.clip_vit_l_14", "source_type": "vector"}]}}`, nil},
		{"response_shape in words", `{"response_shape": "Extract cluster category, confidence score between 0 and 1, and top 3 representative keywords"}`, nil},
		{"response_shape schema", `{"response_shape": {"properties": {"category": {"description": "Main category", "type": "string"},
			"confidence": {"maximum": 1, "minimum": 0, "type": "number"}, "keywords": {"items": {"type": "string"}, "maxItems": 5, "type": "array"},
			"subcategory": {"description": "Subcategory if applicable", "type": "string"}}, "required": ["category", "confidence"], "type": "object"}}`, nil},
		{"custom prompt and parameters", `{"custom_prompt": "Return JSON: [{\"cluster_id\": \"cl_0\", \"label\": \"...\"}]", "parameters": {"temperature": 0.2, "json_output": true, "logprobs": false}}`, nil},
		{"response_shape not an object schema", `{"response_shape": {"type": "array"}}`, []string{"response_shape"}},
		{"response_shape invalid schema", `{"response_shape": {"type": "object", "properties": {"a": {"minimum": "x"}}}}`, []string{"response_shape"}},
		{"response_shape remote ref", `{"response_shape": {"$ref": "http://example.com/s.json"}}`, []string{"response_shape"}},
		{"response_shape number", `{"response_shape": 5}`, []string{"response_shape"}},
		{"bad payload path", `{"labeling_inputs": {"input_mappings": [{"input_key": "a", "path": "content..title"}]}}`,
			[]string{"labeling_inputs.input_mappings.0.path"}},
		// Every field of a mapping at its default (as generated clients send
		// it): a payload input without a path is the whole payload, a vector
		// input the collection's only feature, a literal without override null.
		{"mappings at their defaults", `{"labeling_inputs": {"input_mappings": [{"input_key": "a", "path": null, "source_type": null, "override": null},
			{"input_key": "b", "source_type": "literal"}, {"input_key": "c", "source_type": "vector"}]}}`, nil},
		{"unknown model without provider", `{"enabled": true, "model_name": "llama3.1:8b"}`, []string{"model_name"}},
		{"unknown model with provider", `{"enabled": true, "provider": "openai", "model_name": "llama3.1:8b"}`, nil},
		{"threshold below 0.5", `{"use_embedding_dedup": true, "embedding_similarity_threshold": 0.4}`, []string{"embedding_similarity_threshold"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := LLMLabelingModel.Decode([]byte(tc.body), schema.Path{})
			var locs []string
			for _, p := range problems {
				locs = append(locs, p.Loc.String())
			}
			if !reflect.DeepEqual(locs, tc.wantLoc) {
				t.Errorf("problems %v, want at %v", problems, tc.wantLoc)
			}
		})
	}
}

// TestLLMLabelingDefaults checks the contract's defaults once completed and
// decoded into the Go struct.
func TestLLMLabelingDefaults(t *testing.T) {
	v, problems := LLMLabelingModel.Decode([]byte(`{"enabled": true}`), schema.Path{})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var l LLMLabeling
	if err := schema.Into(v, &l); err != nil {
		t.Fatal(err)
	}
	if !l.Enabled || l.ModelName != nil || l.Provider != nil || !l.IncludeSummary || !l.IncludeKeywords || l.MaxSamplesPerCluster != 10 ||
		l.SampleTextMaxLength != 200 || l.CacheTTLSeconds != 604800 || l.UseEmbeddingDedup || l.EmbeddingSimilarityThreshold != 0.8 ||
		l.LabelingInputs != nil || l.CustomPrompt != nil || !isNull(l.ResponseShape) {
		t.Errorf("defaults = %+v", l)
	}
}

// TestCentroidMetadata checks that metadata is left out unless set.
func TestCentroidMetadata(t *testing.T) {
	b, _ := json.Marshal(ExecutionCentroid{ClusterID: "cl_0"})
	if strings.Contains(string(b), "metadata") {
		t.Errorf("%s", b)
	}
	b, _ = json.Marshal(ExecutionCentroid{ClusterID: "cl_0", Metadata: map[string]any{"category": "pets"}})
	if !strings.Contains(string(b), `"metadata":{"category":"pets"}`) {
		t.Errorf("%s", b)
	}
}
