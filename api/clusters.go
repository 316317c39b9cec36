package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// checkCluster finds what a cluster definition's schema cannot: filters the
// store cannot run, collections that do not exist, features a collection
// lacks, and (with the data already loaded) shapes the data cannot honour.
// It reads the parsed body v, so it runs beside the schema's own problems
// and one 422 lists them all.
func (s *Server) checkCluster(ctx context.Context, ns string, v any, at schema.Path) (schema.Problems, error) {
	o := schema.AsValues(v)
	var ps schema.Problems
	if f, ok := o["filters"].(map[string]any); ok {
		ps = append(ps, store.CheckFilters(store.DocumentFilters, f, at.With("filters"))...)
	}
	vc := o.Obj("vector_config")
	var features []string
	featureLoc := at.With("vector_config", "feature_uris")
	for _, f := range vc.List("feature_uris") {
		if name, ok := f.(string); ok {
			features = append(features, name)
		}
	}
	if len(features) == 0 && vc.Str("feature_uri") != "" {
		features, featureLoc = []string{vc.Str("feature_uri")}, at.With("vector_config", "feature_uri")
	}
	var docs int64
	dim := -1 // the clustered dimension, when the first collection's features are known
	for i, ref := range o.List("collection_ids") {
		name, ok := ref.(string)
		if !ok || name == "" {
			continue
		}
		col, err := s.cfg.Store.GetCollection(ctx, ns, name)
		if errors.Is(err, store.ErrNotFound) {
			ps = append(ps, schema.Problem{Loc: at.With("collection_ids", i), Msg: fmt.Sprintf("collection %s not found", name), Type: "value_error"})
			continue
		} else if err != nil {
			return nil, err
		}
		docs += col.DocumentCount
		d, fps := s.clusteredDim(ctx, col, features, featureLoc, vc.Str("multi_feature_strategy") == model.StrategyIndependent)
		ps = append(ps, fps...)
		if i == 0 {
			dim = d
		}
	}
	// With data already loaded (and no filter narrowing it), shape problems
	// are found now rather than when the run starts.
	if vc != nil && dim > 0 && docs > 0 {
		p := runner.PipelineOf(pipelineFields(vc))
		field, params := algorithmParams(vc)
		spec := engine.Spec{Algorithm: vc.Str("clustering_method"), Params: params, Pipeline: p}
		if err := engine.CheckData(spec, int(docs), dim); err != nil {
			var pe *engine.PipelineError
			var pa *engine.ParamError
			switch {
			case errors.As(err, &pe):
				ps = append(ps, schema.Problem{Loc: at.With("vector_config").With(pe.Path...), Msg: pe.Msg, Type: "value_error"})
			case errors.As(err, &pa) && pa.Param != "" && !o.Has("filters"):
				// The shape of the loaded documents cannot honour a parameter
				// (a filter could only narrow them further).
				ps = append(ps, schema.Problem{Loc: at.With("vector_config", field, pa.Param), Msg: pa.Msg, Type: "value_error"})
			}
		}
		if !o.Has("filters") {
			ps = append(ps, checkClusterCount(vc, docs, at.With("vector_config"))...)
		}
	}
	return ps, nil
}

// algorithmParams returns the field holding the algorithm's parameters
// (algorithm_params, or the deprecated <method>_parameters when only it is
// set) and its JSON (nil when null: every default).
func algorithmParams(vc schema.Values) (string, json.RawMessage) {
	field := "algorithm_params"
	if legacy := vc.Str("clustering_method") + "_parameters"; !vc.Has(field) && vc.Has(legacy) {
		field = legacy
	}
	if !vc.Has(field) {
		return field, nil
	}
	b, err := json.Marshal(vc[field])
	if err != nil {
		return field, nil
	}
	return field, b
}

