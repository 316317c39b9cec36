package seedschema

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSeedExamples: the schema accepts the seed's own examples and rejects
// a bad run_id, a bad status and a missing required field.
func TestSeedExamples(t *testing.T) {
	d, err := Doc()
	if err != nil {
		t.Fatalf("loading the seed: %v", err)
	}
	s := d.Components.Schemas["ClusterExecutionResult"].Value
	if len(s.Examples) != 3 {
		t.Fatalf("seed has %d examples, want 3", len(s.Examples))
	}
	for i, ex := range s.Examples {
		b, _ := json.Marshal(ex)
		if err := Validate("ClusterExecutionResult", b); err != nil {
			t.Errorf("example %d rejected: %v", i, err)
		}
	}
	good := `{"run_id":"run_abc123","cluster_id":"clust_x1","status":"completed","num_clusters":2,"num_points":10,"created_at":"2025-11-13T13:20:40.122000Z","metrics":null,"centroids":[{"cluster_id":"cl_0_sub_1","num_members":3}]}`
	if err := Validate("ClusterExecutionResult", []byte(good)); err != nil {
		t.Fatalf("good value rejected: %v", err)
	}
	bad := map[string]string{
		"run_id":         strings.Replace(good, `"run_abc123"`, `"abc123"`, 1),
		"run_id_char":    strings.Replace(good, `"run_abc123"`, `"run_abc-123"`, 1),
		"status":         strings.Replace(good, `"completed"`, `"canceled"`, 1),
		"required":       strings.Replace(good, `"num_points":10,`, ``, 1),
		"negative":       strings.Replace(good, `"num_clusters":2`, `"num_clusters":-1`, 1),
		"centroid_id":    strings.Replace(good, `"cl_0_sub_1"`, `"cluster0"`, 1),
		"silhouette_max": strings.Replace(good, `"metrics":null`, `"metrics":{"silhouette_score":1.5}`, 1),
	}
	for name, body := range bad {
		if err := Validate("ClusterExecutionResult", []byte(body)); err == nil {
			t.Errorf("%s: bad value accepted", name)
		}
	}
}

func TestErrorSchemas(t *testing.T) {
	if err := Validate("ErrorResponse", []byte(`{"success":false,"status":404,"error":{"message":"x","type":"NotFoundError","code":"cluster_not_found","details":{"id":"clust_1"}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := Validate("ErrorResponse", []byte(`{"success":false,"status":404,"error":{"type":"NotFoundError"}}`)); err == nil {
		t.Fatal("ErrorResponse without message accepted")
	}
	if err := Validate("HTTPValidationError", []byte(`{"detail":[{"loc":["body","n",0],"msg":"x","type":"value_error"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := Validate("HTTPValidationError", []byte(`{"detail":[{"loc":["body"],"msg":"x"}]}`)); err == nil {
		t.Fatal("ValidationError without type accepted")
	}
}
