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
	"github.com/clusterd/clusterd/store"
)

// validateClusterRequest checks what the binding tags cannot: the
// algorithm and its parameters (with the engine's own parser), the filters,
// the metadata's type, and that the collections exist.
func (s *Server) validateClusterRequest(ctx context.Context, ns string, req *model.CreateClusterRequest) error {
	vc := req.VectorConfig
	if vc == nil {
		return invalid([]any{"body", "vector_config"}, "Field required", "missing")
	}
	if _, err := engine.ParseParams(vc.ClusteringMethod, vc.AlgorithmParams); err != nil {
		if errors.Is(err, engine.ErrUnknownAlgorithm) {
			return invalid([]any{"body", "vector_config", "clustering_method"},
				fmt.Sprintf("clustering_method %q is not supported (supported: %s)", vc.ClusteringMethod, strings.Join(engine.Algorithms(), ", ")), "literal_error")
		}
		return paramValidation(err)
	}
	if err := engine.CheckPipeline(vc.Pipeline()); err != nil {
		return pipelineValidation(err)
	}
	if len(vc.FeatureWeights) > 0 && len(vc.FeatureWeights) != len(vc.Features()) {
		return invalid([]any{"body", "vector_config", "feature_weights"},
			fmt.Sprintf("%d weights for %d features", len(vc.FeatureWeights), len(vc.Features())), "value_error")
	}
	if err := store.ValidateDocumentFilters(req.Filters); err != nil {
		return err
	}
	if !isObject(req.Metadata) && string(req.Metadata) != "null" {
		return invalid([]any{"body", "metadata"}, "Input should be a valid dictionary", "dict_type")
	}
	var docs int64
	dim := -1 // the clustered dimension, when the first collection's features are known
	for i, cid := range req.CollectionIDs {
		col, err := s.cfg.Store.GetCollection(ctx, ns, cid)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return invalid([]any{"body", "collection_ids", i}, fmt.Sprintf("collection %s not found", cid), "value_error")
			}
			return err
		}
		docs += col.DocumentCount
		if i == 0 {
			dim = s.clusteredDim(ctx, col.ID, vc.Features())
		}
	}
	// With data already loaded, shape problems (n_components above the
	// dimension, a sample larger than the collections) are caught now.
	if dim > 0 && docs > 0 {
		if err := engine.CheckPipelineData(vc.Pipeline(), int(docs), dim); err != nil {
			return pipelineValidation(err)
		}
	}
	return nil
}

// clusteredDim is the dimension of the vectors a run would cluster from a
// collection: the sum of the requested features' dimensions (concatenated),
// or the only feature's; −1 when a feature is not there yet.
func (s *Server) clusteredDim(ctx context.Context, collectionID string, features []string) int {
	if len(features) == 0 {
		features = []string{""}
	}
	dim := 0
	for _, want := range features {
		f, err := s.cfg.Store.ResolveFeature(ctx, collectionID, want)
		if err != nil {
			return -1
		}
		dim += f.Dim
	}
	return dim
}

// paramValidation turns engine parameter errors into 422 items located at
// vector_config.algorithm_params.NAME.
func paramValidation(err error) error {
	var pes engine.ParamErrors
	var pe *engine.ParamError
	if errors.As(err, &pe) {
		pes = engine.ParamErrors{pe}
	} else if !errors.As(err, &pes) {
		return err
	}
	out := &ValidationError{}
	for _, e := range pes {
		loc := []any{"body", "vector_config", "algorithm_params"}
		if e.Param != "" {
			loc = append(loc, e.Param)
		}
		typ := "value_error"
		switch e.Kind {
		case "unknown":
			typ = "extra_forbidden"
		case "type":
			typ = "type_error"
		case "enum":
			typ = "literal_error"
		}
		out.Items = append(out.Items, ValidationItem{Loc: loc, Msg: e.Msg, Type: typ})
	}
	return out
}

// pipelineValidation locates pipeline errors in vector_config.
func pipelineValidation(err error) error {
	var pe *engine.PipelineError
	if !errors.As(err, &pe) {
		return err
	}
	return invalid(append([]any{"body", "vector_config"}, pe.Path...), pe.Msg, "value_error")
}