// pipelineFields reads the pipeline fields of a parsed vector_config (only
// the well-typed ones; the schema reports the others).
func pipelineFields(vc schema.Values) *model.VectorConfig {
	out := &model.VectorConfig{Hierarchical: vc.Bool("hierarchical"), MaxHierarchyDepth: vc.Int("max_hierarchy_depth"),
		EffectiveFeatureMethod: vc.Str("effective_feature_method")}
	if n, ok := vc.IntOK("sample_size"); ok {
		out.SampleSize = &n
	}
	for _, step := range vc.List("preprocessing_steps") {
		if b, err := json.Marshal(step); err == nil {
			out.PreprocessingSteps = append(out.PreprocessingSteps, b)
		}
	}
	return out
}

// checkClusterCount refuses an n_clusters above the documents loaded.
func checkClusterCount(vc schema.Values, docs int64, at schema.Path) schema.Problems {
	method := vc.Str("clustering_method")
	if method != params.KMeans && method != params.MiniBatchKMeans && method != params.Agglomerative {
		return nil
	}
	for _, field := range []string{"algorithm_params", method + "_parameters"} {
		k, ok := vc.Obj(field).IntOK("n_clusters")
		if ok && int64(k) > docs && !(method == params.Agglomerative && vc.Obj(field).Has("distance_threshold")) {
			return schema.Problems{{Loc: at.With(field, "n_clusters"), Type: "value_error",
				Msg: fmt.Sprintf("n_clusters = %d is more than the %d documents loaded in the collections", k, docs)}}
		}
	}
	return nil
}

// clusteredDim is the dimension of the vectors a run would cluster from a
// collection: the sum of the requested features' dimensions (the smallest
// of them when each is clustered on its own), or the only feature's; −1
// when unknown yet (the collection has no vectors). A feature the
// collection lacks while it has others is a problem.
func (s *Server) clusteredDim(ctx context.Context, col store.Collection, features []string, at schema.Path, independent bool) (int, schema.Problems) {
	if len(col.Features) == 0 {
		return -1, nil
	}
	want := features
	if len(want) == 0 {
		want = []string{""}
	}
	dim := 0
	var ps schema.Problems
	for j, name := range want {
		f, err := s.cfg.Store.ResolveFeature(ctx, col.ID, name)
		if err != nil {
			loc := at
			if len(features) > 1 || (len(features) == 1 && at[len(at)-1] == "feature_uris") {
				loc = at.With(j)
			}
			ps = append(ps, schema.Problem{Loc: loc, Type: "value_error", Msg: fmt.Sprintf("collection %s: %v", col.Name, err)})
			dim = -1
			continue
		}
		switch {
		case dim < 0:
		case independent && j > 0:
			dim = min(dim, f.Dim)
		default:
			dim += f.Dim
		}
	}
	return dim, ps
}

// effectiveParams completes the algorithm parameters a cluster's runs use
// (algorithm_params, or the deprecated field of its method) with their
// defaults, so the stored definition says exactly what runs.
func effectiveParams(vc *model.VectorConfig) (json.RawMessage, error) {
	m := params.For(vc.ClusteringMethod)
	if m == nil {
		return nil, nil
	}
	v, ps := m.Decode(vc.Params(), nil)
	if len(ps) > 0 {
		return nil, ps // validated already; kept as a guard
	}
	return json.Marshal(v)
}

func (s *Server) createCluster(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	v, ps, err := s.decode(c, model.CreateClusterRequestModel, false)
	if err != nil {
		return err
	}
	more, err := s.checkCluster(ctx, ns.ID, v, schema.Path{"body"})
	if err != nil {
		return err
	}
	var req model.CreateClusterRequest
	if _, err := finish(model.CreateClusterRequestModel, v, withStoreProblems(ps, more, schema.Path{"body", "filters"}), &req); err != nil {
		return err
	}
	cl, err := s.storeCluster(ctx, ns.ID, &req)
	return s.writeCluster(c, cl, err)
}

// storeCluster stores a validated cluster definition with its effective
// parameters.
func (s *Server) storeCluster(ctx context.Context, ns string, req *model.CreateClusterRequest) (store.Cluster, error) {
	cl, err := buildCluster(ns, req)
	if err != nil {
		return cl, err
	}
	return s.cfg.Store.CreateCluster(ctx, cl)
}

