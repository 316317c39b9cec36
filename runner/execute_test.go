package runner

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/worker"
)

// TestFailureMessage: what a failed run's error_message says. User errors
// keep their text; anything else gets a generic line naming the run, so
// paths and internals never reach the API.
func TestFailureMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"canceled", fmt.Errorf("run: %w", errCanceled), store.CanceledMessage},
		{"data", &engine.DataError{Row: 3, Msg: "NaN in feature 7"}, "row 3: NaN in feature 7"},
		{"param", fmt.Errorf("fit: %w", &engine.ParamError{Param: "n_clusters", Msg: "must be ≥ 1"}), "Invalid algorithm_params: fit: algorithm_params.n_clusters: must be ≥ 1"},
		{"user", &userError{"Collection col_x not found"}, "Collection col_x not found"},
		{"not found", fmt.Errorf("cluster clust_1: %w", store.ErrNotFound), "cluster clust_1: " + store.ErrNotFound.Error()},
		{"internal", errors.New("open /var/lib/clusterd/runs/run_1/members.parquet: no space left on device"), "Clustering failed with an internal error (see the server log for run run_1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failureMessage(tc.err, "run_1"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRunError: a bad row is named by its document id, whether the engine
// ran here or in a GPU worker; other errors pass through unchanged.
func TestRunError(t *testing.T) {
	ids := []string{"doc_a", "doc_b", "doc_c"}
	crash := &worker.Error{Kind: worker.KindCrash, Message: "worker exited", Row: -1}
	for _, tc := range []struct {
		name     string
		err      error
		want     string
		userFail bool
	}{
		{"engine row", &engine.DataError{Row: 1, Msg: "vector has Inf"}, "Clustering algorithm failed: vector has Inf (document doc_b)", true},
		{"engine row out of range", &engine.DataError{Row: 7, Msg: "vector has Inf"}, "row 7: vector has Inf", true},
		{"worker row", &worker.Error{Kind: worker.KindInput, Message: "vector has NaN", Row: 2}, "Clustering algorithm failed: vector has NaN (document doc_c)", true},
		{"worker input", &worker.Error{Kind: worker.KindInput, Message: "n_clusters 9 > 3 points", Row: -1}, "n_clusters 9 > 3 points", true},
		{"worker crash", crash, crash.Error(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runError(tc.err, ids)
			if err.Error() != tc.want {
				t.Errorf("got %q, want %q", err, tc.want)
			}
			if isUserError(err) != tc.userFail {
				t.Errorf("isUserError = %v, want %v", !tc.userFail, tc.userFail)
			}
		})
	}
}

// TestConcatenate: documents are joined in the first feature's order, each
// part L2-normalised and then weighted; a document lacking a feature is
// left out.
func TestConcatenate(t *testing.T) {
	a := store.Vectors{X: []float32{3, 4, 0, 5, 1, 0}, N: 3, D: 2, IDs: []string{"d1", "d2", "d3"}}
	b := store.Vectors{X: []float32{0, 0, 2, 1, 1, 1}, N: 2, D: 3, IDs: []string{"d3", "d1"}} // no d2
	for _, tc := range []struct {
		name      string
		normalize bool
		weights   []float64
		ids       []string
		x         []float64
	}{
		{"raw", false, nil, []string{"d1", "d3"}, []float64{3, 4, 1, 1, 1, 1, 0, 0, 0, 2}},
		{"normalised", true, nil, []string{"d1", "d3"}, []float64{0.6, 0.8, 1 / math.Sqrt(3), 1 / math.Sqrt(3), 1 / math.Sqrt(3), 1, 0, 0, 0, 1}},
		{"normalised and weighted", true, []float64{2, 0.5}, []string{"d1", "d3"},
			[]float64{1.2, 1.6, 0.5 / math.Sqrt(3), 0.5 / math.Sqrt(3), 0.5 / math.Sqrt(3), 2, 0, 0, 0, 0.5}},
		{"one weight given", false, []float64{10}, []string{"d1", "d3"}, []float64{30, 40, 1, 1, 1, 10, 0, 0, 0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := concatenate([]store.Vectors{a, b}, tc.normalize, tc.weights)
			if got.N != len(tc.ids) || got.D != 5 || !slices.Equal(got.IDs, tc.ids) || len(got.X) != len(tc.x) {
				t.Fatalf("got N=%d D=%d ids %v (%d values), want N=%d D=5 ids %v", got.N, got.D, got.IDs, len(got.X), len(tc.ids), tc.ids)
			}
			for i, w := range tc.x {
				if math.Abs(float64(got.X[i])-w) > 1e-6 { // float32 rounding of values ≤ 40
					t.Errorf("x[%d] = %v, want %v", i, got.X[i], w)
				}
			}
		})
	}
}

// TestClusterMembers: each cluster's rows at any depth, for flat results
// (labels) and hierarchies (each row's deepest cluster, then its parents).
func TestClusterMembers(t *testing.T) {
	flat := &engine.Result{Labels: []int32{1, 0, -1, 1, 0}, Clusters: []engine.Cluster{{ID: "cl_0"}, {ID: "cl_1"}}}
	if got := clusterMembers(flat, flat.AllClusters()); !slices.EqualFunc(got, [][]int{{1, 4}, {0, 3}}, slices.Equal[[]int]) {
		t.Errorf("flat: %v", got)
	}
	// cl_0 splits into cl_0_0 and cl_0_1, and cl_0_1 into cl_0_1_0.
	tree := &engine.Result{
		Clusters:    []engine.Cluster{{ID: "cl_0"}, {ID: "cl_1"}},
		SubClusters: []engine.Cluster{{ID: "cl_0_0", Parent: "cl_0"}, {ID: "cl_0_1", Parent: "cl_0"}, {ID: "cl_0_1_0", Parent: "cl_0_1"}},
		Leaf:        []int32{2, 1, 4, -1, 3, 2},
	}
	want := [][]int{{0, 2, 4, 5}, {1}, {0, 5}, {2, 4}, {2}}
	if got := clusterMembers(tree, tree.AllClusters()); !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Errorf("hierarchy: %v, want %v", got, want)
	}
}