func (s *Server) clusterResponse(ctx context.Context, c store.Cluster) (model.ClusterMetadata, error) {
	var cfg model.CreateClusterRequest
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return model.ClusterMetadata{}, fmt.Errorf("stored cluster %s config: %w", c.ID, err)
	}
	out := model.ClusterMetadata{ClusterID: c.ID, ClusterType: cfg.ClusterType, CollectionIDs: cfg.CollectionIDs, VectorConfig: cfg.VectorConfig,
		Filters: orNull(cfg.Filters), LLMLabeling: cfg.LLMLabeling, EnrichSourceCollection: cfg.EnrichSourceCollection,
		SourceEnrichmentConfig: cfg.SourceEnrichmentConfig, Metadata: orNull(c.Metadata), NamespaceID: c.NamespaceID,
		CreatedAt: model.Time{Time: c.CreatedAt}, UpdatedAt: model.Time{Time: c.UpdatedAt}}
	if c.Name != "" {
		out.ClusterName = &c.Name
	}
	if c.Description != "" {
		out.Description = &c.Description
	}
	last, err := s.cfg.Store.LatestRun(ctx, c.NamespaceID, c.ID)
	if err != nil {
		return out, err
	}
	if last != nil {
		out.LastExecutionStatus, out.LastRunID = &last.Status, &last.RunID
	}
	return out, nil
}

func (s *Server) createCluster(c *gin.Context) error {
	ctx := c.Request.Context()
	var req model.CreateClusterRequest
	if err := s.bindJSON(c, &req, false); err != nil {
		return err
	}
	ns := nsOf(c)
	if err := s.validateClusterRequest(ctx, ns.ID, &req); err != nil {
		return err
	}
	if req.ClusterType == "" {
		req.ClusterType = "vector"
	}
	meta := req.Metadata
	config, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cl, err := s.cfg.Store.CreateCluster(ctx, store.Cluster{ID: ids.New("clust_"), NamespaceID: ns.ID, Name: req.ClusterName,
		Description: req.Description, Config: config, Metadata: meta})
	return s.writeCluster(c, cl, err)
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

func (s *Server) getCluster(c *gin.Context) error {
	cl, err := s.cfg.Store.GetCluster(c.Request.Context(), nsOf(c).ID, c.Param("cluster_id"))
	return s.writeCluster(c, cl, err)
}

// PatchClusterRequest is PATCH /v1/clusters/{id}.
type PatchClusterRequest struct {
	ClusterName *string         `json:"cluster_name,omitempty" binding:"omitempty,min=1,max=256"`
	Description *string         `json:"description,omitempty" binding:"omitempty,max=4096"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

func (s *Server) patchCluster(c *gin.Context) error {
	ctx := c.Request.Context()
	var req PatchClusterRequest
	if err := s.bindJSON(c, &req, false); err != nil {
		return err
	}
	if !isObject(req.Metadata) {
		return invalid([]any{"body", "metadata"}, "Input should be a valid dictionary", "dict_type")
	}
	cl, err := s.cfg.Store.UpdateCluster(ctx, nsOf(c).ID, c.Param("cluster_id"), store.ClusterPatch{Name: req.ClusterName, Description: req.Description, Metadata: req.Metadata})
	return s.writeCluster(c, cl, err)
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
	if err := s.cfg.Store.DeleteCluster(ctx, ns.ID, cl.ID); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "cluster_id": cl.ID})
	return nil
}

func (s *Server) listClusters(c *gin.Context) error {
	ctx := c.Request.Context()
	q, err := s.listQuery(c)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.ListClusters(ctx, nsOf(c).ID, q)
	if err != nil {
		return err
	}
	out := make([]model.ClusterMetadata, len(page.Results))
	for i, cl := range page.Results {
		if out[i], err = s.clusterResponse(ctx, cl); err != nil {
			return err
		}
	}
	writeList(c, q, out, len(out), page.Total, nil)
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

// taskResponse renders a run as its task.
func taskResponse(r store.Run) model.TaskResponse {
	status := strings.ToUpper(r.Status)
	if r.Status == store.StatusFailed && r.ErrorMessage == store.CanceledMessage {
		status = "CANCELED"
	}
	t := model.TaskResponse{TaskID: r.TaskID, TaskType: model.TaskTypeClusterBuild, Status: status,
		AdditionalData: map[string]any{"cluster_id": r.ClusterID, "run_id": r.RunID}, CreatedAt: model.Time{Time: r.CreatedAt}, Progress: r.Progress}
	if r.CompletedAt != nil {
		t.UpdatedAt = &model.Time{Time: *r.CompletedAt}
	} else if r.StartedAt != nil {
		t.UpdatedAt = &model.Time{Time: *r.StartedAt}
	}
	if r.ErrorMessage != "" {
		t.ErrorMessage = &r.ErrorMessage
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
	if err := s.bindJSON(c, &req, false); err != nil {
		return err
	}
	ns := nsOf(c)
	src, err := s.cfg.Store.GetCollection(ctx, ns.ID, req.SourceCollectionID)
	if err != nil {
		return err
	}
	target := src
	if req.TargetCollectionID != "" {
		if target, err = s.cfg.Store.GetCollection(ctx, ns.ID, req.TargetCollectionID); err != nil {
			return err
		}
	}
	var runs []store.Run
	for i, id := range req.ClusteringIDs {
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
