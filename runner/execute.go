package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/backends"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/worker"
)

// userError marks a failure caused by the run's data or configuration
// (reported to the user as is, not logged as a server error).
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func isUserError(err error) bool {
	var ue *userError
	var de *engine.DataError
	var pe *engine.ParamError
	var pes schema.Problems
	var fe *store.FeatureError
	return errors.As(err, &ue) || errors.As(err, &de) || errors.As(err, &pe) || errors.As(err, &pes) ||
		errors.As(err, &fe) || errors.Is(err, errCanceled) || errors.Is(err, store.ErrNotFound)
}

// failureMessage is the error_message of a failed run: the reason for user
// errors, a generic line for internal ones (whose detail goes to the log;
// paths and internals never reach the API).
func failureMessage(err error, runID string) string {
	if errors.Is(err, errCanceled) {
		return store.CanceledMessage
	}
	var de *engine.DataError
	if errors.As(err, &de) {
		return de.Error()
	}
	var pe *engine.ParamError
	var pes schema.Problems
	if errors.As(err, &pe) || errors.As(err, &pes) {
		return "Invalid algorithm_params: " + err.Error()
	}
	if isUserError(err) {
		return err.Error()
	}
	return fmt.Sprintf("Clustering failed with an internal error (see the server log for run %s)", runID)
}

// dataset is what a run clusters.
type dataset struct {
	X       []float32
	N       int
	D       int
	IDs     []string // document id per row
	Sources []source // which collection each range of rows came from
}

// source is a range of a dataset's rows from one collection.
type source struct {
	CollectionID string
	Start, End   int
}

// load reads the vectors the cluster definition selects from every
// collection of collection_ids (restricted by the cluster's filters) and
// concatenates them. With several features (multi_feature_strategy
// "concatenate"), each document's vectors are joined in the order of
// feature_uris, each L2-normalised first (normalize_features, default true)
// and scaled by its feature_weights entry (default 1); documents lacking one
// of the features are left out.
func (r *Runner) load(ctx context.Context, ns string, cfg *model.CreateClusterRequest) (*dataset, error) {
	vc := cfg.VectorConfig
	feats := vc.Features()
	if len(feats) == 0 {
		feats = []string{""}
	}
	out := &dataset{}
	for _, cid := range cfg.CollectionIDs {
		col, err := r.cfg.Store.GetCollection(ctx, ns, cid)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &userError{fmt.Sprintf("Collection %s not found", cid)}
			}
			return nil, err
		}
		parts := make([]store.Vectors, len(feats))
		for i, want := range feats {
			f, err := r.cfg.Store.ResolveFeature(ctx, col.ID, want)
			if err != nil {
				return nil, err
			}
			if parts[i], err = r.cfg.Store.LoadVectors(ctx, col.ID, f, cfg.Filters); err != nil {
				var qe *store.QueryError
				if errors.As(err, &qe) {
					return nil, &userError{"invalid filters: " + qe.Error()}
				}
				return nil, err
			}
		}
		v := parts[0]
		if len(parts) > 1 {
			weights := make([]float64, len(feats))
			for i, f := range feats {
				weights[i] = vc.FeatureWeights.Weight(i, f)
			}
			v = concatenate(parts, vc.NormalizeFeatures, weights)
		}
		if out.D != 0 && v.D != out.D {
			return nil, &userError{fmt.Sprintf("collections have vectors of different dimensions (%d and %d in %s)", out.D, v.D, col.ID)}
		}
		out.D = v.D
		if out.X == nil {
			out.X = v.X // the common single-collection case: no copy
		} else {
			out.X = append(out.X, v.X...)
		}
		out.Sources = append(out.Sources, source{CollectionID: col.ID, Start: out.N, End: out.N + v.N})
		out.N += v.N
		out.IDs = append(out.IDs, v.IDs...)
	}
	return out, nil
}

// concatenate joins several features of the same documents, in the first
// feature's order, normalising and weighting each part.
func concatenate(parts []store.Vectors, normalize bool, weights []float64) store.Vectors {
	rowOf := make([]map[string]int, len(parts))
	for f, p := range parts {
		rowOf[f] = make(map[string]int, p.N)
		for i, id := range p.IDs {
			rowOf[f][id] = i
		}
	}
	out := store.Vectors{}
	for _, p := range parts {
		out.D += p.D
	}
	for _, id := range parts[0].IDs {
		rows := make([]int, len(parts))
		ok := true
		for f := range parts {
			if rows[f], ok = rowOf[f][id]; !ok {
				break
			}
		}
		if !ok {
			continue
		}
		for f, p := range parts {
			vec := p.X[rows[f]*p.D : (rows[f]+1)*p.D]
			scale := 1.0
			if f < len(weights) {
				scale = weights[f]
			}
			if normalize {
				var s float64
				for _, e := range vec {
					s += float64(e) * float64(e)
				}
				if s > 0 {
					scale /= math.Sqrt(s)
				}
			}
			for _, e := range vec {
				out.X = append(out.X, float32(float64(e)*scale))
			}
		}
		out.IDs = append(out.IDs, id)
		out.N++
	}
	return out
}

