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
	"github.com/clusterd/clusterd/dispatch"
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

// part is one clustering of a run: the whole run, or one feature's of a
// multi_feature_strategy "independent" run.
type part struct {
	feature string // "independent": the feature URI; "" otherwise
	data    *dataset
	res     *engine.Result // cluster IDs final (numbered across parts)
	labels  map[string]clusterLabel
	// attrs are an attribute cluster's values and names its label by
	// cluster id (nil for vector clusters).
	attrs map[string]map[string]any
	names map[string]string
}

// clustering is what a run found, before it is labelled and recorded.
type clustering struct {
	parts []*part
	// relations are the parent-child pairs found across an "independent"
	// run's features.
	relations []model.HierarchyRelationship
	// weights are the feature weights a concatenation used (several
	// features); learning says how they were learned (nil unless they
	// were).
	weights  map[string]float64
	learning *learned
	// load is the seconds spent reading the documents and joining their
	// features (the load phase).
	load float64
	// release unmaps the parts' mapped vectors (see dataset.release); nil
	// when none are.
	release func()
}

// free releases the clustering's mapped vectors: nothing may use its
// parts' rows after.
func (c *clustering) free() {
	if c.release != nil {
		c.release()
	}
}

// execute runs the clustering of one run, labels it, writes its artifacts,
// enriches the source documents and writes the output collections as the
// cluster asks; res is updated in place (progress while running, the
// result at the end).
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
	progress := r.progress(ctx, run, res, log)
	var c *clustering
	switch {
	case cfg.ClusterType == model.ClusterTypeAttribute:
		if cfg.AttributeConfig == nil {
			return store.Outcome{}, &userError{"the cluster has no attribute_config"}
		}
		c, err = r.clusterAttributes(ctx, run.NamespaceID, &cfg, res, log)
	case cfg.VectorConfig == nil:
		return store.Outcome{}, &userError{"the cluster has no vector_config"}
	default:
		c, err = r.clusterVectors(ctx, run.NamespaceID, &cfg, res, progress, log)
	}
	if err != nil {
		return store.Outcome{}, err
	}
	defer c.free() // after every use of the rows, the projection's included
	var phases engine.Phases
	for _, p := range c.parts {
		phases.Add(p.res.Stats.PhaseSeconds)
	}
	phases.Load = c.load
	// The scatter projections need only the clustering: they are computed
	// while the clusters are labelled (mostly the store reading payloads,
	// on one core).
	projected := make(chan projections, 1)
	go func() { projected <- projectParts(c.parts) }()
	received := false
	defer func() {
		if !received { // returning early: the projection still reads the rows
			<-projected
		}
	}()
	t := time.Now()
	var llmErrors []string
	for _, p := range c.parts {
		labels, errs, err := r.labelClusters(ctx, p.data, p.res, &cfg)
		if err != nil {
			return store.Outcome{}, fmt.Errorf("labeling: %w", err)
		}
		p.labels = labels
		if p.attrs != nil {
			p.labels = attributeLabels(p.names, labels)
		}
		llmErrors = append(llmErrors, errs...)
	}
	phases.Labels = time.Since(t).Seconds()
	t = time.Now()
	proj := <-projected
	received = true
	// The projection phase is what the run still waited for it after the
	// labels, so that the phases add up to at most the run's time.
	waited := time.Since(t).Seconds()
	if proj.err != nil {
		return store.Outcome{}, fmt.Errorf("projecting: %w", proj.err)
	}
	phases.Projection = waited
	// The artifacts (Parquet encoding, one core) are written while the
	// source is enriched and the output collections written (the store,
	// the member means): on W4 through the service, 0.27 and 0.19 s that
	// ran one after the other. The artifacts phase is what the run still
	// waited for them after the outputs, as for the projection.
	written := make(chan error, 1)
	go func() {
		written <- writeArtifacts(ctx, r.cfg.Artifacts, run.ArtifactsKey(), c.parts, proj.scatters)
	}()
	joined, artifactsErr, artifactsWait := false, error(nil), 0.0
	// join waits for the artifacts once (the enrichment reads them) and
	// returns their error; the time waited is the artifacts phase.
	join := func() error {
		if !joined {
			t := time.Now()
			artifactsErr, joined = <-written, true
			artifactsWait = time.Since(t).Seconds()
		}
		return artifactsErr
	}
	defer func() {
		if !joined { // returning early: the encoder still reads the rows
			<-written
		}
	}()
	// deleted fails a run deleted while it ran: the delete removed the
	// files it found, maybe before these were written, so they are this
	// run's to remove once written.
	deleted := func(err error) (store.Outcome, error) {
		join()
		if err := r.cfg.Artifacts.Delete(context.WithoutCancel(ctx), run.RunID); err != nil {
			log.Error("removing a deleted run's artifacts", "err", err)
		}
		return store.Outcome{}, fmt.Errorf("writing artifacts: run %s: %w", run.RunID, err)
	}
	if _, err := st.RunByID(ctx, run.RunID); errors.Is(err, store.ErrNotFound) {
		return deleted(err) // no output collection for a deleted run
	}
	c.record(res, res.Backend, model.Now())
	res.Stats.PhaseSeconds = model.Phases(phases)
	res.LLMLabelingErrors = llmErrors
	t = time.Now()
	if cfg.EnrichSourceCollection || (cfg.VectorConfig != nil && cfg.VectorConfig.EnrichSource) {
		// The enrichment reads the members from the artifacts.
		if err := join(); err != nil {
			return store.Outcome{}, fmt.Errorf("writing artifacts: %w", err)
		}
		done := run
		done.Result = mustJSON(res)
		for _, src := range c.parts[0].data.Sources {
			er, err := r.Enrich(ctx, run.NamespaceID, []store.Run{done}, src.CollectionID, 0)
			if err != nil {
				return store.Outcome{}, fmt.Errorf("enriching %s: %w", src.CollectionID, err)
			}
			log.Info("source collection enriched", "collection_id", src.CollectionID, "enriched", er.Enriched, "batches", er.Batches)
		}
	}
	if !cfg.EnrichSourceCollection {
		if err := r.writeOutputs(ctx, run, cl, &cfg, c, res, log); err != nil {
			if errors.Is(err, store.ErrConflict) { // no free name: the user's collections hold them all
				return store.Outcome{}, &userError{"writing the output collection: " + err.Error()}
			}
			return store.Outcome{}, fmt.Errorf("writing output collections: %w", err)
		}
	}
	outputs := time.Since(t).Seconds()
	if joined { // waited inside the outputs' time, for the enrichment
		outputs -= artifactsWait
	}
	if err := join(); err != nil {
		return store.Outcome{}, fmt.Errorf("writing artifacts: %w", err)
	}
	if _, err := st.RunByID(ctx, run.RunID); errors.Is(err, store.ErrNotFound) {
		return deleted(err)
	}
	res.Stats.PhaseSeconds.Artifacts, res.Stats.PhaseSeconds.Outputs = artifactsWait, outputs
	o := store.Outcome{Status: store.StatusCompleted, Result: mustJSON(res), NumClusters: res.NumClusters, NumPoints: res.NumPoints}
	if res.Metrics != nil && res.Metrics.SilhouetteScore != nil {
		s := *res.Metrics.SilhouetteScore
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

// progress returns the function that records a run's progress: engine
// events are counted in the metrics and written into the stored result,
// throttled to one write per ProgressEvery (a new phase is always shown).
func (r *Runner) progress(ctx context.Context, run store.Run, res *model.ExecutionResult, log *slog.Logger) func(engine.Progress) {
	lastWrite, lastPhase := time.Now(), ""
	return func(p engine.Progress) {
		if p.Phase == "iterate" {
			r.cfg.Metrics.PointsAssigned.WithLabelValues(res.Backend).Add(float64(p.Points))
			r.cfg.Metrics.DistanceFLOPs.WithLabelValues(res.Backend).Add(p.FLOPs)
			r.cfg.Metrics.IterationDuration.WithLabelValues(res.Algorithm, res.Backend).Observe(p.Seconds)
		}
		if time.Since(lastWrite) < r.cfg.ProgressEvery && p.Phase == lastPhase {
			return
		}
		lastWrite, lastPhase = time.Now(), p.Phase
		f := math.Min(math.Max(p.Fraction, 0), 0.99)
		res.Progress = &f
		// Best effort: a busy store delays progress, never the run.
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		l, _ := ctx.Value(leaseKey{}).(lease)
		if l.job == nil {
			cancel()
			return // not run from the queue (no claim to write under)
		}
		if err := r.cfg.Store.SetProgress(wctx, l.job, l.owner, f, mustJSON(res)); err != nil && ctx.Err() == nil {
			log.Debug("progress not recorded", "err", err)
		}
		cancel()
	}
}

// scaled maps a progress function's fractions into [lo, hi], for one of
// several clusterings of a run.
func scaled(progress func(engine.Progress), lo, hi float64) func(engine.Progress) {
	return func(p engine.Progress) {
		p.Fraction = lo + (hi-lo)*math.Min(math.Max(p.Fraction, 0), 1)
		progress(p)
	}
}

// executor is where a run's clusterings go; after a GPU failure it is the
// CPU for the rest of the run.
type executor struct {
	dispatch.Executor
}

// choose picks the executor of a run's backend choice and records it (and
// why no GPU is used, when one could have been) in res.
func (r *Runner) choose(want string, res *model.ExecutionResult) (*executor, error) {
	exec, fallback, err := r.cfg.Backends.Choose(want)
	if err != nil {
		return nil, &userError{err.Error()}
	}
	res.Backend = exec.Name()
	if fallback != nil {
		res.BackendFallbackReason = &fallback.Reason
		r.cfg.Metrics.BackendFallbacks.WithLabelValues(fallback.Kind).Inc()
	}
	return &executor{exec}, nil
}

// cluster runs the engine on data: on exec, and again on the CPU when a
// GPU failed in a way the CPU does not share (exec then stays the CPU).
func (r *Runner) cluster(ctx context.Context, exec *executor, data *dataset, spec engine.Spec, res *model.ExecutionResult, progress func(engine.Progress), log *slog.Logger) (*engine.Result, error) {
	in := engine.Input{X: data.X, N: data.N, D: data.D}
	result, err := exec.Fit(ctx, in, spec, progress)
	if f := dispatch.RetryOnCPU(ctx, exec.Executor, err); f != nil {
		log.Warn("GPU run failed; rerunning on the CPU", "backend", exec.Name(), "kind", f.Kind, "err", err)
		r.cfg.Metrics.BackendFallbacks.WithLabelValues(f.Kind).Inc()
		exec.Executor = r.cfg.Backends.CPU()
		res.Backend, res.BackendFallbackReason = exec.Name(), &f.Reason
		result, err = exec.Fit(ctx, in, spec, progress)
	}
	if err != nil {
		return nil, runError(err, data.IDs)
	}
	return result, nil
}

// clusterVectors clusters the features of a vector cluster as its
// multi_feature_strategy says: one clustering of the joined features
// (concatenate; weighted, with learned weights unless feature_weights are
// given) or one per feature (independent). With one feature every strategy
// is that feature's clustering.
func (r *Runner) clusterVectors(ctx context.Context, ns string, cfg *model.CreateClusterRequest, res *model.ExecutionResult, progress func(engine.Progress), log *slog.Logger) (*clustering, error) {
	vc := cfg.VectorConfig
	res.Algorithm = vc.ClusteringMethod
	feats := vc.Features()
	if len(feats) == 0 {
		feats = []string{""}
	}
	t0 := time.Now()
	data, err := r.loadBlocks(ctx, ns, cfg, feats, true)
	if err != nil {
		return nil, err
	}
	// The mapped rows are the returned clustering's to release, or else
	// released here.
	kept := false
	defer func() {
		if !kept {
			data.release()
		}
	}()
	var bytes int
	for _, b := range data.Blocks {
		bytes += len(b.X) * 4
	}
	load := time.Since(t0).Seconds()
	log.Info("vectors loaded", "points", data.N, "features", len(feats), "seconds", load,
		"mb_per_second", float64(bytes)/1e6/math.Max(load, 1e-9))
	res.NumPoints = data.N
	exec, err := r.choose(vc.Backend, res)
	if err != nil {
		return nil, err
	}
	spec := engine.Spec{Algorithm: vc.ClusteringMethod, Params: vc.Params(), Pipeline: PipelineOf(vc)}
	if vc.MultiFeatureStrategy == model.StrategyIndependent && len(feats) > 1 {
		c, err := r.clusterIndependent(ctx, exec, data, spec, res, progress, log)
		if err != nil {
			return nil, err
		}
		c.load, c.release, kept = load, data.release, true
		return c, nil
	}
	c := &clustering{load: load}
	weights := make([]float64, len(feats))
	for i, f := range feats {
		weights[i] = vc.FeatureWeights.Weight(i, f)
	}
	runProgress := progress
	if vc.LearnsWeights() {
		l, err := r.learnWeights(ctx, exec, data, vc, spec, res, scaled(progress, 0, 0.5), log)
		if err != nil {
			return nil, err
		}
		weights, c.learning = l.best, l
		runProgress = scaled(progress, 0.5, 1)
	}
	t1 := time.Now()
	data.join(vc.NormalizeFeatures && len(feats) > 1, weights)
	c.load += time.Since(t1).Seconds()
	if len(feats) > 1 {
		c.weights = map[string]float64{}
		for i, f := range feats {
			c.weights[f] = weights[i]
		}
	}
	result, err := r.cluster(ctx, exec, data, spec, res, runProgress, log)
	if err != nil {
		return nil, err
	}
	c.parts = []*part{{data: data, res: result}}
	c.release, kept = data.release, true
	return c, nil
}

// record fills the result fields of res from the clustering.
func (c *clustering) record(res *model.ExecutionResult, backend string, at model.Time) {
	first := c.parts[0]
	Completed(res, first.res, backend, at)
	if first.feature != "" { // "independent": every feature's clusters
		res.Centroids, res.NumClusters = nil, 0
		res.Stats.HierarchyRelationships = nil
		for _, p := range c.parts {
			var one model.ExecutionResult
			Completed(&one, p.res, backend, at)
			uri := p.feature
			for i := range one.Centroids {
				one.Centroids[i].FeatureURI = &uri
			}
			for _, h := range one.Stats.HierarchyRelationships {
				h.ParentFeatureURI, h.ChildFeatureURI = &uri, &uri
				res.Stats.HierarchyRelationships = append(res.Stats.HierarchyRelationships, h)
			}
			res.Centroids = append(res.Centroids, one.Centroids...)
			res.NumClusters += p.res.NumClusters
			fr := model.FeatureRun{FeatureURI: uri, NumClusters: p.res.NumClusters, NoisePoints: p.res.Stats.NoisePoints,
				ClusterIDs: []string{}, Metrics: MetricsOf(p.res.Metrics), Stats: StatsOf(p.res.Stats)}
			for _, cl := range p.res.Clusters {
				fr.ClusterIDs = append(fr.ClusterIDs, cl.ID)
			}
			res.Stats.Features = append(res.Stats.Features, fr)
		}
		res.Stats.HierarchyRelationships = append(res.Stats.HierarchyRelationships, c.relations...)
		res.Stats.HierarchyDetected = len(res.Stats.HierarchyRelationships) > 0
	}
	for _, p := range c.parts {
		applyLabels(res, p.labels)
		if p.attrs != nil {
			for i := range res.Centroids {
				if a, ok := p.attrs[res.Centroids[i].ClusterID]; ok {
					res.Centroids[i].Attributes = a
				}
			}
		}
	}
	res.Stats.FeatureWeights = c.weights
	if l := c.learning; l != nil {
		res.Stats.LearnedWeights = c.weights
		res.Stats.LearningQualityScore = l.score
		res.Stats.WeightLearning = l.stats
	}
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
// cluster). Each part (feature of an "independent" run) has its own axes;
// its rows carry its feature URI. A run without vectors has no positions,
// vectors or distances. scatters are the parts' projections
// (projectParts), in the order of parts.
func writeArtifacts(ctx context.Context, a *artifacts.Store, runID string, parts []*part, scatters []scatter) error {
	var cents []artifacts.Centroid
	var members []func(int) artifacts.Member
	start := []int{0} // where each part's members start among all
	for i, p := range parts {
		c, n, m := partArtifacts(p, scatters[i])
		cents, members = append(cents, c...), append(members, m)
		start = append(start, start[i]+n)
	}
	part := 0
	return a.WriteFunc(ctx, runID, cents, start[len(parts)], func(i int) artifacts.Member {
		for i >= start[part+1] { // in order: the parts one after the other
			part++
		}
		return members[part](i - start[part])
	})
}

// scatter is a part's scatter-plot coordinates, 3 a point (points, n×3)
// and 3 a cluster of AllClusters (clusters); both nil without vectors.
type scatter struct{ points, clusters []float32 }

// projections are the scatters of a run's parts, or why they failed.
type projections struct {
	scatters []scatter
	err      error
}

// projectParts projects every part's vectors and cluster centroids on the
// first three principal axes of its vectors (engine.FitProjection).
func projectParts(parts []*part) projections {
	out := projections{scatters: make([]scatter, len(parts))}
	for i, p := range parts {
		res := p.res
		v := res.Vectors
		if v.D == 0 || v.N == 0 {
			continue
		}
		proj, err := engine.FitProjection(v.X, v.N, v.D, 3, res.Stats.Seed)
		if err != nil {
			out.err = err
			return out
		}
		if all := res.AllClusters(); len(all) > 0 {
			vecs := make([]float32, 0, len(all)*v.D)
			for _, c := range all {
				vecs = append(vecs, c.Centroid...)
			}
			out.scatters[i].clusters = proj.Transform(vecs, len(all))
		}
		out.scatters[i].points = proj.Transform(v.X, v.N)
	}
	return out
}

// partArtifacts returns a part's centroids, its number of members and
// member(i), its i-th member, made when asked (see artifacts.WriteFunc).
func partArtifacts(p *part, sc scatter) (cents []artifacts.Centroid, n int, member func(i int) artifacts.Member) {
	res := p.res
	v := res.Vectors
	var feature *string
	if p.feature != "" {
		feature = &p.feature
	}
	xyz := func(pos []float32, i int) (x, y, z *float32) {
		if pos == nil {
			return nil, nil, nil
		}
		a, b, c := pos[i*3], pos[i*3+1], pos[i*3+2]
		return &a, &b, &c
	}
	all := res.AllClusters()
	cents = make([]artifacts.Centroid, 0, len(all))
	cpos, pts := sc.clusters, sc.points
	for j, c := range all {
		a := artifacts.Centroid{ClusterID: c.ID, NumMembers: int64(c.Members), Keywords: []string{}, HierarchyLevel: int32(c.Level),
			CentroidVector: c.Centroid, FeatureURI: feature}
		if a.CentroidVector == nil {
			a.CentroidVector = []float32{}
		}
		if !math.IsNaN(c.Variance) && !math.IsInf(c.Variance, 0) && v.D > 0 {
			variance := c.Variance
			a.Variance = &variance
		}
		a.X, a.Y, a.Z = xyz(cpos, j)
		if c.Parent != "" {
			parent := c.Parent
			a.ParentClusterID = &parent
		}
		if l, ok := p.labels[c.ID]; ok {
			a.Label, a.Summary, a.Keywords = l.Label, l.Summary, l.Keywords
		}
		if attrs, ok := p.attrs[c.ID]; ok {
			s := string(mustJSON(attrs))
			a.Attributes = &s
		}
		cents = append(cents, a)
	}
	leaf := res.Labels
	if res.Leaf != nil {
		leaf = res.Leaf
	}
	// The members' optional values point into one array (a member has at
	// most 4), not into an allocation each.
	var vals []float32
	if pts != nil || v.D > 0 {
		vals = make([]float32, 4*len(leaf))
	}
	return cents, len(leaf), func(i int) artifacts.Member {
		m := artifacts.Member{PointID: p.data.IDs[i], ClusterID: model.NoiseClusterID, FeatureURI: feature}
		if pts != nil {
			copy(vals[4*i:4*i+3], pts[3*i:3*i+3])
			m.X, m.Y, m.Z = &vals[4*i], &vals[4*i+1], &vals[4*i+2]
		}
		if l := leaf[i]; l >= 0 {
			c := all[l]
			m.ClusterID = c.ID
			if v.D > 0 {
				if res.Leaf == nil && len(res.Distances) == len(leaf) {
					// The engine's distance to the top-level centroid, from
					// differences (as exactDistance, to float32 rounding).
					vals[4*i+3] = float32(math.Sqrt(float64(max(res.Distances[i], 0))))
				} else {
					vals[4*i+3] = exactDistance(v, i, c.Centroid)
				}
				m.DistanceToCentroid = &vals[4*i+3]
			}
		}
		if res.Probabilities != nil {
			m.Probability = &res.Probabilities[i]
		}
		return m
	}
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
