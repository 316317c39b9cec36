package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/store"
)

// clusterOf resolves the :cluster_id of the path (id or name) in the
// request's namespace.
func (s *Server) clusterOf(c *gin.Context) (store.Cluster, error) {
	return s.cfg.Store.GetCluster(c.Request.Context(), nsOf(c).ID, c.Param("cluster_id"))
}

// latestExecution is the seed's endpoint: the newest run's
// ClusterExecutionResult, or null when the cluster never ran.
func (s *Server) latestExecution(c *gin.Context) error {
	res, err := s.cfg.Store.LatestResult(c.Request.Context(), nsOf(c).ID, c.Param("cluster_id"))
	if err != nil {
		return err
	}
	if res == nil {
		res = json.RawMessage("null")
	}
	c.Data(http.StatusOK, "application/json", res)
	return nil
}

func (s *Server) getExecution(c *gin.Context) error {
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	r, err := s.cfg.Store.GetRun(c.Request.Context(), cl.NamespaceID, cl.ID, c.Param("run_id"))
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/json", r.Result)
	return nil
}

func (s *Server) listExecutions(c *gin.Context) error {
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	q, err := s.listQuery(c, model.ListClusterExecutionsRequest, store.RunFilters)
	if err != nil {
		return err
	}
	page, stats, err := s.cfg.Store.ListRuns(c.Request.Context(), cl.NamespaceID, cl.ID, q)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, len(page.Results))
	for i, r := range page.Results {
		out[i] = r.Result
	}
	writeRawList(c, q, out, page.Total, stats)
	return nil
}

// failedResult renders the ExecutionResult of a run canceled while pending.
func failedResult(r store.Run) (json.RawMessage, error) {
	var res model.ExecutionResult
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return nil, err
	}
	res.Failed(r.ErrorMessage, model.Time{Time: *r.CompletedAt})
	return json.Marshal(res)
}

// cancelExecution stops a pending or processing run; the run ends failed
// with error_message "canceled". A processing run is interrupted at once
// when this process runs it (the flag reaches other processes with their
// next heartbeat); the response waits briefly for it to stop.
func (s *Server) cancelExecution(c *gin.Context) error {
	ctx := c.Request.Context()
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	runID := c.Param("run_id")
	r, err := s.cfg.Store.CancelRun(ctx, cl.NamespaceID, cl.ID, runID, failedResult)
	if err != nil {
		return err
	}
	if r.Status == store.StatusProcessing {
		s.cfg.Runner.Cancel(runID)
		if r, err = s.waitFinished(ctx, cl.NamespaceID, cl.ID, runID, 5*time.Second); err != nil {
			return err
		}
	}
	c.Data(http.StatusOK, "application/json", r.Result)
	return nil
}

