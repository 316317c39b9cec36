package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/internal/contract"
	"github.com/clusterd/clusterd/internal/seedschema"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// operation documents one route. Request and Response are Go values whose
// types are turned into JSON Schemas, or strings naming a seed schema.
type operation struct {
	Method, Path, Summary, Tag string
	Request                    any
	Response                   any
	ListOf                     any // for list endpoints: the result item type
	Query                      []string
	Binary                     bool // the response is a file
	HTML                       bool // the response is a page or a static asset
	Status                     int  // the success status (default 200); 204 has no body
}

// operations is the API's route table as documented; a test checks it
// against the router so the two cannot drift apart.
var operations = []operation{
	{Method: "GET", Path: "/healthz", Summary: "Liveness", Tag: "Operations"},
	{Method: "GET", Path: "/readyz", Summary: "Readiness: store open, queue running", Tag: "Operations"},
	{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics (text format)", Tag: "Operations"},
	{Method: "GET", Path: "/openapi.json", Summary: "This document", Tag: "Operations"},
	{Method: "GET", Path: "/", Summary: "Redirects to the dashboard (/ui/)", Tag: "Dashboard", Status: http.StatusFound},
	{Method: "GET", Path: "/ui", Summary: "Redirects to the dashboard (/ui/)", Tag: "Dashboard", Status: http.StatusFound},
	{Method: "GET", Path: "/ui/{filepath}", Summary: "The dashboard's embedded assets (index.html at /ui/); no key needed, the page sends it to /v1", Tag: "Dashboard", HTML: true},
	{Method: "GET", Path: "/v1/system/backends", Summary: "Backends this process can use and why a GPU is not used", Tag: "Operations", Response: dispatch.Status{}},

	{Method: "POST", Path: "/v1/collections", Summary: "Create a collection", Tag: "Collections", Request: CreateCollectionRequestModel, Response: CollectionResponse{}},
	{Method: "POST", Path: "/v1/collections/list", Summary: "List collections", Tag: "Collections", Request: model.ListRequest, ListOf: CollectionResponse{}, Query: listParams},
	{Method: "GET", Path: "/v1/collections/{collection_id}", Summary: "Get a collection by id or name", Tag: "Collections", Response: CollectionResponse{}},
	{Method: "DELETE", Path: "/v1/collections/{collection_id}", Summary: "Delete a collection with its documents", Tag: "Collections"},
	{Method: "POST", Path: "/v1/collections/{collection_id}/documents", Summary: "Upsert documents (all or none)", Tag: "Collections", Request: UpsertDocumentsRequestModel},
	{Method: "POST", Path: "/v1/collections/{collection_id}/documents/import", Summary: "Bulk import NDJSON, .npy or Parquet (streamed, all or none)", Tag: "Collections",
		Query: []string{"format", "feature", "id_prefix", "id_column", "vector_column"}},
	{Method: "POST", Path: "/v1/collections/{collection_id}/documents/list", Summary: "List documents", Tag: "Collections", Request: model.ListRequest, ListOf: DocumentResponse{}, Query: listParams},
	{Method: "GET", Path: "/v1/collections/{collection_id}/documents/{document_id}", Summary: "Get a document with its vectors", Tag: "Collections", Response: DocumentResponse{}},

	{Method: "POST", Path: "/v1/clusters/triggers", Summary: "Create Cluster Trigger (cron, interval, event or conditional)", Tag: "Cluster Triggers",
		Request: model.CreateTriggerRequest, Response: model.TriggerResponse{}, Status: http.StatusCreated},
	{Method: "POST", Path: "/v1/clusters/triggers/list", Summary: "List Cluster Triggers", Tag: "Cluster Triggers", Request: model.ListTriggersRequest, Response: model.ListTriggersResponse{}},
	{Method: "GET", Path: "/v1/clusters/triggers/{trigger_id}", Summary: "Get Cluster Trigger", Tag: "Cluster Triggers", Response: model.TriggerResponse{}},
	{Method: "PATCH", Path: "/v1/clusters/triggers/{trigger_id}", Summary: "Update Cluster Trigger (schedule, description, status)", Tag: "Cluster Triggers",
		Request: model.UpdateTriggerRequest, Response: model.TriggerResponse{}},
	{Method: "DELETE", Path: "/v1/clusters/triggers/{trigger_id}", Summary: "Delete Cluster Trigger and its history", Tag: "Cluster Triggers", Status: http.StatusNoContent},
	{Method: "POST", Path: "/v1/clusters/triggers/{trigger_id}/pause", Summary: "Pause Cluster Trigger", Tag: "Cluster Triggers", Response: model.TriggerResponse{}},
	{Method: "POST", Path: "/v1/clusters/triggers/{trigger_id}/resume", Summary: "Resume Cluster Trigger (next firing counted from now)", Tag: "Cluster Triggers", Response: model.TriggerResponse{}},
	{Method: "POST", Path: "/v1/clusters/triggers/{trigger_id}/history", Summary: "Get Trigger Execution History", Tag: "Cluster Triggers",
		Request: model.TriggerHistoryRequest, Response: model.TriggerHistoryResponse{}},

	{Method: "POST", Path: "/v1/clusters", Summary: "Create a cluster", Tag: "Clusters", Request: model.CreateClusterRequestModel, Response: model.ClusterMetadata{}},
	{Method: "POST", Path: "/v1/clusters/list", Summary: "List clusters", Tag: "Clusters", Request: model.ListClustersRequest, ListOf: model.ClusterMetadata{}, Query: listParams},
	{Method: "POST", Path: "/v1/clusters/enrich", Summary: "Write cluster assignments into documents' payloads (idempotent)", Tag: "Clusters", Request: model.EnrichRequestModel, Response: model.EnrichResponse{}},
	{Method: "GET", Path: "/v1/clusters/{cluster_id}", Summary: "Get a cluster by id or name", Tag: "Clusters", Response: model.ClusterMetadata{}},
	{Method: "PATCH", Path: "/v1/clusters/{cluster_id}", Summary: "Update a cluster's name, description or metadata", Tag: "Clusters", Request: model.PatchClusterRequestModel, Response: model.ClusterMetadata{}},
	{Method: "DELETE", Path: "/v1/clusters/{cluster_id}", Summary: "Delete a cluster, its runs and artifacts (cancels a running run first)", Tag: "Clusters"},
	{Method: "POST", Path: "/v1/clusters/{cluster_id}/execute", Summary: "Run the clustering in the background (Idempotency-Key supported)", Tag: "Clusters", Response: model.TaskResponse{}},
	{Method: "GET", Path: "/v1/tasks/{task_id}", Summary: "Get a task", Tag: "Tasks", Response: model.TaskResponse{}},
	{Method: "POST", Path: "/v1/tasks/list", Summary: "List tasks (every cluster's runs) with filters, status and task_type", Tag: "Tasks",
		Request: model.ListTasksRequest, ListOf: model.TaskResponse{}, Query: listParams},
	{Method: "DELETE", Path: "/v1/tasks/{task_id}", Summary: "Kill a task: cancel its run", Tag: "Tasks", Response: model.GenericDeleteResponse{}},

	{Method: "POST", Path: "/v1/templates/clusters", Summary: "List cluster templates (system, the namespace's and public ones)", Tag: "Cluster Templates",
		Request: model.ListTemplatesRequest, Response: model.ListTemplatesResponse{}},
	{Method: "GET", Path: "/v1/templates/clusters/{template_id}", Summary: "Get a cluster template", Tag: "Cluster Templates", Response: model.TemplateResponse{}},
	{Method: "POST", Path: "/v1/templates/clusters/from-cluster/{cluster_id}", Summary: "Make a template of a cluster's configuration (201)", Tag: "Cluster Templates",
		Request: model.CreateTemplateFromResourceRequest, Response: model.CreateTemplateFromResourceResponse{}, Status: http.StatusCreated},
	{Method: "POST", Path: "/v1/templates/clusters/{template_id}/instantiate", Summary: "Create a cluster from a template (201)", Tag: "Cluster Templates",
		Request: model.InstantiateClusterTemplateRequest, Response: model.InstantiatedClusterTemplateResponse{}, Status: http.StatusCreated},

	{Method: "GET", Path: "/v1/analytics/clusters/{cluster_id}/execution-history", Summary: "A cluster's runs of the last hours with a summary", Tag: "Analytics",
		Response: model.ExecutionHistoryResponse{}, Query: []string{"hours", "limit"}},
	{Method: "GET", Path: "/v1/analytics/clusters/{cluster_id}/failures", Summary: "A cluster's failed runs of the last hours, classified", Tag: "Analytics",
		Response: model.FailureAnalysisResponse{}, Query: []string{"hours"}},

	{Method: "GET", Path: "/v1/clusters/{cluster_id}/executions", Summary: "Get Latest Cluster Execution (null when none)", Tag: "Cluster Executions", Response: "ClusterExecutionResult|null"},
	{Method: "POST", Path: "/v1/clusters/{cluster_id}/executions/list", Summary: "List executions with stats", Tag: "Cluster Executions", Request: model.ListClusterExecutionsRequest, ListOf: "ClusterExecutionResult", Query: listParams},
	{Method: "GET", Path: "/v1/clusters/{cluster_id}/executions/{run_id}", Summary: "Get an execution", Tag: "Cluster Executions", Response: "ClusterExecutionResult"},
	{Method: "POST", Path: "/v1/clusters/{cluster_id}/executions/{run_id}/cancel", Summary: "Cancel a pending or processing execution", Tag: "Cluster Executions", Response: "ClusterExecutionResult"},
	{Method: "GET", Path: "/v1/clusters/{cluster_id}/artifacts", Summary: "Artifacts of the latest completed run", Tag: "Cluster Executions", Response: ArtifactsResponse{}, Query: artifactParams},
	{Method: "GET", Path: "/v1/clusters/{cluster_id}/executions/{run_id}/artifacts", Summary: "Centroids and members with scatter-plot coordinates", Tag: "Cluster Executions", Response: ArtifactsResponse{}, Query: artifactParams},
	{Method: "GET", Path: "/v1/clusters/{cluster_id}/executions/{run_id}/artifacts/{file}", Summary: "Download centroids.parquet or members.parquet", Tag: "Cluster Executions", Binary: true},
	{Method: "POST", Path: "/v1/clusters/{cluster_id}/executions/{run_id}/data", Summary: "Centroid vectors and members, paged", Tag: "Cluster Executions", Request: DataRequestModel, Response: DataResponse{}},
}

var (
	listParams     = []string{"limit", "offset", "cursor", "include_total"}
	artifactParams = []string{"include_centroids", "include_members", "limit", "offset", "projection_method", "sample", "seed"}
)

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
	openAPIErr  error
)