// execute runs the clustering of one run and writes its artifacts; res is
// updated in place (progress while running, the result at the end).
func (r *Runner) execute(ctx context.Context, run store.Run, res *model.ExecutionResult, log *slog.Logger) (store.Outcome, error) {
	st := r.cfg.Store
	cl, err := st.GetCluster(ctx, run.NamespaceID, run.ClusterID)
	if err != nil {
		return store.Outcome{}, err
	}
	cfg, err := model.DecodeClusterConfig(cl.Config)
	if err != nil {
		return store.Outcome{}, fmt.Errorf("stored cluster config: %w", err)
	}
	if cfg.VectorConfig == nil {
		return store.Outcome{}, &userError{"the cluster has no vector_config"}
	}
	res.Algorithm = cfg.VectorConfig.ClusteringMethod
	t0 := time.Now()
	data, err := r.load(ctx, run.NamespaceID, &cfg)
	if err != nil {
		return store.Outcome{}, err
	}
	log.Info("vectors loaded", "points", data.N, "dim", data.D, "seconds", time.Since(t0).Seconds(),
		"mb_per_second", float64(len(data.X))*4/1e6/math.Max(time.Since(t0).Seconds(), 1e-9))
	res.NumPoints = data.N
	exec, fallback, err := r.cfg.Backends.Choose(cfg.VectorConfig.Backend)
	if err != nil {
		return store.Outcome{}, &userError{err.Error()}
	}
	res.Backend = exec.Name()
	if fallback != nil {
		res.BackendFallbackReason = &fallback.Reason
		r.cfg.Metrics.BackendFallbacks.WithLabelValues(fallback.Kind).Inc()
	}
	spec := engine.Spec{Algorithm: cfg.VectorConfig.ClusteringMethod, Params: cfg.VectorConfig.Params(), Pipeline: PipelineOf(cfg.VectorConfig)}
	lastWrite, lastPhase := time.Now(), ""
	progress := func(p engine.Progress) {
		if p.Phase == "iterate" {
			r.cfg.Metrics.PointsAssigned.WithLabelValues(res.Backend).Add(float64(p.Points))
			r.cfg.Metrics.DistanceFLOPs.WithLabelValues(res.Backend).Add(p.FLOPs)
			r.cfg.Metrics.IterationDuration.WithLabelValues(res.Algorithm, res.Backend).Observe(p.Seconds)
		}
		// Throttled, except that a new phase is always shown.
		if time.Since(lastWrite) < r.cfg.ProgressEvery && p.Phase == lastPhase {
			return
		}
		lastWrite, lastPhase = time.Now(), p.Phase
		f := math.Min(math.Max(p.Fraction, 0), 0.99)
		res.Progress = &f
		// Best effort: a busy store delays progress, never the run.
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		if err := st.SetProgress(wctx, run.RunID, f, mustJSON(res)); err != nil && ctx.Err() == nil {
			log.Debug("progress not recorded", "err", err)
		}
		cancel()
	}
	in := engine.Input{X: data.X, N: data.N, D: data.D}
	result, err := exec.Run(ctx, in, spec, progress)
	if f := backends.RetryOnCPU(ctx, exec, err); f != nil {
		log.Warn("GPU run failed; rerunning on the CPU", "backend", exec.Name(), "kind", f.Kind, "err", err)
		r.cfg.Metrics.BackendFallbacks.WithLabelValues(f.Kind).Inc()
		exec = r.cfg.Backends.CPU()
		res.Backend, res.BackendFallbackReason = exec.Name(), &f.Reason
		result, err = exec.Run(ctx, in, spec, progress)
	}
	if err != nil {
		return store.Outcome{}, runError(err, data.IDs)
	}
	labels, llmErrors, err := r.labelClusters(ctx, data, result, &cfg)
	if err != nil {
		return store.Outcome{}, fmt.Errorf("labeling: %w", err)
	}
	if err := writeArtifacts(st.RunDir(run.RunID), data.IDs, result, labels); err != nil {
		return store.Outcome{}, fmt.Errorf("writing artifacts: %w", err)
	}
	res.Completed(result, exec.Name(), model.Now())
	applyLabels(res, labels)
	res.LLMLabelingErrors = llmErrors
	if cfg.EnrichSourceCollection {
		done := run
		done.Result = mustJSON(res)
		for _, src := range data.Sources {
			er, err := r.Enrich(ctx, run.NamespaceID, []store.Run{done}, src.CollectionID, 0)
			if err != nil {
				return store.Outcome{}, fmt.Errorf("enriching %s: %w", src.CollectionID, err)
			}
			log.Info("source collection enriched", "collection_id", src.CollectionID, "enriched", er.Enriched, "batches", er.Batches)
		}
	}
	o := store.Outcome{Status: store.StatusCompleted, Result: mustJSON(res), NumClusters: result.NumClusters, NumPoints: data.N}
	if result.Metrics != nil && !math.IsNaN(result.Metrics.Silhouette) {
		s := result.Metrics.Silhouette
		o.Silhouette = &s
	}
	var search []string
	for _, c := range res.Centroids {
		if c.Label != nil {
			search = append(search, *c.Label)
		}
		if c.Summary != nil {
			search = append(search, *c.Summary)
		}
	}
	o.SearchText = strings.Join(search, " ")
	return o, nil
}

