package runner

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/worker"
)

// TestFailureKind: every failure the runner meets gets its kind, through
// wrapping, and the kind read back from the stored error_message (runs
// recorded before kinds were stored) agrees wherever the message tells.
func TestFailureKind(t *testing.T) {
	insufficient := engine.CheckInput(engine.Input{N: 1, D: 2, X: []float32{1, 2}})
	for _, tc := range []struct {
		name string
		err  error
		want string
		// fromMessage: the kind read from failureMessage(err) alone; ""
		// where the message cannot tell (it reads as internal then).
		fromMessage string
	}{
		{"canceled", fmt.Errorf("run: %w", errCanceled), FailureCanceled, FailureCanceled},
		{"insufficient (engine's own message)", insufficient, FailureInsufficientData, FailureInsufficientData},
		{"non-finite row", runError(&engine.DataError{Row: 1, Msg: "NaN at feature 0; embeddings must be finite"}, []string{"a", "b"}), FailureInvalidData, FailureInvalidData},
		{"data without row", &engine.DataError{Row: -1, Msg: "vectors have no features (dimension 0)"}, FailureInvalidData, FailureInvalidData},
		{"param", fmt.Errorf("fit: %w", &engine.ParamError{Param: "n_clusters", Msg: "too many"}), FailureInvalidParameters, FailureInvalidParameters},
		{"problems", schema.Problems{{Loc: schema.Path{"n_clusters"}, Msg: "x", Type: "y"}}, FailureInvalidParameters, FailureInvalidParameters},
		{"pipeline", &engine.PipelineError{Path: []any{"preprocessing_steps", 0, "n_components"}, Msg: "too many"}, FailureInvalidParameters, ""},
		{"feature", &store.FeatureError{Msg: "Feature extractor 'x' not found in collection col_1 (it has: y)"}, FailureMissingFeature, FailureMissingFeature},
		{"empty collection", &store.FeatureError{Msg: "collection col_1 has no vectors yet"}, FailureInsufficientData, FailureInsufficientData},
		{"several features", &store.FeatureError{Msg: "collection col_1 has several features (a, b); name one in vector_config.feature_uris"}, FailureInvalidConfiguration, FailureInvalidConfiguration},
		{"collection", &userError{"Collection col_x not found"}, FailureMissingCollection, FailureMissingCollection},
		{"filters", &userError{"invalid filters: [filters AND 0 field]: unknown field"}, FailureInvalidFilters, FailureInvalidFilters},
		{"dimensions", &userError{"collections have vectors of different dimensions (3 and 4 in col_b)"}, FailureInvalidData, FailureInvalidData},
		{"no vector_config", &userError{"the cluster has no vector_config"}, FailureInvalidConfiguration, FailureInvalidConfiguration},
		{"no gpu", &userError{fmt.Errorf("%w: no CUDA driver", dispatch.ErrNoGPU).Error()}, FailureBackendUnavailable, FailureBackendUnavailable},
		{"worker input row", runError(&worker.Error{Kind: worker.KindInput, Message: "NaN", Row: 0}, []string{"a"}), FailureInvalidData, FailureInvalidData},
		{"worker input insufficient", runError(&worker.Error{Kind: worker.KindInput, Message: "Insufficient documents for clustering: need at least 2 documents, found 1", Row: -1}, nil),
			FailureInsufficientData, FailureInsufficientData},
		{"worker param", &worker.Error{Kind: worker.KindInput, Message: "too many", Param: "n_clusters", Row: -1}, FailureInvalidParameters, ""},
		{"worker oom", &worker.Error{Kind: worker.KindOutOfMemory, Message: "cudaMalloc", Row: -1}, FailureOutOfMemory, ""},
		{"worker device", &worker.Error{Kind: worker.KindDevice, Message: "Xid 79", Row: -1}, FailureDevice, ""},
		{"worker crash", &worker.Error{Kind: worker.KindCrash, Message: "exit 139", Row: -1}, FailureWorkerCrash, ""},
		{"cluster gone", fmt.Errorf("cluster clust_1: %w", store.ErrNotFound), FailureMissingCollection, ""},
		{"internal", errors.New("open /var/lib/clusterd/runs/run_1/members.parquet: no space left on device"), FailureInternal, FailureInternal},
		{"labeling", fmt.Errorf("labeling: %w", errors.New("tf-idf: boom")), FailureInternal, FailureInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := failureKind(tc.err)
			if got != tc.want {
				t.Errorf("failureKind = %q, want %q", got, tc.want)
			}
			if !slices.Contains(FailureKinds, got) {
				t.Errorf("%q is not in FailureKinds", got)
			}
			if FailureKindOf(got, "anything") != got {
				t.Error("a stored kind is not kept")
			}
			want := tc.fromMessage
			if want == "" {
				want = FailureInternal
			}
			if msg := failureMessage(tc.err, "run_1"); FailureKindOf("", msg) != want {
				t.Errorf("from message %q: %q, want %q", msg, FailureKindOf("", msg), want)
			}
		})
	}
	if FailureKindOf("", "run abandoned after 3 attempts: the worker process stopped (crashed or was killed) during each of them") != FailureAttemptsExhausted {
		t.Error("attempts exhausted is not read from its message")
	}
	if failureKind(nil) != "" {
		t.Error("no error has a kind")
	}
}
