// Package telemetry holds clusterd's Prometheus metrics. Metrics are built
// against an injected registerer (never the global default), so tests and
// several servers in one process each get their own.
//
// Names follow Prometheus conventions: clusterd_ prefix, base units
// (seconds, bytes), _total for counters.
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the service's instruments.
type Metrics struct {
	// PointsAssigned counts points assigned to a nearest centroid (or
	// otherwise clustered), by backend ("cpu", "gpu:0").
	PointsAssigned *prometheus.CounterVec
	// DistanceFLOPs counts floating-point operations spent on distances
	// (2·n·k·d per full assignment), by backend.
	DistanceFLOPs *prometheus.CounterVec
	// IterationDuration observes one clustering iteration, by algorithm and backend.
	IterationDuration *prometheus.HistogramVec
	// RunDuration observes whole runs, by algorithm, backend and final status.
	RunDuration *prometheus.HistogramVec
	// RunsFinished counts runs that ended, by status (completed, failed).
	RunsFinished *prometheus.CounterVec
	// Runs is the number of stored runs by status, refreshed on scrape.
	Runs *prometheus.GaugeVec
	// QueueDepth is the number of jobs waiting (state="queued") and running.
	QueueDepth *prometheus.GaugeVec
	// GPUMemoryBytes is total and free memory per GPU device, as the device
	// query at start-up found them (workers do not report it afterwards).
	GPUMemoryBytes *prometheus.GaugeVec
	// BackendFallbacks counts runs that wanted a GPU and ran on the CPU, by reason.
	BackendFallbacks *prometheus.CounterVec
	// HTTPRequests counts requests by method, route template and status code.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration observes request latency by method and route template.
	HTTPDuration *prometheus.HistogramVec
	// ImportedBytes counts vector bytes written by imports and upserts.
	ImportedBytes prometheus.Counter
	// SegmentBytes is the size of every vector segment file, refreshed on
	// scrape.
	SegmentBytes prometheus.Gauge
	// SegmentLiveBytes is the part of SegmentBytes that stored documents'
	// vectors use; the rest is rows of an import in progress and rows
	// replaced by later upserts (not reclaimed).
	SegmentLiveBytes prometheus.Gauge
}

// durationBuckets span 1 ms to about 4.5 hours: iterations take
// milliseconds, whole runs on large collections hours.
var durationBuckets = prometheus.ExponentialBuckets(0.001, 3, 16)

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		PointsAssigned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clusterd_points_assigned_total", Help: "Points assigned to clusters, by backend.",
		}, []string{"backend"}),
		DistanceFLOPs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clusterd_distance_flops_total", Help: "Floating-point operations spent computing distances (2·n·k·d per assignment), by backend.",
		}, []string{"backend"}),
		IterationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "clusterd_iteration_duration_seconds", Help: "Duration of one clustering iteration.", Buckets: durationBuckets,
		}, []string{"algorithm", "backend"}),
		RunDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "clusterd_run_duration_seconds", Help: "Duration of a clustering run, queue wait excluded.", Buckets: durationBuckets,
		}, []string{"algorithm", "backend", "status"}),
		RunsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clusterd_runs_finished_total", Help: "Runs that ended, by final status.",
		}, []string{"status"}),
		Runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clusterd_runs", Help: "Stored runs by status.",
		}, []string{"status"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clusterd_queue_depth", Help: "Jobs in the queue, by state (queued, running).",
		}, []string{"state"}),
		GPUMemoryBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clusterd_gpu_memory_bytes", Help: "GPU memory by device and kind (total, free), as found at start-up.",
		}, []string{"device", "kind"}),
		BackendFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clusterd_backend_fallbacks_total", Help: "Runs that could not use the GPU and ran on the CPU, by reason.",
		}, []string{"reason"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clusterd_http_requests_total", Help: "HTTP requests by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "clusterd_http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}, []string{"method", "route"}),
		ImportedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clusterd_imported_vector_bytes_total", Help: "Bytes of vectors written by document upserts and imports.",
		}),
		SegmentBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clusterd_segment_bytes", Help: "Bytes of the vector segment files on disk.",
		}),
		SegmentLiveBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clusterd_segment_live_bytes", Help: "Bytes of the vector segment files that stored documents' vectors use.",
		}),
	}
	reg.MustRegister(m.PointsAssigned, m.DistanceFLOPs, m.IterationDuration, m.RunDuration, m.RunsFinished, m.Runs,
		m.QueueDepth, m.GPUMemoryBytes, m.BackendFallbacks, m.HTTPRequests, m.HTTPDuration, m.ImportedBytes,
		m.SegmentBytes, m.SegmentLiveBytes)
	return m
}