// runError turns an engine or worker failure into the run's error, naming
// the document behind a bad row.
func runError(err error, ids []string) error {
	var de *engine.DataError
	if errors.As(err, &de) && de.Row >= 0 && de.Row < len(ids) {
		return &userError{fmt.Sprintf("Clustering algorithm failed: %s (document %s)", de.Msg, ids[de.Row])}
	}
	var we *worker.Error
	if errors.As(err, &we) && we.Kind == worker.KindInput {
		if we.Row >= 0 && we.Row < len(ids) {
			return &userError{fmt.Sprintf("Clustering algorithm failed: %s (document %s)", we.Message, ids[we.Row])}
		}
		return &userError{we.Message}
	}
	return err
}

// writeArtifacts stores centroids.parquet and members.parquet: positions on
// the first three principal axes of the clustered vectors, distances to the
// centroids, each centroid's vector and statistics, and for hierarchical
// runs the sub-clusters with their parents (members carry their deepest
// cluster).
func writeArtifacts(dir string, ids []string, res *engine.Result, labels map[string]clusterLabel) error {
	v := res.Vectors
	proj, err := engine.FitProjection(v.X, v.N, v.D, 3, res.Stats.Seed)
	if err != nil {
		return err
	}
	pts := proj.Transform(v.X, v.N)
	all := res.AllClusters()
	cents := make([]artifacts.Centroid, 0, len(all))
	if len(all) > 0 {
		vecs := make([]float32, 0, len(all)*v.D)
		for _, c := range all {
			vecs = append(vecs, c.Centroid...)
		}
		cpos := proj.Transform(vecs, len(all))
		for j, c := range all {
			a := artifacts.Centroid{ClusterID: c.ID, NumMembers: int64(c.Members), Keywords: []string{}, Variance: c.Variance,
				X: cpos[j*3], Y: cpos[j*3+1], Z: cpos[j*3+2], HierarchyLevel: int32(c.Level), CentroidVector: c.Centroid}
			if c.Parent != "" {
				parent := c.Parent
				a.ParentClusterID = &parent
			}
			if l, ok := labels[c.ID]; ok {
				a.Label, a.Summary, a.Keywords = l.Label, l.Summary, l.Keywords
			}
			cents = append(cents, a)
		}
	}
	leaf := res.Labels
	if res.Leaf != nil {
		leaf = res.Leaf
	}
	members := make([]artifacts.Member, v.N)
	for i := range members {
		m := artifacts.Member{PointID: ids[i], ClusterID: model.NoiseClusterID, X: pts[i*3], Y: pts[i*3+1], Z: pts[i*3+2]}
		if l := leaf[i]; l >= 0 {
			c := all[l]
			m.ClusterID = c.ID
			e := exactDistance(v, i, c.Centroid)
			m.DistanceToCentroid = &e
		}
		if res.Probabilities != nil {
			p := res.Probabilities[i]
			m.Probability = &p
		}
		members[i] = m
	}
	return artifacts.Write(dir, cents, members)
}

// exactDistance is the Euclidean distance of row i of v to c.
func exactDistance(v engine.Input, i int, c []float32) float32 {
	var s float64
	for t, e := range v.X[i*v.D : (i+1)*v.D] {
		d := float64(e) - float64(c[t])
		s += d * d
	}
	return float32(math.Sqrt(s))
}
