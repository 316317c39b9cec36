package model

import "encoding/json"

// Response models of Mixpeek's task, cluster template and cluster analytics
// operations (names as in mixpeek-clusters-openapi-0.81.json).

// GenericDeleteResponse is Mixpeek's GenericDeleteResponse (DELETE
// /v1/tasks/{task_id}).
type GenericDeleteResponse struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

// Template types, modes and scopes of Mixpeek's TemplateType, TemplateMode
// and TemplateScope that clusterd uses.
const (
	TemplateTypeCluster = "cluster"
	TemplateModeConfig  = "config" // instantiation copies the configuration, never data
	ScopeSystem         = "system"
	ScopeOrganization   = "organization"
	ScopeUser           = "user"
	ScopePublic         = "public"
)

// TemplateResponse is Mixpeek's BaseTemplateModel for a cluster template.
// Configuration is a CreateClusterRequest without collection_ids,
// cluster_name, description and metadata; InternalID is the owning
// namespace's id ("system" for the built-in templates).
type TemplateResponse struct {
	TemplateID       string          `json:"template_id"`
	TemplateType     string          `json:"template_type"`
	Scope            string          `json:"scope"`
	InternalID       string          `json:"internal_id"`
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	Category         *string         `json:"category"`
	Tags             []string        `json:"tags"`
	Configuration    json.RawMessage `json:"configuration"`
	Mode             string          `json:"mode"`
	IsActive         bool            `json:"is_active"`
	IsPublic         bool            `json:"is_public"`
	CreatedBy        *string         `json:"created_by"` // clusterd has no users: always null
	SourceResourceID *string         `json:"source_resource_id"`
	Requirements     []string        `json:"requirements"`
	UseCases         []string        `json:"use_cases"`
	CreatedAt        Time            `json:"created_at"`
	UpdatedAt        Time            `json:"updated_at"`
}

// ListTemplatesResponse is Mixpeek's ListTemplatesResponse.
type ListTemplatesResponse struct {
	Results    []TemplateResponse `json:"results"`
	TotalCount int                `json:"total_count"`
}

// CreateTemplateFromResourceResponse is Mixpeek's response of the same
// name (POST /v1/templates/clusters/from-cluster/{cluster_id}).
type CreateTemplateFromResourceResponse struct {
	TemplateID       string `json:"template_id"`
	TemplateName     string `json:"template_name"`
	TemplateType     string `json:"template_type"`
	Scope            string `json:"scope"`
	SourceResourceID string `json:"source_resource_id"`
	CreatedAt        Time   `json:"created_at"`
}

// InstantiatedClusterTemplateResponse is Mixpeek's response of the same
// name (POST /v1/templates/clusters/{template_id}/instantiate).
type InstantiatedClusterTemplateResponse struct {
	ClusterID   string `json:"cluster_id"`
	ClusterName string `json:"cluster_name"`
	TemplateID  string `json:"template_id"`
	CreatedAt   Time   `json:"created_at"`
	Status      string `json:"status"` // "created"
}

// TimeRange is Mixpeek's analytics TimeRange: the window a report covers.
type TimeRange struct {
	Start Time `json:"start"`
	End   Time `json:"end"`
}

// ClusterExecutionMetric is Mixpeek's ClusterExecutionMetric: one run.
type ClusterExecutionMetric struct {
	ExecutionID     string  `json:"execution_id"`     // the run_id
	StartedAt       Time    `json:"started_at"`       // when it started processing; created_at if it never did
	DurationSeconds float64 `json:"duration_seconds"` // processing time (so far, while processing; 0 if it never started)
	NumDocuments    int     `json:"num_documents"`
	NumClusters     int     `json:"num_clusters"`
	Status          string  `json:"status"` // the execution's status: pending, processing, completed, failed
	Algorithm       string  `json:"algorithm"`
}

// ExecutionHistoryResponse is Mixpeek's ExecutionHistoryResponse.
type ExecutionHistoryResponse struct {
	ClusterID string                   `json:"cluster_id"`
	TimeRange TimeRange                `json:"time_range"`
	Results   []ClusterExecutionMetric `json:"results"`
	Summary   ExecutionSummary         `json:"summary"`
}

// ExecutionSummary is clusterd's summary of an execution history: every
// run created in the window (not only the page of results). Durations are
// seconds over the completed runs (p50 and p95 interpolate linearly
// between the closest ranks, as numpy's percentile does); rates and
// averages are null when no run qualifies.
type ExecutionSummary struct {
	TotalExecutions int `json:"total_executions"`
	Completed       int `json:"completed"`
	Failed          int `json:"failed"` // failed, not canceled
	Canceled        int `json:"canceled"`
	Pending         int `json:"pending"`
	Processing      int `json:"processing"`
	// SuccessRate is completed / (completed + failed): canceled and
	// unfinished runs do not count.
	SuccessRate             *float64       `json:"success_rate"`
	AvgDurationSeconds      *float64       `json:"avg_duration_seconds"`
	P50DurationSeconds      *float64       `json:"p50_duration_seconds"`
	P95DurationSeconds      *float64       `json:"p95_duration_seconds"`
	MaxDurationSeconds      *float64       `json:"max_duration_seconds"`
	AvgNumClusters          *float64       `json:"avg_num_clusters"`
	AvgNumDocuments         *float64       `json:"avg_num_documents"`
	TotalDocumentsClustered int64          `json:"total_documents_clustered"`
	GPUFallbacks            int            `json:"gpu_fallbacks"` // runs that did not run on the GPU they would have used
	Algorithms              map[string]int `json:"algorithms"`    // runs per clustering method
	FailuresByType          map[string]int `json:"failures_by_type"`
	LastExecutionAt         *Time          `json:"last_execution_at"`
}

// FailureMetric is Mixpeek's FailureMetric: one failed run.
type FailureMetric struct {
	Timestamp    Time   `json:"timestamp"` // when it failed
	ExecutionID  string `json:"execution_id"`
	ErrorMessage string `json:"error_message"`
	ErrorType    string `json:"error_type"` // runner.FailureKinds
}

// FailureAnalysisResponse is Mixpeek's analytics FailureAnalysisResponse.
type FailureAnalysisResponse struct {
	ClusterID     string          `json:"cluster_id"`
	TimeRange     TimeRange       `json:"time_range"`
	Failures      []FailureMetric `json:"failures"`
	TotalFailures int             `json:"total_failures"`
}
