package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// Conditions of conditional triggers. Both compare the data with the
// cluster's last completed run, and hold only when documents were written
// (added or updated) since that run started: re-clustering unchanged data
// gives the same clusters, so a condition that holds on them would re-run
// the cluster at every check for nothing.
//
//   - drift / cosine_drift: the mean cosine distance (1 − cosine similarity)
//     from each document written since the last completed run started to
//     the nearest of that run's centroids, over the vectors a run loads
//     (the cluster's features, joined and weighted as a run joins them, and
//     its filters). Holds when above threshold. Range 0–2.
//   - quality / silhouette_score, calinski_harabasz_score: the last
//     completed run's metric; holds when below threshold.
//     quality / davies_bouldin_index (lower is better): holds when above.
//     A metric the run could not compute (fewer than two clusters) counts as
//     failing the threshold.
//
// A cluster that never completed a run meets either condition as soon as
// its collections hold a document.

// evaluation is one check of a conditional trigger.
type evaluation struct {
	met    bool
	value  *float64
	detail string // why it holds (the history item's detail)
	err    string // why it could not be checked ("" when it was)
}

func (s *Scheduler) evaluate(ctx context.Context, t *store.Trigger, c ScheduleConfig) evaluation {
	ev, err := s.check(ctx, t, c)
	if err != nil {
		s.cfg.Logger.Warn("trigger condition not checked", "trigger_id", t.ID, "err", err)
		return evaluation{err: err.Error()}
	}
	return ev
}

func (s *Scheduler) check(ctx context.Context, t *store.Trigger, c ScheduleConfig) (evaluation, error) {
	st := s.cfg.Store
	cl, err := st.GetCluster(ctx, t.NamespaceID, t.ClusterID)
	if err != nil {
		return evaluation{}, err
	}
	cfg, err := model.DecodeClusterConfig(cl.Config)
	if err != nil {
		return evaluation{}, fmt.Errorf("stored cluster %s: %w", cl.ID, err)
	}
	var collections []string
	for _, ref := range cfg.CollectionIDs {
		col, err := st.GetCollection(ctx, t.NamespaceID, ref)
		if err != nil {
			return evaluation{}, err
		}
		collections = append(collections, col.ID)
	}
	last, err := st.LatestCompletedRun(ctx, t.NamespaceID, cl.ID)
	if err != nil {
		return evaluation{}, err
	}
	var since time.Time // zero: every document is new
	if last != nil {
		since = last.CreatedAt
		if last.StartedAt != nil {
			since = *last.StartedAt
		}
	}
	written := 0
	for _, id := range collections {
		n, err := st.DocumentsWrittenSince(ctx, id, since)
		if err != nil {
			return evaluation{}, err
		}
		written += n
	}
	if last == nil {
		return evaluation{met: written > 0,
			detail: fmt.Sprintf("the cluster has no completed run yet and its collections hold %d documents", written)}, nil
	}
	if written == 0 {
		return evaluation{}, nil // nothing new: the condition cannot hold (see above)
	}
	switch c.ConditionType {
	case model.ConditionQuality:
		return quality(last, c, written)
	case model.ConditionDrift:
		return s.drift(ctx, t.NamespaceID, cfg, last, since, c, written)
	}
	return evaluation{}, fmt.Errorf("unknown condition_type %q", c.ConditionType)
}

// quality reads the last completed run's metric.
func quality(last *store.Run, c ScheduleConfig, written int) (evaluation, error) {
	var res model.ExecutionResult
	if err := json.Unmarshal(last.Result, &res); err != nil {
		return evaluation{}, fmt.Errorf("stored run %s: %w", last.RunID, err)
	}
	var v *float64
	if m := res.Metrics; m != nil {
		switch c.Metric {
		case model.MetricSilhouette:
			v = m.SilhouetteScore
		case model.MetricDaviesBouldin:
			v = m.DaviesBouldinIndex
		case model.MetricCalinskiHarabasz:
			v = m.CalinskiHarabaszScore
		}
	}
	if v == nil {
		return evaluation{met: true, detail: fmt.Sprintf("run %s has no %s (fewer than two clusters); %d documents written since it started", last.RunID, c.Metric, written)}, nil
	}
	worse, cmp := *v < c.Threshold, "<"
	if model.LowerIsBetter(c.Metric) {
		worse, cmp = *v > c.Threshold, ">"
	}
	return evaluation{met: worse, value: v,
		detail: fmt.Sprintf("%s of run %s is %.4g %s threshold %g; %d documents written since it started", c.Metric, last.RunID, *v, cmp, c.Threshold, written)}, nil
}

