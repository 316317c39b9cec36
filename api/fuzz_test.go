package api

import (
	"testing"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
)

// FuzzDecodeBody feeds arbitrary bodies to the request decoder of several
// models: it must never panic; every problem must be located under "body"
// with a message and a type; and a body the model accepts must decode into
// the model's Go type (the declaration and the type must agree). CI runs it
// briefly (go test -fuzz); the seed corpus runs in every go test.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"collection_ids":["c"],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3}}}`,
		`{"collection_ids":["c"],"vector_config":{"clustering_method":"hdbscan","preprocessing_steps":[{"method":"pca","n_components":5}]}}`,
		`{"collection_ids":["c"],"vector_config":{"clustering_method":"kmeans","kmeans_parameters":{"n_clusters":3.0},"feature_uris":["a","b"],"feature_weights":{"a":0.5}},"llm_labeling":{"enabled":true,"labeling_inputs":{"input_mappings":[{"input_key":"t","path":"text"}]}}}`,
		`{"collection_ids":["c"],"cluster_type":"attribute","attribute_config":{"attributes":["category"]}}`,
		`{"filters":{"AND":[{"field":"a","operator":"eq","value":1},{"OR":[{"field":"b","value":"x"}],"case_sensitive":true}]},"sort":{"field":"created_at","direction":"desc"}}`,
		`{"documents":[{"document_id":"a","features":{"e":[1,2,3]},"payload":{"text":"x"}}]}`,
		`{"documents":[{"features":{"e":[1,"x"]}}]}`,
		`{"collection_ids":"c"}`, `[]`, `null`, `{`, `{"a":1}`, `{"documents":[{"features":{"e":[1e999]}}]}`,
	} {
		f.Add([]byte(s))
	}
	models := []struct {
		m   *schema.Schema
		dst func() any
	}{
		{model.CreateClusterRequestModel, func() any { return &model.CreateClusterRequest{} }},
		{UpsertDocumentsRequestModel, func() any { return &UpsertDocumentsRequest{} }},
		{model.ListClustersRequest, func() any { return &listBody{} }},
		{model.EnrichRequestModel, func() any { return &model.EnrichRequest{} }},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range models {
			v, ps := decodeBody(body, c.m)
			for _, p := range ps {
				if len(p.Loc) == 0 || p.Loc[0] != "body" || p.Msg == "" || p.Type == "" {
					t.Fatalf("%s: decodeBody(%q): bad problem %+v", c.m.Name, body, p)
				}
			}
			if len(ps) > 0 {
				continue
			}
			if _, err := finish(c.m, v, nil, c.dst()); err != nil {
				t.Fatalf("%s: a valid body %q does not decode: %v", c.m.Name, body, err)
			}
		}
	})
}
