package api

import (
	"errors"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
)

// queryInts reads integer query parameters, each with its default and
// bounds, and answers one 422 with the problems of all of them.
func queryInts(c *gin.Context, specs ...queryIntSpec) ([]int, error) {
	out := make([]int, len(specs))
	var all []ValidationItem
	for i, s := range specs {
		n, err := queryInt(c, s.name, s.def, s.lo, s.hi)
		var ve *ValidationError
		if errors.As(err, &ve) {
			all = append(all, ve.Items...)
			continue
		} else if err != nil {
			return nil, err
		}
		out[i] = n
	}
	if all != nil {
		return nil, &ValidationError{Items: all}
	}
	return out, nil
}

type queryIntSpec struct {
	name        string
	def, lo, hi int
}

// window reads ?hours= (1..720, default 168) and returns the time range
// ending now.
func window(hours int) model.TimeRange {
	end := time.Now().UTC()
	return model.TimeRange{Start: model.Time{Time: end.Add(-time.Duration(hours) * time.Hour)}, End: model.Time{Time: end}}
}

// executionHistory is GET /v1/analytics/clusters/{cluster_id}/
// execution-history: the cluster's runs created in the last `hours`
// (1..720, default 168), newest first, at most `limit` (1..1000, default
// 100), and a summary of every run of the window.
func (s *Server) executionHistory(c *gin.Context) error {
	q, err := queryInts(c, queryIntSpec{"hours", 168, 1, 720}, queryIntSpec{"limit", 100, 1, 1000})
	if err != nil {
		return err
	}
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	tr := window(q[0])
	runs, err := s.cfg.Store.RunMetrics(c.Request.Context(), cl.NamespaceID, cl.ID, tr.Start.Time)
	if err != nil {
		return err
	}
	// A run that has not started yet has no algorithm recorded: it will
	// run the cluster's.
	method := ""
	if cfg, err := clusterConfig(cl); err == nil {
		if cfg.VectorConfig != nil {
			method = cfg.VectorConfig.ClusteringMethod
		} else if cfg.AttributeConfig != nil {
			method = params.AttributeBased
		}
	}
	now := tr.End.Time
	metrics := make([]model.ClusterExecutionMetric, len(runs))
	for i, r := range runs {
		m := model.ClusterExecutionMetric{ExecutionID: r.RunID, StartedAt: model.Time{Time: r.CreatedAt}, DurationSeconds: runSeconds(r, now),
			NumDocuments: r.NumPoints, NumClusters: r.NumClusters, Status: r.Status, Algorithm: r.Algorithm}
		if r.StartedAt != nil {
			m.StartedAt = model.Time{Time: *r.StartedAt}
		}
		if m.Algorithm == "" {
			m.Algorithm = method
		}
		metrics[i] = m
	}
	out := model.ExecutionHistoryResponse{ClusterID: cl.ID, TimeRange: tr, Results: metrics[:min(len(metrics), q[1])], Summary: summarize(runs, metrics)}
	c.JSON(http.StatusOK, out)
	return nil
}

// runSeconds is a run's processing time: as recorded when it ended, from
// its start to its end, to now while it runs, 0 when it never started.
func runSeconds(r store.RunMetric, now time.Time) float64 {
	switch {
	case r.DurationMS != nil:
		return *r.DurationMS / 1000
	case r.StartedAt != nil && r.CompletedAt != nil:
		return r.CompletedAt.Sub(*r.StartedAt).Seconds()
	case r.StartedAt != nil:
		return now.Sub(*r.StartedAt).Seconds()
	}
	return 0
}

// summarize is the summary of every run of a window (metrics[i] is
// runs[i] as reported).
func summarize(runs []store.RunMetric, metrics []model.ClusterExecutionMetric) model.ExecutionSummary {
	out := model.ExecutionSummary{TotalExecutions: len(runs), Algorithms: map[string]int{}, FailuresByType: map[string]int{}}
	var durations []float64
	var clusters, docs float64
	for i, r := range runs {
		switch {
		case r.Canceled():
			out.Canceled++
		case r.Status == store.StatusCompleted:
			out.Completed++
			durations = append(durations, metrics[i].DurationSeconds)
			clusters += float64(r.NumClusters)
			docs += float64(r.NumPoints)
			out.TotalDocumentsClustered += int64(r.NumPoints)
		case r.Status == store.StatusFailed:
			out.Failed++
		case r.Status == store.StatusPending:
			out.Pending++
		case r.Status == store.StatusProcessing:
			out.Processing++
		}
		if r.Status == store.StatusFailed {
			out.FailuresByType[runner.FailureKindOf(r.FailureKind, r.ErrorMessage)]++
		}
		if r.Fallback {
			out.GPUFallbacks++
		}
		if a := metrics[i].Algorithm; a != "" {
			out.Algorithms[a]++
		}
		if t := metrics[i].StartedAt; out.LastExecutionAt == nil || t.After(out.LastExecutionAt.Time) {
			out.LastExecutionAt = &t
		}
	}
	if n := out.Completed + out.Failed; n > 0 {
		rate := float64(out.Completed) / float64(n)
		out.SuccessRate = &rate
	}
	if n := len(durations); n > 0 {
		sort.Float64s(durations)
		var sum float64
		for _, d := range durations {
			sum += d
		}
		avg, p50, p95, maxD := sum/float64(n), percentile(durations, 50), percentile(durations, 95), durations[n-1]
		avgK, avgN := clusters/float64(n), docs/float64(n)
		out.AvgDurationSeconds, out.P50DurationSeconds, out.P95DurationSeconds, out.MaxDurationSeconds = &avg, &p50, &p95, &maxD
		out.AvgNumClusters, out.AvgNumDocuments = &avgK, &avgN
	}
	return out
}

// percentile is the p-th percentile (0..100) of sorted values, linearly
// interpolated between the closest ranks (numpy.percentile's default
// "linear" method).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// failureAnalysis is GET /v1/analytics/clusters/{cluster_id}/failures: the
// cluster's runs that failed in the last `hours` (1..720, default 168),
// newest first, canceled ones included (error_type canceled), each with
// its error_type (runner.FailureKinds).
func (s *Server) failureAnalysis(c *gin.Context) error {
	q, err := queryInts(c, queryIntSpec{"hours", 168, 1, 720})
	if err != nil {
		return err
	}
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	tr := window(q[0])
	runs, err := s.cfg.Store.FailedRunMetrics(c.Request.Context(), cl.NamespaceID, cl.ID, tr.Start.Time)
	if err != nil {
		return err
	}
	out := model.FailureAnalysisResponse{ClusterID: cl.ID, TimeRange: tr, Failures: make([]model.FailureMetric, len(runs)), TotalFailures: len(runs)}
	for i, r := range runs {
		at := r.CreatedAt
		if r.CompletedAt != nil {
			at = *r.CompletedAt
		}
		out.Failures[i] = model.FailureMetric{Timestamp: model.Time{Time: at}, ExecutionID: r.RunID, ErrorMessage: r.ErrorMessage,
			ErrorType: runner.FailureKindOf(r.FailureKind, r.ErrorMessage)}
	}
	c.JSON(http.StatusOK, out)
	return nil
}