// drift measures how far the documents written since the last completed
// run started are from its centroids.
func (s *Scheduler) drift(ctx context.Context, ns string, cfg model.CreateClusterRequest, last *store.Run, since time.Time, c ScheduleConfig, written int) (evaluation, error) {
	if cfg.VectorConfig == nil {
		return evaluation{}, errors.New("drift needs a cluster with a vector_config")
	}
	recent, err := json.Marshal(map[string]any{"field": "updated_at", "operator": "gte", "value": since.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return evaluation{}, err
	}
	filters := json.RawMessage(`{"AND":[` + string(recent) + `]}`)
	if !isNull(cfg.Filters) {
		filters = json.RawMessage(`{"AND":[` + string(cfg.Filters) + `,` + string(recent) + `]}`)
	}
	cfg.Filters = filters
	x, n, d, _, err := s.cfg.Load(ctx, s.cfg.Store, ns, &cfg)
	if err != nil {
		return evaluation{}, err
	}
	if n == 0 {
		return evaluation{}, nil // the documents written lack the clustered features, or the filters leave them out
	}
	cents, err := s.cfg.Artifacts.ReadCentroids(ctx, last.ArtifactsKey())
	if err != nil {
		return evaluation{}, fmt.Errorf("centroids of run %s: %w", last.RunID, err)
	}
	var centroids [][]float32
	for _, ce := range cents {
		if len(ce.CentroidVector) != d {
			return evaluation{}, fmt.Errorf("run %s's centroids have dimension %d and the documents %d (its preprocessing changed the space), so drift cannot be measured", last.RunID, len(ce.CentroidVector), d)
		}
		centroids = append(centroids, ce.CentroidVector)
	}
	if len(centroids) == 0 {
		return evaluation{met: true, detail: fmt.Sprintf("run %s found no cluster; %d documents written since it started", last.RunID, written)}, nil
	}
	v := CosineDrift(x, n, d, centroids)
	return evaluation{met: v > c.Threshold, value: &v,
		detail: fmt.Sprintf("cosine_drift of %d documents written since run %s started is %.4g > threshold %g", n, last.RunID, v, c.Threshold)}, nil
}

// CosineDrift is the mean over the n rows of x (n×d) of the cosine
// distance (1 − cosine similarity) to the nearest centroid. A zero vector
// is at distance 1 from everything.
func CosineDrift(x []float32, n, d int, centroids [][]float32) float64 {
	norms := make([]float64, len(centroids))
	for j, c := range centroids {
		norms[j] = norm(c)
	}
	var sum float64
	for i := range n {
		row := x[i*d : (i+1)*d]
		rn := norm(row)
		best := math.Inf(1)
		for j, c := range centroids {
			if rn == 0 || norms[j] == 0 {
				continue
			}
			var dot float64
			for k, v := range row {
				dot += float64(v) * float64(c[k])
			}
			best = math.Min(best, 1-dot/(rn*norms[j]))
		}
		if math.IsInf(best, 1) {
			best = 1
		}
		sum += best
	}
	return sum / float64(n)
}

func norm(v []float32) float64 {
	var s float64
	for _, e := range v {
		s += float64(e) * float64(e)
	}
	return math.Sqrt(s)
}

func isNull(raw json.RawMessage) bool {
	s := string(raw)
	return len(raw) == 0 || s == "null"
}