// buildCluster makes the stored form of a validated cluster definition,
// with its effective parameters and a new id.
func buildCluster(ns string, req *model.CreateClusterRequest) (store.Cluster, error) {
	if vc := req.VectorConfig; vc != nil {
		p, err := effectiveParams(vc)
		if err != nil {
			return store.Cluster{}, err
		}
		vc.AlgorithmParams = p
	}
	config, err := json.Marshal(req)
	if err != nil {
		return store.Cluster{}, err
	}
	var name, desc string
	if req.ClusterName != nil {
		name = *req.ClusterName
	}
	if req.Description != nil {
		desc = *req.Description
	}
	return store.Cluster{ID: ids.New("clust_"), NamespaceID: ns, Name: name, Description: desc, Config: config, Metadata: req.Metadata}, nil
}

// writeCluster answers with a cluster, or returns the error that came with it.
func (s *Server) writeCluster(c *gin.Context, cl store.Cluster, err error) error {
	if err != nil {
		return err
	}
	out, err := s.clusterResponse(c.Request.Context(), cl)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// clusterConfig decodes a stored cluster definition.
func clusterConfig(c store.Cluster) (model.CreateClusterRequest, error) {
	cfg, err := model.DecodeClusterConfig(c.Config)
	if err != nil {
		return cfg, fmt.Errorf("stored cluster %s config: %w", c.ID, err)
	}
	return cfg, nil
}

// clusterResponse renders a cluster: its definition, the summary of it
// Mixpeek's ClusterMetadata flattens, and the state of its latest runs.
func (s *Server) clusterResponse(ctx context.Context, c store.Cluster) (model.ClusterMetadata, error) {
	cfg, err := clusterConfig(c)
	if err != nil {
		return model.ClusterMetadata{}, err
	}
	out := model.ClusterMetadata{ClusterID: c.ID, ClusterName: c.Name, ClusterType: cfg.ClusterType, NamespaceID: c.NamespaceID,
		CollectionIDs: cfg.CollectionIDs, InputCollections: []string{}, VectorConfig: cfg.VectorConfig, AttributeConfig: cfg.AttributeConfig,
		Filters: orNull(cfg.Filters), LLMLabeling: cfg.LLMLabeling, EnrichSourceCollection: cfg.EnrichSourceCollection,
		SourceEnrichmentConfig: cfg.SourceEnrichmentConfig, Metadata: c.Metadata, Status: "PENDING",
		OutputCollectionIDs: []string{}, OutputCollectionNames: []string{},
		CreatedAt: model.Time{Time: c.CreatedAt}, UpdatedAt: model.Time{Time: c.UpdatedAt}}
	if out.ClusterName == "" {
		out.ClusterName = c.ID
	}
	if c.Description != "" {
		out.Description = &c.Description
	}
	if len(out.Metadata) == 0 || string(out.Metadata) == "null" {
		out.Metadata = json.RawMessage("{}")
	}
	for _, ref := range cfg.CollectionIDs {
		if col, err := s.cfg.Store.GetCollection(ctx, c.NamespaceID, ref); err == nil {
			out.InputCollections = append(out.InputCollections, col.ID)
		} else {
			out.InputCollections = append(out.InputCollections, ref)
		}
	}
	if vc := cfg.VectorConfig; vc != nil {
		out.Algorithm, out.AlgorithmParams = &vc.ClusteringMethod, orNull(vc.AlgorithmParams)
		out.FeatureURIs = vc.Features()
		out.MultiFeatureStrategy, out.EffectiveFeatureMethod = &vc.MultiFeatureStrategy, &vc.EffectiveFeatureMethod
		out.EnrichSource = vc.EnrichSource
	} else {
		out.AlgorithmParams = json.RawMessage("null")
	}
	if ac := cfg.AttributeConfig; ac != nil {
		method, agg := params.AttributeBased, ac.Aggregation() // the method in effect: most_frequent when null
		out.Algorithm, out.ClusteredAttributes = &method, ac.Attributes
		out.HierarchicalGrouping, out.AggregationMethod = &ac.HierarchicalGrouping, &agg
	}
	outputs, err := s.cfg.Store.ClusterOutputs(ctx, c.ID)
	if err != nil {
		return out, err
	}
	for _, o := range outputs {
		out.OutputCollectionIDs = append(out.OutputCollectionIDs, o.CollectionID)
		out.OutputCollectionNames = append(out.OutputCollectionNames, o.Name)
	}
	if err := s.addRunState(ctx, c, &out); err != nil {
		return out, err
	}
	return out, nil
}

// mustMarshal marshals values of clusterd's own types, which always
// marshal.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("api: marshalling %T: %v", v, err))
	}
	return b
}

