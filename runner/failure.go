package runner

import (
	"errors"
	"strings"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/worker"
)

// Failure kinds: why a run failed, as GET /v1/analytics/clusters/{id}/
// failures reports it (error_type). The runner stores the kind with the run
// (runs.failure_kind) because a run's error_message alone cannot tell them
// apart: internal failures all read "Clustering failed with an internal
// error", whatever broke.
const (
	// FailureCanceled: a user canceled the run (error_message "canceled").
	FailureCanceled = store.CanceledMessage
	// FailureInsufficientData: too few documents to cluster (an empty
	// collection included).
	FailureInsufficientData = "insufficient_data"
	// FailureInvalidData: vectors that cannot be clustered (non-finite
	// values, zero vectors under the cosine metric, mixed dimensions, data
	// too large for the method's memory bound).
	FailureInvalidData = "invalid_data"
	// FailureInvalidParameters: algorithm_params or preprocessing steps the
	// data cannot honour (n_clusters above the points, n_components above
	// the dimension).
	FailureInvalidParameters = "invalid_parameters"
	// FailureMissingFeature: a feature the cluster names is not in a
	// collection.
	FailureMissingFeature = "missing_feature"
	// FailureMissingCollection: a collection of the cluster no longer
	// exists (or another resource the run needs was deleted).
	FailureMissingCollection = "missing_collection"
	// FailureInvalidFilters: the cluster's filters cannot be run.
	FailureInvalidFilters = "invalid_filters"
	// FailureInvalidConfiguration: the cluster's definition cannot run
	// (no vector_config; no feature named for a collection of several).
	FailureInvalidConfiguration = "invalid_configuration"
	// FailureBackendUnavailable: backend "gpu" was asked for and no GPU is
	// usable.
	FailureBackendUnavailable = "backend_unavailable"
	// FailureOutOfMemory: the GPU worker ran out of memory and the run could
	// not be retried on the CPU.
	FailureOutOfMemory = "out_of_memory"
	// FailureDevice: a GPU fault the CPU retry could not absorb.
	FailureDevice = "device_error"
	// FailureWorkerCrash: the GPU worker process died or broke its protocol.
	FailureWorkerCrash = "worker_crash"
	// FailureAttemptsExhausted: the process running the run died during
	// every one of its MaxAttempts attempts.
	FailureAttemptsExhausted = "attempts_exhausted"
	// FailureInternal: any other failure (a defect or an I/O error; the
	// server log has the detail).
	FailureInternal = "internal"
)

// FailureKinds lists every kind, for documentation and tests.
var FailureKinds = []string{FailureCanceled, FailureInsufficientData, FailureInvalidData, FailureInvalidParameters,
	FailureMissingFeature, FailureMissingCollection, FailureInvalidFilters, FailureInvalidConfiguration,
	FailureBackendUnavailable, FailureOutOfMemory, FailureDevice, FailureWorkerCrash, FailureAttemptsExhausted, FailureInternal}

// insufficientPrefix starts the engine's message for too few documents
// (engine.CheckInput); a test pins it.
const insufficientPrefix = "Insufficient documents"

// failureKind classifies the error a run failed with. Typed errors decide
// first; the runner's own user errors carry only a message, so those are
// told apart by the messages execute.go gives them (a test runs each case).
func failureKind(err error) string {
	var de *engine.DataError
	var pe *engine.ParamError
	var ple *engine.PipelineError
	var pes schema.Problems
	var fe *store.FeatureError
	var qe *store.QueryError
	var we *worker.Error
	var ue *userError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errCanceled):
		return FailureCanceled
	case errors.As(err, &fe):
		if k := userFailureKind(fe.Msg); k != "" {
			return k
		}
		return FailureMissingFeature
	case errors.As(err, &pe), errors.As(err, &ple), errors.As(err, &pes):
		return FailureInvalidParameters
	case errors.As(err, &de):
		if strings.HasPrefix(de.Msg, insufficientPrefix) {
			return FailureInsufficientData
		}
		return FailureInvalidData
	case errors.As(err, &qe):
		return FailureInvalidFilters
	case errors.As(err, &we):
		return workerFailureKind(we)
	case errors.As(err, &ue):
		if k := userFailureKind(ue.msg); k != "" {
			return k
		}
		// "Clustering algorithm failed: … (document …)" and the GPU
		// worker's input errors without a row.
		return FailureInvalidData
	case errors.Is(err, dispatch.ErrNoGPU):
		return FailureBackendUnavailable
	case errors.Is(err, store.ErrNotFound):
		return FailureMissingCollection
	}
	return FailureInternal
}

// workerFailureKind classifies a failure the GPU worker reported.
func workerFailureKind(we *worker.Error) string {
	switch we.Kind {
	case worker.KindInput:
		if we.Param != "" {
			return FailureInvalidParameters
		}
		if strings.HasPrefix(we.Message, insufficientPrefix) {
			return FailureInsufficientData
		}
		return FailureInvalidData
	case worker.KindCanceled:
		return FailureCanceled
	case worker.KindOutOfMemory:
		return FailureOutOfMemory
	case worker.KindDevice:
		return FailureDevice
	case worker.KindCrash:
		return FailureWorkerCrash
	}
	return FailureInternal
}

// userFailureKind classifies a userError by its message (execute.go's
// userErrors carry no type of their own); "" when no message matches.
func userFailureKind(msg string) string {
	switch {
	case strings.HasPrefix(msg, "Collection ") && strings.HasSuffix(msg, " not found"):
		return FailureMissingCollection
	case strings.HasPrefix(msg, "invalid filters"):
		return FailureInvalidFilters
	case strings.HasPrefix(msg, "the cluster has no vector_config"), strings.Contains(msg, "has several features"):
		return FailureInvalidConfiguration
	case strings.HasSuffix(msg, "has no vectors yet"):
		return FailureInsufficientData // an empty collection (store.ResolveFeature)
	case strings.HasPrefix(msg, dispatch.ErrNoGPU.Error()), strings.HasPrefix(msg, "backend must be"):
		return FailureBackendUnavailable
	case strings.HasPrefix(msg, insufficientPrefix):
		return FailureInsufficientData
	case strings.HasPrefix(msg, "algorithm_params"):
		return FailureInvalidParameters
	case strings.HasPrefix(msg, "collections have vectors of different dimensions"), strings.HasPrefix(msg, "Clustering algorithm failed"):
		return FailureInvalidData
	}
	return ""
}

// FailureKindOf is the kind of a failed run: the stored kind, or for runs
// recorded before kinds were stored, one read from the error_message the
// runner wrote (the messages of failureMessage; internal failures of any
// cause read as internal there).
func FailureKindOf(stored, message string) string {
	if stored != "" {
		return stored
	}
	switch {
	case message == store.CanceledMessage:
		return FailureCanceled
	case strings.HasPrefix(message, "run abandoned after"):
		return FailureAttemptsExhausted
	case strings.HasPrefix(message, "Invalid algorithm_params"):
		return FailureInvalidParameters
	case strings.HasPrefix(message, "Feature extractor"):
		return FailureMissingFeature
	case strings.HasPrefix(message, "Clustering failed with an internal error"):
		return FailureInternal
	case strings.HasPrefix(message, "row "), strings.HasPrefix(message, "vectors have no features"):
		return FailureInvalidData
	}
	if k := userFailureKind(message); k != "" {
		return k
	}
	return FailureInternal
}
