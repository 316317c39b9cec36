package api

import (
	"errors"
	"testing"

	"github.com/clusterd/clusterd/model"
)

// FuzzDecodeStrict feeds arbitrary bodies to the request decoder: it must
// never panic, and must either accept the body or return a 422 located
// under "body". CI runs it briefly (go test -fuzz); the seed corpus runs in
// every go test.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"collection_ids":["c"],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":3}}}`,
		`{"collection_ids":["c"],"vector_config":{"clustering_method":"hdbscan","preprocessing_steps":[{"method":"pca","n_components":5}]}}`,
		`{"documents":[{"document_id":"a","features":{"e":[1,2,3]},"payload":{"text":"x"}}]}`,
		`{"documents":[{"features":{"e":[1,"x"]}}]}`,
		`{"collection_ids":"c"}`, `[]`, `null`, `{`, `{"a":1}`, `{"documents":[{"features":{"e":[1e999]}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&model.CreateClusterRequest{}, &UpsertDocumentsRequest{}, &ListRequest{}} {
			err := decodeStrict(body, dst)
			if err == nil {
				continue
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Items) == 0 {
				t.Fatalf("decodeStrict(%q) = %v (%T), want a *ValidationError", body, err, err)
			}
			for _, it := range ve.Items {
				if len(it.Loc) == 0 || it.Loc[0] != "body" || it.Msg == "" || it.Type == "" {
					t.Fatalf("decodeStrict(%q): bad item %+v", body, it)
				}
			}
		}
	})
}