// addRunState fills in the fields that come from the cluster's runs.
func (s *Server) addRunState(ctx context.Context, c store.Cluster, out *model.ClusterMetadata) error {
	last, err := s.cfg.Store.LatestRun(ctx, c.NamespaceID, c.ID)
	if err != nil || last == nil {
		return err
	}
	status := taskStatus(*last)
	out.Status, out.TaskID, out.LastExecutionTaskID = status, &last.TaskID, &last.TaskID
	out.LastExecutionStatus = &last.Status
	executed := model.Time{Time: last.CreatedAt}
	if last.StartedAt != nil {
		executed = model.Time{Time: *last.StartedAt}
	}
	out.LastExecutedAt = &executed
	done, err := s.cfg.Store.LatestCompletedRun(ctx, c.NamespaceID, c.ID)
	if err != nil || done == nil {
		return err
	}
	out.LastRunID = &done.RunID
	var res model.ExecutionResult
	if err := json.Unmarshal(done.Result, &res); err != nil {
		return fmt.Errorf("stored run %s: %w", done.RunID, err)
	}
	out.CompletedAt = res.CompletedAt
	if res.CompletedAt != nil {
		secs := res.CompletedAt.Sub(res.CreatedAt.Time).Seconds()
		out.ExecutionTimeSeconds = &secs
	}
	out.NumClusters, out.NumDocumentsClustered = &res.NumClusters, &res.NumPoints
	stats := &model.ClusterStats{NumClusters: res.NumClusters, Extra: map[string]any{}}
	if res.Metrics != nil {
		stats.SilhouetteScore = res.Metrics.SilhouetteScore
		stats.Extra["davies_bouldin_index"] = res.Metrics.DaviesBouldinIndex
		stats.Extra["calinski_harabasz_score"] = res.Metrics.CalinskiHarabaszScore
	}
	if st := res.Stats; st != nil {
		noise := st.NoisePoints
		stats.NoisePoints = &noise
		if len(st.Features) > 0 {
			stats.Extra["features"] = st.Features
		}
		out.LearnedWeights, out.LearningQualityScore = st.LearnedWeights, st.LearningQualityScore
		out.HierarchyDetected = st.HierarchyDetected
		for _, h := range st.HierarchyRelationships {
			var m map[string]any
			if err := json.Unmarshal(mustMarshal(h), &m); err == nil {
				out.HierarchyRelationships = append(out.HierarchyRelationships, m)
			}
		}
	}
	out.ClusterStats = stats
	out.LLMLabelingErrors = res.LLMLabelingErrors
	members := fmt.Sprintf("/v1/clusters/%s/executions/%s/artifacts/members.parquet", c.ID, done.RunID)
	dir := fmt.Sprintf("/v1/clusters/%s/executions/%s/artifacts", c.ID, done.RunID)
	out.MembersKey, out.ParquetPath = &members, &dir
	return nil
}

func (s *Server) getCluster(c *gin.Context) error {
	cl, err := s.cfg.Store.GetCluster(c.Request.Context(), nsOf(c).ID, c.Param("cluster_id"))
	return s.writeCluster(c, cl, err)
}

func (s *Server) patchCluster(c *gin.Context) error {
	ctx := c.Request.Context()
	var req model.PatchClusterRequest
	if _, err := s.bind(c, model.PatchClusterRequestModel, &req, false); err != nil {
		return err
	}
	patch := store.ClusterPatch{Name: req.ClusterName, Description: req.Description}
	if !isNull(req.Metadata) {
		patch.Metadata = req.Metadata
	}
	cl, err := s.cfg.Store.UpdateCluster(ctx, nsOf(c).ID, c.Param("cluster_id"), patch)
	return s.writeCluster(c, cl, err)
}

func isNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}

// deleteCluster cancels the cluster's running run, then deletes the cluster
// with its runs and artifacts.
func (s *Server) deleteCluster(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, c.Param("cluster_id"))
	if err != nil {
		return err
	}
	page, _, err := s.cfg.Store.ListRuns(ctx, ns.ID, cl.ID, store.Query{Filters: json.RawMessage(`{"status":"processing"}`), Limit: maxLimit})
	if err != nil {
		return err
	}
	for _, r := range page.Results {
		if _, err := s.cfg.Store.CancelRun(ctx, ns.ID, cl.ID, r.RunID, failedResult); err == nil {
			s.cfg.Runner.Cancel(r.RunID)
			s.waitFinished(ctx, ns.ID, cl.ID, r.RunID, 5*time.Second)
		}
	}
	runIDs, err := s.runIDs(ctx, ns.ID, cl.ID)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteCluster(ctx, ns.ID, cl.ID); err != nil {
		return err
	}
	// The runs are gone; their artifacts go now (in the data directory the
	// store removed them already). One that fails stays until the next
	// start's sweep: the cluster is deleted either way.
	for _, id := range runIDs {
		if err := s.cfg.Artifacts.Delete(context.WithoutCancel(ctx), id); err != nil {
			s.log.Error("deleting a deleted run's artifacts (the next start sweeps them)", "run_id", id, "err", err)
		}
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "cluster_id": cl.ID, "message": "Successfully deleted"})
	return nil
}

