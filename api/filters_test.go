package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestFilters: the filter language through the lists and a cluster's
// filters. Documents are addressed by bare payload keys; filters SQLite
// would refuse (too deep, too many values or conditions, control
// characters in a key path) and dynamic values are a 422 at their place,
// never a 500 or a stored cluster; a problem the schema already reports is
// not repeated by the store's check.
func TestFilters(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("POST", "/v1/collections", map[string]any{"collection_name": "docs"}, nil)
	e.ok("POST", "/v1/collections/docs/documents", map[string]any{"documents": []map[string]any{
		{"document_id": "d1", "features": map[string]any{"emb": []float32{1, 0}}, "payload": map[string]any{"category": "Café", "tags": []string{"Red"}}},
		{"document_id": "d2", "features": map[string]any{"emb": []float32{0, 1}}, "payload": map[string]any{"category": "CAFÉ", "tags": []string{"blue"}}},
		{"document_id": "d3", "features": map[string]any{"emb": []float32{1, 1}}, "payload": map[string]any{"category": "tea"}},
	}}, nil)
	ids := func(filters string) []string {
		var page struct {
			Results []struct {
				DocumentID string `json:"document_id"`
			}
		}
		e.ok("POST", "/v1/collections/docs/documents/list", `{"filters":`+filters+`}`, &page)
		var out []string
		for _, r := range page.Results {
			out = append(out, r.DocumentID)
		}
		return out
	}
	for filters, want := range map[string][]string{
		`{"category":"café"}`: {"d1", "d2"},
		`{"case_sensitive":true,"AND":[{"field":"metadata.category","operator":"eq","value":"CAFÉ"}]}`: {"d2"},
		`{"field":"tags","operator":"in","value":["red","BLUE"]}`:                                      {"d1", "d2"},
		`{"NOT":[{"field":"payload.category","operator":"regex","value":"^caf"}]}`:                     {"d3"},
	} {
		if got := ids(filters); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", filters, got, want)
		}
	}

	deep := strings.Repeat(`{"NOT":[`, 599) + `{"NOT":[{"payload.category":"tea"}]}` + strings.Repeat("]}", 599)
	deepLoc := `"loc":["body","filters"` + strings.Repeat(`,"NOT",0`, 32) + `]`
	values := make([]string, 40000)
	conds := make([]string, 40000)
	for i := range values {
		values[i] = fmt.Sprintf(`"v%d"`, i)
		conds[i] = fmt.Sprintf(`{"field":"payload.category","operator":"eq","value":"v%d"}`, i)
	}
	cluster := func(filters string) string {
		return `{"collection_ids":["docs"],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":2}},"filters":` + filters + `}`
	}
	for _, tc := range []struct {
		name, path, body, loc string
	}{
		{"NOT 600 deep", "/v1/collections/docs/documents/list", `{"filters":` + deep + `}`, deepLoc},
		{"AND 3,000 deep in a cluster", "/v1/clusters", cluster(strings.Repeat(`{"AND":[`, 2999) + `{"AND":[]}` + strings.Repeat("]}", 2999)),
			`"loc":["body","filters"` + strings.Repeat(`,"AND",0`, 32) + `]`},
		{"in with 40,000 values", "/v1/clusters/list", `{"filters":{"AND":[{"field":"cluster_name","operator":"in","value":[` + strings.Join(values, ",") + `]}]}}`,
			`"loc":["body","filters","AND",0,"value"]`},
		{"OR of 40,000 conditions in a cluster", "/v1/clusters", cluster(`{"OR":[` + strings.Join(conds, ",") + `]}`), `"loc":["body","filters","OR",1000]`},
		{"NUL in a payload path", "/v1/collections/docs/documents/list", `{"filters":{"OR":[{"field":"payload.a\u0000b","operator":"eq","value":1}]}}`,
			`"loc":["body","filters","OR",0,"field"]`},
		{"dynamic value in a cluster", "/v1/clusters", cluster(`{"AND":[{"field":"category","operator":"eq","value":{"type":"dynamic","field":"inputs.q"}}]}`),
			`"loc":["body","filters","AND",0,"value"]`},
		{"unknown cluster field", "/v1/clusters/list", `{"filters":{"team":"ml"}}`, `"loc":["body","filters","team"]`},
		{"bad regex", "/v1/collections/docs/documents/list", `{"filters":{"field":"category","operator":"regex","value":"(x"}}`, `"loc":["body","filters","value"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.call("POST", tc.path, tc.body)
			checkError(t, code, body, http.StatusUnprocessableEntity, tc.loc)
		})
	}
	var clusters struct{ Results []any }
	e.ok("POST", "/v1/clusters/list", nil, &clusters)
	if len(clusters.Results) != 0 {
		t.Errorf("refused cluster definitions were stored: %d clusters", len(clusters.Results))
	}

	// The schema and the store both see an operator outside the enum and a
	// missing value; the answer says each once. The store's own problems
	// beside them are kept.
	code, body := e.call("POST", "/v1/collections/docs/documents/list",
		`{"filters":{"AND":[{"field":"category","operator":"like","value":"x"},{"field":"category"},{"field":"created_at","operator":"gt","value":"soon"}]},"sort":{"field":"payload.","direction":"sideways"}}`)
	checkError(t, code, body, http.StatusUnprocessableEntity, "")
	var detail struct {
		Detail []struct {
			Loc []any `json:"loc"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &detail); err != nil {
		t.Fatal(err)
	}
	var locs []string
	for _, d := range detail.Detail {
		locs = append(locs, fmt.Sprint(d.Loc))
	}
	slices.Sort(locs)
	want := []string{"[body filters AND 0 operator]", "[body filters AND 1 value]", "[body filters AND 2 value]", "[body sort direction]", "[body sort field]"}
	if !slices.Equal(locs, want) {
		t.Errorf("problems at %q, want %q\n%s", locs, want, body)
	}
}
