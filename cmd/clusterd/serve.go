package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/config"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
	"github.com/clusterd/clusterd/triggers"
)

// parseServe reads serve's flags over its CLUSTERD_* environment (see
// package config); a bad value in either is a usage error naming it.
func parseServe(args []string) (config.Serve, []string, bool, error) {
	cfg, warnings, err := config.Parse(args, os.LookupEnv, os.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return cfg, nil, true, nil
	}
	if err != nil {
		return cfg, nil, false, usagef("%v", err)
	}
	return cfg, warnings, false, nil
}

// openBucket opens the --blob-url bucket (nil without one), whose reads an
// s3:// bucket caches in a directory of this process's own under
// DataDir/blobcache (see cacheDir). It holds runs' artifacts and the
// store's vector segments. release lets the cache directory go at exit.
func openBucket(cfg config.Serve) (b blob.Bucket, release func(), err error) {
	if cfg.BlobURL == "" {
		return nil, func() {}, nil
	}
	dir, release, err := cacheDir(filepath.Join(cfg.DataDir, "blobcache"))
	if err != nil {
		return nil, nil, err
	}
	b, err = blob.Open(cfg.BlobURL, blob.Options{CacheDir: dir, CacheBytes: cfg.BlobCacheBytes})
	if err != nil {
		release()
		return nil, nil, usagef("--blob-url: %v", err)
	}
	return b, release, nil
}

