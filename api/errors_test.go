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

// TestClassifyTextNUL: PostgreSQL's refusal of text holding U+0000 is the
// client's to mend, a 422 on the body, also when wrapped.
func TestClassifyTextNUL(t *testing.T) {
	status, body := classify(fmt.Errorf("create collection: %w", &store.TextNULError{}))
	vb, ok := body.(ValidationBody)
	if status != http.StatusUnprocessableEntity || !ok || len(vb.Detail) != 1 || len(vb.Detail[0].Loc) != 1 || vb.Detail[0].Loc[0] != "body" || vb.Detail[0].Type != "value_error" {
		t.Fatalf("%d %+v, want 422 with one value_error at [body]", status, body)
	}
}
