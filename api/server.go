// Package api serves Mixpeek's clusters API (and clusterd's collections API)
// over HTTP with Gin: routes, request binding and validation, the error
// envelope, API keys, namespaces, Prometheus instrumentation, and the
// OpenAPI document.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
	"github.com/clusterd/clusterd/triggers"
	"github.com/clusterd/clusterd/ui"
)

// Config is what the server needs.
type Config struct {
	Store    *store.Store
	Runner   *runner.Runner
	Backends *dispatch.Manager
	Metrics  *telemetry.Metrics
	Gatherer prometheus.Gatherer // served on /metrics
	Logger   *slog.Logger
	// APIKeys enables authentication; empty means auth off (local use).
	APIKeys []APIKey
	// MaxBodyBytes bounds JSON request bodies (default 64 MiB).
	MaxBodyBytes int64
	// MaxImportBytes bounds bulk imports (default 64 GiB): NDJSON and .npy
	// bodies of known length are streamed, the others spooled to disk.
	MaxImportBytes int64
	// Ready reports whether the queue is running (for /readyz).
	Ready func() bool
	// Triggers is the trigger scheduler, whose clock and settings the
	// trigger routes use (default: an unstarted one on Store with the
	// system clock).
	Triggers *triggers.Scheduler
	// Artifacts holds runs' Parquet files (default: the files under
	// Store's directory, artifacts.Local).
	Artifacts *artifacts.Store
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	engine   *gin.Engine
	triggers *triggers.Scheduler
}

// New builds the router: every route of the API is declared here.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = 64 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Artifacts == nil && cfg.Store != nil {
		cfg.Artifacts = artifacts.Local(cfg.Store.Dir())
	}
	if cfg.Triggers == nil {
		cfg.Triggers = triggers.New(triggers.Config{Store: cfg.Store, Logger: cfg.Logger, Artifacts: cfg.Artifacts})
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{cfg: cfg, log: cfg.Logger, triggers: cfg.Triggers}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverPanics, s.instrument)
	r.NoRoute(func(c *gin.Context) {
		s.writeError(c, &Error{Status: http.StatusNotFound, Code: "route_not_found", Message: "no route " + c.Request.Method + " " + c.Request.URL.Path})
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Status: http.StatusMethodNotAllowed,
			Error: ErrorDetail{Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path, Type: "MethodNotAllowedError"}})
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.wrap(s.readyz))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", s.openAPI)

	// The dashboard: static assets, served without a key (they hold no
	// data; every request the page makes goes through /v1 with the key the
	// user enters).
	dashboard := http.StripPrefix("/ui", ui.Handler())
	toDashboard := func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") }
	r.GET("/", toDashboard)
	r.GET("/ui", toDashboard)
	r.GET("/ui/*filepath", gin.WrapH(dashboard))

	v1 := r.Group("/v1", s.authenticate, s.namespace)
	v1.GET("/system/backends", s.wrap(s.systemBackends))

	v1.POST("/collections", s.wrap(s.createCollection))
	v1.POST("/collections/list", s.wrap(s.listCollections))
	v1.GET("/collections/:collection_id", s.wrap(s.getCollection))
	v1.DELETE("/collections/:collection_id", s.wrap(s.deleteCollection))
	v1.POST("/collections/:collection_id/documents", s.wrap(s.upsertDocuments))
	v1.POST("/collections/:collection_id/documents/import", s.wrap(s.importDocuments))
	v1.POST("/collections/:collection_id/documents/list", s.wrap(s.listDocuments))
	v1.GET("/collections/:collection_id/documents/:document_id", s.wrap(s.getDocument))

	// The trigger routes' static "triggers" segment takes precedence over
	// :cluster_id; a cluster named "triggers" is still reached by GET, PATCH
	// and DELETE /v1/clusters/triggers (no trigger route has those).
	v1.POST("/clusters/triggers", s.wrap(s.createTrigger))
	v1.POST("/clusters/triggers/list", s.wrap(s.listTriggers))
	v1.GET("/clusters/triggers/:trigger_id", s.wrap(s.getTrigger))
	v1.PATCH("/clusters/triggers/:trigger_id", s.wrap(s.patchTrigger))
	v1.DELETE("/clusters/triggers/:trigger_id", s.wrap(s.deleteTrigger))
	v1.POST("/clusters/triggers/:trigger_id/pause", s.wrap(s.pauseTrigger))
	v1.POST("/clusters/triggers/:trigger_id/resume", s.wrap(s.resumeTrigger))
	v1.POST("/clusters/triggers/:trigger_id/history", s.wrap(s.triggerHistory))

	v1.POST("/clusters", s.wrap(s.createCluster))
	v1.POST("/clusters/list", s.wrap(s.listClusters))
	v1.POST("/clusters/enrich", s.wrap(s.enrich))
	v1.GET("/clusters/:cluster_id", s.wrap(s.getCluster))
	v1.PATCH("/clusters/:cluster_id", s.wrap(s.patchCluster))
	v1.DELETE("/clusters/:cluster_id", s.wrap(s.deleteCluster))
	v1.POST("/clusters/:cluster_id/execute", s.wrap(s.execute))
	v1.GET("/tasks/:task_id", s.wrap(s.getTask))
	v1.POST("/tasks/list", s.wrap(s.listTasks))
	v1.DELETE("/tasks/:task_id", s.wrap(s.killTask))

	// Gin (1.12) routes a static segment before a parameter at the same
	// position, so from-cluster never reads as a template id (template ids
	// cannot contain "-" anyway).
	v1.POST("/templates/clusters", s.wrap(s.listTemplates))
	v1.GET("/templates/clusters/:template_id", s.wrap(s.getTemplate))
	v1.POST("/templates/clusters/from-cluster/:cluster_id", s.wrap(s.createTemplate))
	v1.POST("/templates/clusters/:template_id/instantiate", s.wrap(s.instantiateTemplate))

	v1.GET("/analytics/clusters/:cluster_id/execution-history", s.wrap(s.executionHistory))
	v1.GET("/analytics/clusters/:cluster_id/failures", s.wrap(s.failureAnalysis))

	v1.GET("/clusters/:cluster_id/executions", s.wrap(s.latestExecution))
	v1.POST("/clusters/:cluster_id/executions/list", s.wrap(s.listExecutions))
	v1.GET("/clusters/:cluster_id/executions/:run_id", s.wrap(s.getExecution))
	v1.POST("/clusters/:cluster_id/executions/:run_id/cancel", s.wrap(s.cancelExecution))
	v1.GET("/clusters/:cluster_id/artifacts", s.wrap(s.latestArtifacts))
	v1.GET("/clusters/:cluster_id/executions/:run_id/artifacts", s.wrap(s.getArtifacts))
	v1.GET("/clusters/:cluster_id/executions/:run_id/artifacts/:file", s.wrap(s.downloadArtifact))
	v1.POST("/clusters/:cluster_id/executions/:run_id/data", s.wrap(s.executionData))
	s.engine = r
	return s
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists "METHOD path" for every route (for the OpenAPI check).
func (s *Server) Routes() []gin.RouteInfo { return s.engine.Routes() }

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "time": time.Now().UTC().Format(time.RFC3339)})
}

func (s *Server) readyz(c *gin.Context) error {
	if err := s.cfg.Store.Ping(c.Request.Context()); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable", Message: "the store does not answer"}
	}
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		return &Error{Status: http.StatusServiceUnavailable, Code: "queue_not_running", Message: "the job queue is not running"}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
	return nil
}

func (s *Server) systemBackends(c *gin.Context) error {
	c.JSON(http.StatusOK, s.cfg.Backends.Status())
	return nil
}