func (s *Server) openAPI(c *gin.Context) {
	openAPIOnce.Do(func() { openAPIDoc, openAPIErr = buildOpenAPI() })
	if openAPIErr != nil {
		s.writeError(c, openAPIErr)
		return
	}
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// buildOpenAPI assembles the document. Operations Mixpeek's contract has
// are taken from it (operationId, summary, description, parameters,
// responses), with the request body's schema replaced by clusterd's
// declaration of the same model; the latest-execution operation is the
// seed's. Components are the contract's schemas, overlaid with the seed's
// (which win) and with clusterd's declared models (supersets of Mixpeek's,
// same names). clusterd's own routes are generated from the route table.
// Path parameters are named as the router names them ({cluster_id}
// throughout), because Mixpeek's {cluster_identifier} beside {cluster_id}
// at the same position is not valid OpenAPI.
func buildOpenAPI() ([]byte, error) {
	var mixpeek struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract.JSON(), &mixpeek); err != nil {
		return nil, err
	}
	schemas := mixpeek.Components.Schemas
	seed, err := seedschema.Doc()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(seed.Components.Schemas)
	if err != nil {
		return nil, err
	}
	seedSchemas := map[string]any{}
	if err := json.Unmarshal(raw, &seedSchemas); err != nil {
		return nil, err
	}
	for name, sc := range seedSchemas {
		schemas[name] = sc
	}
	for name, sc := range schema.Components(declaredModels()...) {
		schemas[name] = sc
	}
	mixpeekOps := map[string]map[string]any{} // "METHOD normalised-path" → operation
	for path, item := range mixpeek.Paths {
		for method, op := range item {
			mixpeekOps[strings.ToUpper(method)+" "+normalisePath(path)] = op
		}
	}
	g := &schemaGen{schemas: schemas}
	paths := map[string]map[string]any{}
	for _, op := range operations {
		var o map[string]any
		if m, ok := mixpeekOps[op.Method+" "+normalisePath(op.Path)]; ok {
			o = mixpeekOperation(m, op, g)
		} else {
			o = generatedOperation(op, g)
		}
		if paths[op.Path] == nil {
			paths[op.Path] = map[string]any{}
		}
		paths[op.Path][strings.ToLower(op.Method)] = o
	}
	// The seed's latest execution: null when the cluster never ran.
	if latest := paths["/v1/clusters/{cluster_id}/executions"]["get"]; latest != nil {
		ok := latest.(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)
		ok["content"] = jsonContent(g.ref("ClusterExecutionResult|null"))
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "clusterd", "version": "0.82",
			"description": "Mixpeek's clusters API (contract 0.81, with the seed's 0.82 Get Latest Cluster Execution) served by clusterd, plus clusterd's collections API. " +
				"Operations and schemas Mixpeek has keep Mixpeek's operationIds and names; request schemas are clusterd's declarations of them " +
				"(every Mixpeek field, clusterd's additions marked x-clusterd-extension, fields accepted without effect marked x-clusterd-no-op)."},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":   []any{map[string]any{"bearer": []string{}}},
	}
	return json.MarshalIndent(doc, "", " ")
}