// openArtifacts opens the store of runs' artifacts: the data directory
// without a bucket (b nil), else the bucket. For a bucket it deletes the
// artifacts of runs that no longer exist (deleted while a killed process
// wrote them); the store sweeps its own directory. That needs every
// process writing under the bucket's prefix to share this process's
// database.
func openArtifacts(b blob.Bucket, st *store.Store, log *slog.Logger) (*artifacts.Store, error) {
	if b == nil {
		return artifacts.Local(st.Dir()), nil
	}
	arts := artifacts.New(b)
	n, err := arts.Sweep(context.Background(), func(ctx context.Context, runID string) (bool, error) {
		_, err := st.RunByID(ctx, runID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("artifacts in %s: %w", b.URL(), err)
	}
	if n > 0 {
		log.Info("removed the artifacts of deleted runs", "runs", n, "bucket", b.URL())
	}
	return arts, nil
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level must be debug, info, warn or error, got %q", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// runServe runs the HTTP service until SIGINT or SIGTERM, then shuts down
// gracefully: stop accepting requests, let in-flight ones finish, requeue
// running clustering runs (they resume on the next start), close the store.
func runServe(args []string) error {
	cfg, warnings, help, err := parseServe(args)
	if help || err != nil {
		return err
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	keys, err := api.ParseAPIKeys(cfg.APIKeys)
	if err != nil {
		return usageError{err}
	}
	bm, err := dispatch.New(dispatch.Options{Mode: cfg.Backend, CPUThreads: cfg.CPUThreads, WorkerPath: cfg.GPUWorker})
	if err != nil {
		return usageError{err}
	}
	defer bm.Close() // after the runner has stopped: GPU workers exit with their stdin closed
	bs := bm.Status()
	if bs.GPUUnavailableReason != "" {
		log.Info("GPU not used", "kind", bs.GPUUnavailableKind, "reason", bs.GPUUnavailableReason)
	}
	bucket, release, err := openBucket(cfg)
	if err != nil {
		return err
	}
	defer release()
	// With a bucket the vector segments are chunks on it too.
	st, err := store.OpenWith(store.Options{Dir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, Blob: bucket})
	if err != nil {
		return err
	}
	defer st.Close()
	arts, err := openArtifacts(bucket, st, log)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := telemetry.New(reg)
	for _, d := range bs.Devices {
		dev := fmt.Sprintf("gpu:%d", d.Index)
		metrics.GPUMemoryBytes.WithLabelValues(dev, "total").Set(float64(d.MemoryTotalBytes))
		metrics.GPUMemoryBytes.WithLabelValues(dev, "free").Set(float64(d.MemoryFreeBytes))
	}
	gatherer := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		refreshGauges(st, metrics)
		return reg.Gather()
	})

	labeler, err := llm.New(llm.ConfigFromEnv())
	if err != nil {
		return usageError{err}
	}
	run := runner.New(runner.Config{Store: st, Backends: bm, Metrics: metrics, Logger: log, ConcurrentRuns: cfg.ConcurrentRuns, MaxAttempts: cfg.MaxAttempts, Lease: cfg.JobLease, LLM: labeler, Artifacts: arts})
	if err := run.Start(context.Background()); err != nil {
		return err
	}
	// Triggers fire through the runner's queue; the scheduler starts after
	// the runner (which requeues what a previous process left running) and
	// stops before the store closes.
	sched := triggers.New(triggers.Config{Store: st, MaxFailures: cfg.TriggerMaxFailures, Wake: run.Wake,
		Metrics: telemetry.NewTriggerMetrics(reg), Logger: log, Artifacts: arts})
	sched.Start()
	// ready is read by /readyz handlers while the signal path writes it.
	var ready atomic.Bool
	ready.Store(true)
	srv := api.New(api.Config{Store: st, Runner: run, Backends: bm, Metrics: metrics, Gatherer: gatherer, Logger: log, APIKeys: keys,
		MaxBodyBytes: cfg.MaxBodyBytes, MaxImportBytes: cfg.MaxImportBytes, Ready: ready.Load, Triggers: sched, Artifacts: arts})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		sched.Stop(context.Background())
		run.Stop(context.Background())
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	auth := "off"
	if len(keys) > 0 {
		auth = fmt.Sprintf("%d keys", len(keys))
	}
	log.Info("clusterd listening", "addr", "http://"+ln.Addr().String(), "data_dir", cfg.DataDir, "database", st.Dialect(), "artifacts", arts.Bucket().URL(), "backend", bs.Chosen,
		"cpu_kernel", bs.CPU.Kernel, "concurrent_runs", cfg.ConcurrentRuns, "auth", auth)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-errc:
		sched.Stop(context.Background())
		run.Stop(context.Background())
		return err
	}
	// Not ready, but still serving for the drain delay: a load balancer
	// polling /readyz stops sending requests before the listener closes.
	ready.Store(false)
	if cfg.DrainDelay > 0 {
		log.Info("draining", "seconds", cfg.DrainDelay.Seconds())
		select {
		case <-time.After(cfg.DrainDelay):
		case s := <-sig:
			log.Info("draining cut short", "signal", s.String())
		}
	}
	// No new firing from here on; one in progress commits or rolls back
	// whole, so its slot fires once, now or after the next start.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := sched.Stop(stopCtx); err != nil {
		log.Warn("trigger scheduler shutdown", "err", err)
	}
	stopCancel()
	// The runner and the HTTP server stop side by side, each with its own
	// 30 s: running runs are interrupted and requeued at once, and slow
	// requests (a long import) cannot use up the runner's time. The store
	// closes (deferred) only after both.
	runnerStopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		runnerStopped <- run.Stop(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if err := <-runnerStopped; err != nil {
		log.Warn("runner shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// refreshGauges sets the store-derived gauges (runs by status, queue depth,
// segment bytes) on every scrape.
func refreshGauges(st *store.Store, m *telemetry.Metrics) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if byStatus, err := st.RunsByStatus(ctx); err == nil {
		for _, s := range []string{store.StatusPending, store.StatusProcessing, store.StatusCompleted, store.StatusFailed} {
			m.Runs.WithLabelValues(s).Set(float64(byStatus[s]))
		}
	}
	if q, r, err := st.QueueDepth(ctx); err == nil {
		m.QueueDepth.WithLabelValues("queued").Set(float64(q))
		m.QueueDepth.WithLabelValues("running").Set(float64(r))
	}
	if file, live, err := st.SegmentUsage(ctx); err == nil {
		m.SegmentBytes.Set(float64(file))
		m.SegmentLiveBytes.Set(float64(live))
	}
}