// runIDs lists a cluster's runs, oldest first, as far as list offsets
// reach (store.Query's bounds); the start-up sweep removes the artifacts
// of runs past them.
func (s *Server) runIDs(ctx context.Context, ns, clusterID string) ([]string, error) {
	var ids []string
	for offset := 0; offset <= maxOffset; offset += maxLimit {
		page, _, err := s.cfg.Store.ListRuns(ctx, ns, clusterID, store.Query{Sort: &store.Sort{Field: "created_at", Direction: "asc"}, Limit: maxLimit, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Results {
			ids = append(ids, r.RunID)
		}
		if len(page.Results) < maxLimit {
			break
		}
	}
	return ids, nil
}

func (s *Server) listClusters(c *gin.Context) error {
	ctx := c.Request.Context()
	q, err := s.listQuery(c, model.ListClustersRequest, store.ClusterFilters)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.ListClusters(ctx, nsOf(c).ID, q)
	if err != nil {
		return err
	}
	out := make([]model.ClusterMetadata, len(page.Results))
	stats := model.ClusterListStats{ClustersByStatus: map[string]int{}}
	for i, cl := range page.Results {
		if out[i], err = s.clusterResponse(ctx, cl); err != nil {
			return err
		}
		stats.TotalClusters++
		stats.ClustersByStatus[out[i].Status]++
		if n := out[i].NumDocumentsClustered; n != nil {
			stats.TotalDocuments += *n
		}
	}
	if stats.TotalClusters > 0 {
		stats.AvgDocumentsPerCluster = float64(stats.TotalDocuments) / float64(stats.TotalClusters)
	}
	writeList(c, q, out, page.Total, stats)
	return nil
}

// execute enqueues a run and returns its task at once.
func (s *Server) execute(c *gin.Context) error {
	ctx := c.Request.Context()
	ns := nsOf(c)
	if _, err := s.readBody(c, true); err != nil { // no body expected; an oversized one is still a 413
		return err
	}
	cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, c.Param("cluster_id"))
	if err != nil {
		return err
	}
	key := c.GetHeader("Idempotency-Key")
	if len(key) > 256 {
		return invalid([]any{"header", "Idempotency-Key"}, "at most 256 characters", "string_too_long")
	}
	run, created, err := s.cfg.Store.Enqueue(ctx, store.NewRun{NamespaceID: ns.ID, ClusterID: cl.ID, IdempotencyKey: key,
		Initial: func(runID, taskID string, at time.Time) (json.RawMessage, error) {
			return json.Marshal(model.ExecutionResult{RunID: runID, ClusterID: cl.ID, Status: model.StatusPending, CreatedAt: model.Time{Time: at}})
		}})
	if err != nil {
		return err
	}
	if created {
		s.cfg.Runner.Wake()
	}
	c.JSON(http.StatusOK, taskResponse(run))
	return nil
}

// taskStatus is a run's TaskStatusEnum value.
func taskStatus(r store.Run) string {
	if r.Status == store.StatusFailed && r.ErrorMessage == store.CanceledMessage {
		return "CANCELED"
	}
	return strings.ToUpper(r.Status)
}

// taskResponse renders a run as its task: inputs name what it clusters,
// outputs (when completed) what it produced, error (when failed) why.
func taskResponse(r store.Run) model.TaskResponse {
	status := taskStatus(r)
	t := model.TaskResponse{TaskID: r.TaskID, TaskType: model.TaskTypeClusterBuild, Status: status,
		AdditionalData: map[string]any{"cluster_id": r.ClusterID, "run_id": r.RunID}, CreatedAt: model.Time{Time: r.CreatedAt}, Progress: r.Progress,
		Inputs: []any{r.ClusterID}}
	// updated_at is the last change: the end, else the start, else the
	// creation (the task list's filters and sort read it the same way).
	updated := r.CreatedAt
	if r.CompletedAt != nil {
		updated = *r.CompletedAt
	} else if r.StartedAt != nil {
		updated = *r.StartedAt
	}
	t.UpdatedAt = &model.Time{Time: updated}
	if r.ErrorMessage != "" {
		msg := r.ErrorMessage
		t.ErrorMessage, t.Error = &msg, &msg
		t.AdditionalData["error"] = msg
	}
	if r.Status == store.StatusCompleted {
		var res model.ExecutionResult
		if json.Unmarshal(r.Result, &res) == nil {
			out := map[string]any{"run_id": r.RunID, "cluster_id": r.ClusterID, "num_clusters": res.NumClusters, "num_points": res.NumPoints}
			if res.Metrics != nil {
				out["metrics"] = res.Metrics
			}
			t.Outputs = []any{out}
		}
	}
	return t
}

func (s *Server) getTask(c *gin.Context) error {
	r, err := s.cfg.Store.GetTask(c.Request.Context(), nsOf(c).ID, c.Param("task_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, taskResponse(r))
	return nil
}

// enrich writes cluster assignments into documents' payloads.
func (s *Server) enrich(c *gin.Context) error {
	ctx := c.Request.Context()
	var req model.EnrichRequest
	if _, err := s.bind(c, model.EnrichRequestModel, &req, false); err != nil {
		return err
	}
	ns := nsOf(c)
	src, err := s.cfg.Store.GetCollection(ctx, ns.ID, req.SourceCollectionID)
	if err != nil {
		return err
	}
	target := src
	if req.TargetCollectionID != nil {
		if target, err = s.cfg.Store.GetCollection(ctx, ns.ID, *req.TargetCollectionID); err != nil {
			return err
		}
	}
	var runs []store.Run
	for i, id := range req.IDs() {
		var r store.Run
		if strings.HasPrefix(id, "run_") {
			if r, err = s.cfg.Store.RunInNamespace(ctx, ns.ID, id); err != nil {
				return err
			}
			if r.Status != store.StatusCompleted {
				return &Error{Status: http.StatusConflict, Code: "run_not_completed", Message: "run " + id + " is " + r.Status,
					Details: map[string]any{"run_id": id, "status": r.Status}}
			}
		} else {
			cl, err := s.cfg.Store.GetCluster(ctx, ns.ID, id)
			if err != nil {
				return err
			}
			latest, err := s.cfg.Store.LatestCompletedRun(ctx, ns.ID, cl.ID)
			if err != nil {
				return err
			}
			if latest == nil {
				return invalid([]any{"body", "clustering_ids", i}, "cluster "+cl.ID+" has no completed run", "value_error")
			}
			r = *latest
		}
		runs = append(runs, r)
	}
	out, err := s.cfg.Runner.Enrich(ctx, ns.ID, runs, target.ID, req.BatchSize)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}