// declaredModels are the request models the API validates with; their
// components (and every model they reference) are published.
func declaredModels() []*schema.Schema {
	var out []*schema.Schema
	for _, op := range operations {
		if m, ok := op.Request.(*schema.Schema); ok {
			out = append(out, m)
		}
	}
	return append(out, params.Models()...)
}

var paramName = regexp.MustCompile(`\{[a-z_]+\}`)

// normalisePath blanks path parameter names, so Mixpeek's
// /v1/clusters/{cluster_identifier} matches the router's
// /v1/clusters/{cluster_id}.
func normalisePath(p string) string { return paramName.ReplaceAllString(p, "{}") }

// mixpeekOperation is Mixpeek's operation m for the route op: its path
// parameters renamed as the router names them and its request body
// clusterd's declared model.
func mixpeekOperation(m map[string]any, op operation, g *schemaGen) map[string]any {
	var o map[string]any
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &o)
	names := pathParam.FindAllStringSubmatch(op.Path, -1)
	pos := 0
	if ps, ok := o["parameters"].([]any); ok {
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			if pm["in"] == "path" && pos < len(names) {
				pm["name"] = names[pos][1]
				pos++
			}
		}
		if op.Path == "/v1/clusters/{cluster_id}/execute" {
			o["parameters"] = append(ps, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "A retried execute with the same key returns the first task", "schema": map[string]any{"type": "string", "maxLength": 256}})
		}
	}
	if op.Request != nil {
		required := true
		if rb, ok := o["requestBody"].(map[string]any); ok {
			required, _ = rb["required"].(bool)
		}
		o["requestBody"] = map[string]any{"required": required, "content": jsonContent(g.ref(op.Request))}
	}
	return o
}

