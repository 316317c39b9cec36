package api

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/blob"
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
	// SampleSeed is the seed of a sample (query sample=N): members are then
	// min(N, total_members) members drawn uniformly, in file order.
	SampleSeed *uint64 `json:"sample_seed,omitempty"`
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
// coordinates for scatter plots: a page of members (limit, offset) or a
// seeded uniform sample of them (sample, seed).
func (s *Server) artifacts(c *gin.Context, r store.Run) error {
	var problems []ValidationItem
	collect := func(err error) error {
		var ve *ValidationError
		if errors.As(err, &ve) {
			problems = append(problems, ve.Items...)
			return nil
		}
		return err
	}
	withCentroids, err := queryBool(c, "include_centroids", true)
	if err = collect(err); err != nil {
		return err
	}
	withMembers, err := queryBool(c, "include_members", false)
	if err = collect(err); err != nil {
		return err
	}
	ints, err := queryInts(c, queryIntSpec{"limit", 1000, 1, 1000000}, queryIntSpec{"offset", 0, 0, 1<<31 - 1},
		queryIntSpec{"sample", 0, 1, 1000000}, queryIntSpec{"seed", 0, 0, 1<<53 - 1})
	if err = collect(err); err != nil {
		return err
	}
	limit, offset, sample, seed := 0, 0, 0, 0
	if ints != nil {
		limit, offset, sample, seed = ints[0], ints[1], ints[2], ints[3]
	}
	if c.Query("sample") != "" {
		for _, q := range []string{"limit", "offset"} {
			if c.Query(q) != "" {
				problems = append(problems, ValidationItem{Loc: []any{"query", q}, Msg: "sample draws from every member; use sample or limit and offset, not both", Type: "value_error"})
			}
		}
	} else if c.Query("seed") != "" {
		problems = append(problems, ValidationItem{Loc: []any{"query", "seed"}, Msg: "seed is the seed of sample; give sample too", Type: "value_error"})
	}
	proj := c.DefaultQuery("projection_method", "2d")
	if proj != "2d" && proj != "3d" {
		problems = append(problems, ValidationItem{Loc: []any{"query", "projection_method"}, Msg: "Input should be '2d' or '3d'", Type: "literal_error"})
	}
	if problems != nil {
		return &ValidationError{Items: problems}
	}
	ctx, arts := c.Request.Context(), s.cfg.Artifacts
	out := ArtifactsResponse{RunID: r.RunID, ClusterID: r.ClusterID, ProjectionMethod: proj, Centroids: []ArtifactCentroid{}, Members: []ArtifactMember{}}
	labels := executionLabels(r.Result)
	if withCentroids {
		cents, err := arts.ReadCentroids(ctx, r.ArtifactsKey())
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
	var members []artifacts.Member
	var total int
	if sample > 0 && withMembers {
		all, n, err := arts.ReadMembers(ctx, r.ArtifactsKey(), 0, -1)
		if err != nil {
			return artifactError(err, r.RunID)
		}
		members, total = sampleMembers(all, sample, uint64(seed)), n
		s64 := uint64(seed)
		out.SampleSeed = &s64
	} else {
		if sample > 0 {
			limit = 0 // counts only
		}
		if members, total, err = arts.ReadMembers(ctx, r.ArtifactsKey(), offset, limit*boolInt(withMembers)); err != nil {
			return artifactError(err, r.RunID)
		}
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

// sampleMembers draws min(n, len(all)) members uniformly without
// replacement, in file order (Knuth's selection sampling, algorithm S: row
// i is kept with probability still-needed / rows-left), from a PCG stream
// seeded with seed, so the same run, n and seed always give the same rows.
func sampleMembers(all []artifacts.Member, n int, seed uint64) []artifacts.Member {
	if n >= len(all) {
		return all
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed5a3d1e))
	out := make([]artifacts.Member, 0, n)
	for i := range all {
		if need, left := n-len(out), len(all)-i; need > 0 && rng.IntN(left) < need {
			out = append(out, all[i])
		}
	}
	return out
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

// downloadArtifact serves centroids.parquet or members.parquet, streamed
// from the artifacts' bucket (Range requests answered, Last-Modified set).
func (s *Server) downloadArtifact(c *gin.Context) error {
	r, err := s.completedRun(c)
	if err != nil {
		return err
	}
	o, err := s.cfg.Artifacts.Open(c.Request.Context(), r.ArtifactsKey(), c.Param("file"))
	if err != nil {
		return artifactError(err, r.RunID)
	}
	defer o.Close()
	c.Header("Content-Type", "application/vnd.apache.parquet")
	c.Header("Content-Disposition", `attachment; filename="`+r.RunID+"-"+c.Param("file")+`"`)
	http.ServeContent(c.Writer, c.Request, c.Param("file"), o.ModTime(), blob.Reader(o))
	return nil
}

// DataRequest is POST …/executions/{run_id}/data.
type DataRequest struct {
	IncludeCentroids bool `json:"include_centroids"`
	IncludeMembers   bool `json:"include_members"`
	Offset           int  `json:"offset"`
	Limit            int  `json:"limit"`
	// clusterd extensions: filters (nil: every member) and the first line
	// of each member's text.
	ClusterIDs  []string `json:"cluster_ids"`
	DocumentIDs []string `json:"document_ids"`
	IncludeText bool     `json:"include_text"`
}

// DataRequestModel declares DataRequest.
var DataRequestModel = schema.Model("DataRequest", "Which data of a completed run to page through.",
	schema.F("include_centroids", schema.Bool()).Def(true),
	schema.F("include_members", schema.Bool()).Def(true),
	schema.F("offset", schema.Int().Min(0)).Def(0).Describe("First member of the page"),
	schema.F("limit", schema.Int().Min(1).Max(100000)).Def(1000).Describe("Members on the page"),
	schema.F("cluster_ids", schema.List(schema.Str()).MaxLen(10000).OrNull()).Def(nil).Ext().
		Describe("Only members of these clusters (cl_-1: the noise points); offset, limit and total_members count those members"),
	schema.F("document_ids", schema.List(schema.Str()).MaxLen(1000).OrNull()).Def(nil).Ext().
		Describe("Only these documents' members (at most 1,000 ids); offset, limit and total_members count those members"),
	schema.F("include_text", schema.Bool()).Def(false).Ext().
		Describe("Add metadata.first_line to each member: the first non-blank line of the document's text (the labeling text: payload.text, or llm_labeling's payload input paths), at most 200 characters; null when it has none"),
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
	ctx, arts := c.Request.Context(), s.cfg.Artifacts
	cents, err := arts.ReadCentroids(ctx, r.ArtifactsKey())
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
	var members []artifacts.Member
	var total int
	if req.ClusterIDs == nil && req.DocumentIDs == nil {
		members, total, err = arts.ReadMembers(ctx, r.ArtifactsKey(), req.Offset, limit*boolInt(withMembers))
	} else {
		members, total, err = filteredMembers(ctx, arts, r.ArtifactsKey(), req, limit*boolInt(withMembers))
	}
	if err != nil {
		return artifactError(err, r.RunID)
	}
	var texts map[string]string
	if req.IncludeText && len(members) > 0 {
		if texts, err = s.firstLines(ctx, r, members); err != nil {
			return err
		}
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
		if req.IncludeText {
			if t, ok := texts[m.PointID]; ok {
				dm.Metadata["first_line"] = t
			} else {
				dm.Metadata["first_line"] = nil
			}
		}
		out.Members = append(out.Members, dm)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// filteredMembers pages through the members that pass req's cluster_ids
// and document_ids filters, returning the page and how many pass.
func filteredMembers(ctx context.Context, arts *artifacts.Store, key string, req DataRequest, limit int) ([]artifacts.Member, int, error) {
	all, _, err := arts.ReadMembers(ctx, key, 0, -1)
	if err != nil {
		return nil, 0, err
	}
	set := func(ids []string) map[string]bool {
		if ids == nil {
			return nil
		}
		m := make(map[string]bool, len(ids))
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	clusters, docs := set(req.ClusterIDs), set(req.DocumentIDs)
	kept := all[:0]
	for _, m := range all {
		if (clusters == nil || clusters[m.ClusterID]) && (docs == nil || docs[m.PointID]) {
			kept = append(kept, m)
		}
	}
	if req.Offset >= len(kept) {
		return []artifacts.Member{}, len(kept), nil
	}
	return kept[req.Offset:min(len(kept), req.Offset+limit)], len(kept), nil
}

// maxFirstLine bounds metadata.first_line, in characters.
const maxFirstLine = 200

// firstLines finds the first non-blank line of each member's document
// text, looking in the cluster's collections in their configured order (a
// document id found in an earlier collection wins). The text is what
// labeling reads: payload.text, or llm_labeling's payload input paths.
func (s *Server) firstLines(ctx context.Context, r store.Run, members []artifacts.Member) (map[string]string, error) {
	cl, err := s.cfg.Store.GetCluster(ctx, r.NamespaceID, r.ClusterID)
	if err != nil {
		return nil, err
	}
	cfg, err := clusterConfig(cl)
	if err != nil {
		return nil, err
	}
	var paths []string
	if l := cfg.LLMLabeling; l != nil && l.LabelingInputs != nil {
		for _, m := range l.LabelingInputs.InputMappings {
			if m.Source() == model.SourcePayload && m.Path != nil {
				paths = append(paths, *m.Path)
			}
		}
	}
	want := map[string]bool{}
	for _, m := range members {
		want[m.PointID] = true
	}
	out := map[string]string{}
	for _, ref := range cfg.CollectionIDs {
		if len(want) == 0 {
			break
		}
		col, err := s.cfg.Store.GetCollection(ctx, r.NamespaceID, ref)
		var nf *store.NotFoundError
		if errors.As(err, &nf) {
			continue // deleted since the run: its documents have no text
		}
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		texts, err := s.cfg.Store.PayloadTextsOf(ctx, col.ID, paths, ids)
		if err != nil {
			return nil, err
		}
		for id, t := range texts {
			if line := firstLine(t); line != "" {
				out[id] = line
			}
			delete(want, id)
		}
	}
	return out, nil
}

// firstLine is the first line of t with non-space characters, trimmed and
// cut to maxFirstLine characters ("…" marks a cut).
func firstLine(t string) string {
	for line := range strings.Lines(t) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > maxFirstLine {
			line = string([]rune(line)[:maxFirstLine-1]) + "…"
		}
		return line
	}
	return ""
}
