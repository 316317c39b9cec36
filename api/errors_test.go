package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/clusterd/clusterd/store"
)

// TestClassifyConflicts: each kind of store conflict is a 409 with the
// code docs/API.md lists for it, also when wrapped.
func TestClassifyConflicts(t *testing.T) {
	for _, c := range []struct {
		resource, code string
	}{
		{"run", "run_already_finished"},
		{"import", "import_removed"},
		{"collection", "collection_name_taken"},
		{"cluster", "cluster_name_taken"},
	} {
		err := fmt.Errorf("upsert: %w", &store.ConflictError{Resource: c.resource, Msg: "m"})
		status, body := classify(err)
		eb, ok := body.(ErrorBody)
		if status != http.StatusConflict || !ok || eb.Error.Code == nil || *eb.Error.Code != c.code {
			t.Errorf("%s: %d %+v, want 409 with code %s", c.resource, status, body, c.code)
		}
	}
}