// generatedOperation documents one of clusterd's own routes.
func generatedOperation(op operation, g *schemaGen) map[string]any {
	errRef := map[string]any{"$ref": "#/components/schemas/ErrorResponse"}
	valRef := map[string]any{"$ref": "#/components/schemas/HTTPValidationError"}
	o := map[string]any{"summary": op.Summary, "tags": []string{op.Tag}, "operationId": operationID(op)}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range op.Query {
		params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
	}
	if strings.HasPrefix(op.Path, "/v1/") {
		params = append(params, map[string]any{"name": "X-Namespace", "in": "header", "required": false,
			"description": "Namespace name or ns_ id (default: \"default\")", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		o["parameters"] = params
	}
	if op.Request != nil {
		o["requestBody"] = map[string]any{"required": op.ListOf == nil, "content": jsonContent(g.ref(op.Request))}
	}
	ok := map[string]any{"description": "Successful Response"}
	switch {
	case op.HTML:
		ok["content"] = map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
	case op.Binary:
		ok["content"] = map[string]any{"application/vnd.apache.parquet": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
	case op.ListOf != nil:
		ok["content"] = jsonContent(map[string]any{"type": "object", "properties": map[string]any{
			"results": map[string]any{"type": "array", "items": g.ref(op.ListOf)}, "pagination": map[string]any{"$ref": "#/components/schemas/PaginationResponse"},
			"total_count": map[string]any{"type": "integer"}, "stats": map[string]any{}}})
	case op.Response != nil:
		ok["content"] = jsonContent(g.ref(op.Response))
	default:
		ok["content"] = jsonContent(map[string]any{"type": "object"})
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusNoContent || status == http.StatusFound {
		delete(ok, "content")
	}
	if status == http.StatusFound {
		ok["description"] = "Found"
		ok["headers"] = map[string]any{"Location": map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	if strings.HasPrefix(op.Path, "/v1/") {
		responses["401"] = map[string]any{"description": "Unauthorized", "content": jsonContent(errRef)}
		responses["403"] = map[string]any{"description": "Forbidden", "content": jsonContent(errRef)}
		responses["404"] = map[string]any{"description": "Not Found", "content": jsonContent(errRef)}
		responses["422"] = map[string]any{"description": "Validation Error", "content": jsonContent(valRef)}
		responses["500"] = map[string]any{"description": "Internal Server Error", "content": jsonContent(errRef)}
	}
	o["responses"] = responses
	return o
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func operationID(op operation) string {
	p := strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_", "-", "_").Replace(op.Path)
	return strings.ToLower(op.Method) + strings.TrimRight(p, "_")
}

// schemaGen turns Go types into JSON Schemas registered by type name.
type schemaGen struct{ schemas map[string]any }

func (g *schemaGen) ref(v any) any {
	if m, ok := v.(*schema.Schema); ok {
		for name, c := range schema.Components(m) {
			g.schemas[name] = c
		}
		if m.Name != "" {
			return map[string]any{"$ref": schema.RefPrefix + m.Name}
		}
		return m.JSONSchema()
	}
	if name, ok := v.(string); ok {
		if base, nullable := strings.CutSuffix(name, "|null"); nullable {
			return map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/" + base}, map[string]any{"type": "null"}}}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return g.schema(reflect.TypeOf(v))
}

var (
	rawType  = reflect.TypeOf(json.RawMessage(nil))
	timeType = reflect.TypeOf(model.Time{})
)

func (g *schemaGen) schema(t reflect.Type) any {
	switch {
	case t == rawType:
		return map[string]any{}
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return map[string]any{"anyOf": []any{g.schema(t.Elem()), map[string]any{"type": "null"}}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = map[string]any{} // placeholder against recursion
			props := map[string]any{}
			var required []string
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if !f.IsExported() || tag == "-" {
					continue
				}
				if tag == "" {
					tag = f.Name
				}
				props[tag] = g.schema(f.Type)
				if strings.Contains(f.Tag.Get("binding"), "required") || (!strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer && f.Type != rawType) {
					required = append(required, tag)
				}
			}
			sort.Strings(required)
			s := map[string]any{"type": "object", "title": name, "properties": props}
			if required != nil {
				s["required"] = required
			}
			g.schemas[name] = s
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}