// waitFinished polls a run until it is completed or failed, or the timeout.
func (s *Server) waitFinished(ctx context.Context, ns, clusterID, runID string, timeout time.Duration) (store.Run, error) {
	deadline := time.Now().Add(timeout)
	for {
		r, err := s.cfg.Store.GetRun(ctx, ns, clusterID, runID)
		if err != nil || r.Status == store.StatusCompleted || r.Status == store.StatusFailed || time.Now().After(deadline) {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ArtifactCentroid is a centroid with its scatter-plot position (x, y and
// variance null when the run had no vectors); feature_uri names the
// feature of an "independent" run's cluster, attributes an attribute
// cluster's values.
type ArtifactCentroid struct {
	ClusterID       string         `json:"cluster_id"`
	NumMembers      int64          `json:"num_members"`
	Label           *string        `json:"label"`
	Summary         *string        `json:"summary"`
	Keywords        []string       `json:"keywords"`
	Variance        *float64       `json:"variance"`
	X               *float32       `json:"x"`
	Y               *float32       `json:"y"`
	Z               *float32       `json:"z,omitempty"`
	ParentClusterID *string        `json:"parent_cluster_id"`
	HierarchyLevel  int32          `json:"hierarchy_level"`
	FeatureURI      *string        `json:"feature_uri,omitempty"`
	Attributes      map[string]any `json:"attributes,omitempty"`
}

// ArtifactMember is a point with its scatter-plot position (null when the
// run had no vectors); an "independent" run lists each document once per
// feature, feature_uri saying which.
type ArtifactMember struct {
	PointID            string   `json:"point_id"`
	ClusterID          string   `json:"cluster_id"`
	X                  *float32 `json:"x"`
	Y                  *float32 `json:"y"`
	Z                  *float32 `json:"z,omitempty"`
	DistanceToCentroid *float32 `json:"distance_to_centroid"`
	FeatureURI         *string  `json:"feature_uri,omitempty"`
}

// ArtifactsResponse is the artifacts endpoints' body.
type ArtifactsResponse struct {
	RunID            string             `json:"run_id"`
	ClusterID        string             `json:"cluster_id"`
	ProjectionMethod string             `json:"projection_method"`
	Centroids        []ArtifactCentroid `json:"centroids"`
	Members          []ArtifactMember   `json:"members"`
	TotalMembers     int                `json:"total_members"`
}

func (s *Server) latestArtifacts(c *gin.Context) error {
	cl, err := s.clusterOf(c)
	if err != nil {
		return err
	}
	r, err := s.cfg.Store.LatestCompletedRun(c.Request.Context(), cl.NamespaceID, cl.ID)
	if err != nil {
		return err
	}
	if r == nil {
		return &Error{Status: http.StatusNotFound, Code: "artifacts_not_found", Message: "cluster " + cl.ID + " has no completed run",
			Details: map[string]any{"resource": "artifacts", "id": cl.ID}}
	}
	return s.artifacts(c, *r)
}

func (s *Server) getArtifacts(c *gin.Context) error {
	r, err := s.completedRun(c)
	if err != nil {
		return err
	}
	return s.artifacts(c, r)
}

// completedRun finds the path's run and requires it to be completed.
func (s *Server) completedRun(c *gin.Context) (store.Run, error) {
	cl, err := s.clusterOf(c)
	if err != nil {
		return store.Run{}, err
	}
	r, err := s.cfg.Store.GetRun(c.Request.Context(), cl.NamespaceID, cl.ID, c.Param("run_id"))
	if err != nil {
		return r, err
	}
	if r.Status != store.StatusCompleted {
		return r, &Error{Status: http.StatusConflict, Code: "run_not_completed", Message: "run " + r.RunID + " is " + r.Status + "; artifacts exist for completed runs",
			Details: map[string]any{"run_id": r.RunID, "status": r.Status}}
	}
	return r, nil
}

func queryBool(c *gin.Context, name string, def bool) (bool, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid([]any{"query", name}, "Input should be a valid boolean", "bool_parsing")
	}
	return b, nil
}

// artifacts serves centroids and (optionally) members with 2-D or 3-D
// coordinates for scatter plots.
func (s *Server) artifacts(c *gin.Context, r store.Run) error {
	withCentroids, err := queryBool(c, "include_centroids", true)
	if err != nil {
		return err
	}
	withMembers, err := queryBool(c, "include_members", false)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 1000, 1, 1000000)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	proj := c.DefaultQuery("projection_method", "2d")
	if proj != "2d" && proj != "3d" {
		return invalid([]any{"query", "projection_method"}, "Input should be '2d' or '3d'", "literal_error")
	}
	dir := s.cfg.Store.RunDir(r.RunID)
	out := ArtifactsResponse{RunID: r.RunID, ClusterID: r.ClusterID, ProjectionMethod: proj, Centroids: []ArtifactCentroid{}, Members: []ArtifactMember{}}
	labels := executionLabels(r.Result)
	if withCentroids {
		cents, err := artifacts.ReadCentroids(dir)
		if err != nil {
			return artifactError(err, r.RunID)
		}
		for _, ct := range cents {
			a := ArtifactCentroid{ClusterID: ct.ClusterID, NumMembers: ct.NumMembers, Label: ct.Label, Summary: ct.Summary, Keywords: ct.Keywords,
				Variance: ct.Variance, X: ct.X, Y: ct.Y, ParentClusterID: ct.ParentClusterID, HierarchyLevel: ct.HierarchyLevel,
				FeatureURI: ct.FeatureURI, Attributes: attributesOf(ct)}
			if l, ok := labels[ct.ClusterID]; ok {
				a.Label, a.Summary, a.Keywords = l.Label, l.Summary, l.Keywords
			}
			if proj == "3d" {
				a.Z = ct.Z
			}
			out.Centroids = append(out.Centroids, a)
		}
	}
	members, total, err := artifacts.ReadMembers(dir, offset, limit*boolInt(withMembers))
	if err != nil {
		return artifactError(err, r.RunID)
	}
	out.TotalMembers = total
	for _, m := range members {
		a := ArtifactMember{PointID: m.PointID, ClusterID: m.ClusterID, X: m.X, Y: m.Y, DistanceToCentroid: m.DistanceToCentroid, FeatureURI: m.FeatureURI}
		if proj == "3d" {
			a.Z = m.Z
		}
		out.Members = append(out.Members, a)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// attributesOf reads an attribute cluster's values from its centroid row.
func attributesOf(ct artifacts.Centroid) map[string]any {
	if ct.Attributes == nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal([]byte(*ct.Attributes), &out) != nil {
		return nil
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// executionLabels reads the labels the run's result carries (labeling
// writes them there; the Parquet centroids are written before labeling
// finishes).
func executionLabels(result json.RawMessage) map[string]model.ExecutionCentroid {
	var res model.ExecutionResult
	out := map[string]model.ExecutionCentroid{}
	if json.Unmarshal(result, &res) != nil {
		return out
	}
	for _, c := range res.Centroids {
		if c.Label != nil || c.Keywords != nil {
			out[c.ClusterID] = c
		}
	}
	return out
}

func artifactError(err error, runID string) error {
	if errors.Is(err, artifacts.ErrMissing) {
		return &Error{Status: http.StatusNotFound, Code: "artifacts_not_found", Message: "run " + runID + " has no artifacts",
			Details: map[string]any{"resource": "artifacts", "id": runID}}
	}
	return err
}

// downloadArtifact serves centroids.parquet or members.parquet.
func (s *Server) downloadArtifact(c *gin.Context) error {
	r, err := s.completedRun(c)
	if err != nil {
		return err
	}
	path, err := artifacts.Path(s.cfg.Store.RunDir(r.RunID), c.Param("file"))
	if err != nil {
		return artifactError(err, r.RunID)
	}
	c.Header("Content-Type", "application/vnd.apache.parquet")
	c.Header("Content-Disposition", `attachment; filename="`+r.RunID+"-"+c.Param("file")+`"`)
	c.File(path)
	return nil
}

// DataRequest is POST …/executions/{run_id}/data.
type DataRequest struct {
	IncludeCentroids bool `json:"include_centroids"`
	IncludeMembers   bool `json:"include_members"`
	Offset           int  `json:"offset"`
	Limit            int  `json:"limit"`
}

// DataRequestModel declares DataRequest.
var DataRequestModel = schema.Model("DataRequest", "Which data of a completed run to page through.",
	schema.F("include_centroids", schema.Bool()).Def(true),
	schema.F("include_members", schema.Bool()).Def(true),
	schema.F("offset", schema.Int().Min(0)).Def(0).Describe("First member of the page"),
	schema.F("limit", schema.Int().Min(1).Max(100000)).Def(1000).Describe("Members on the page"),
)

// DataCentroid is a centroid with its vector.
type DataCentroid struct {
	ClusterID      string         `json:"cluster_id"`
	ClusterLabel   string         `json:"cluster_label"`
	CentroidVector []float32      `json:"centroid_vector"`
	NumMembers     int64          `json:"num_members"`
	Metadata       map[string]any `json:"metadata"`
}

// DataMember is one clustered document (coordinates null when the run had
// no vectors; an "independent" run lists each document once per feature,
// metadata.feature_uri saying which).
type DataMember struct {
	DocumentID         string         `json:"document_id"`
	ClusterID          string         `json:"cluster_id"`
	ClusterLabel       string         `json:"cluster_label"`
	DistanceToCentroid *float32       `json:"distance_to_centroid"`
	Coordinates        []float32      `json:"coordinates"`
	Metadata           map[string]any `json:"metadata"`
}

// DataResponse is the data endpoint's body.
type DataResponse struct {
	ClusterID     string         `json:"cluster_id"`
	RunID         string         `json:"run_id"`
	Centroids     []DataCentroid `json:"centroids"`
	Members       []DataMember   `json:"members"`
	TotalClusters int            `json:"total_clusters"`
	TotalMembers  int            `json:"total_members"`
	Offset        int            `json:"offset"`
	Limit         int            `json:"limit"`
}

func (s *Server) executionData(c *gin.Context) error {
	var req DataRequest
	if _, err := s.bind(c, DataRequestModel, &req, true); err != nil {
		return err
	}
	r, err := s.completedRun(c)
	if err != nil {
		return err
	}
	limit := req.Limit
	dir := s.cfg.Store.RunDir(r.RunID)
	cents, err := artifacts.ReadCentroids(dir)
	if err != nil {
		return artifactError(err, r.RunID)
	}
	labels := executionLabels(r.Result)
	name := func(id string) string {
		if l, ok := labels[id]; ok && l.Label != nil {
			return *l.Label
		}
		return id
	}
	out := DataResponse{ClusterID: r.ClusterID, RunID: r.RunID, Centroids: []DataCentroid{}, Members: []DataMember{}, TotalClusters: len(cents), Offset: req.Offset, Limit: limit}
	if req.IncludeCentroids {
		for _, ct := range cents {
			meta := map[string]any{"variance": ct.Variance, "hierarchy_level": ct.HierarchyLevel, "parent_cluster_id": ct.ParentClusterID}
			if ct.FeatureURI != nil {
				meta["feature_uri"] = *ct.FeatureURI
			}
			if a := attributesOf(ct); a != nil {
				meta["attributes"] = a
			}
			out.Centroids = append(out.Centroids, DataCentroid{ClusterID: ct.ClusterID, ClusterLabel: name(ct.ClusterID), CentroidVector: ct.CentroidVector,
				NumMembers: ct.NumMembers, Metadata: meta})
		}
	}
	withMembers := req.IncludeMembers
	members, total, err := artifacts.ReadMembers(dir, req.Offset, limit*boolInt(withMembers))
	if err != nil {
		return artifactError(err, r.RunID)
	}
	out.TotalMembers = total
	for _, m := range members {
		dm := DataMember{DocumentID: m.PointID, ClusterID: m.ClusterID, ClusterLabel: name(m.ClusterID),
			DistanceToCentroid: m.DistanceToCentroid, Metadata: map[string]any{}}
		if m.X != nil && m.Y != nil && m.Z != nil {
			dm.Coordinates = []float32{*m.X, *m.Y, *m.Z}
		}
		if m.FeatureURI != nil {
			dm.Metadata["feature_uri"] = *m.FeatureURI
		}
		out.Members = append(out.Members, dm)
	}
	c.JSON(http.StatusOK, out)
	return nil
}
