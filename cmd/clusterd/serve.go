package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/clusterd/clusterd/api"
	"github.com/clusterd/clusterd/backends"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
	"github.com/clusterd/clusterd/triggers"
)

// envOr returns the CLUSTERD_* environment variable name, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// serveConfig is the service's configuration: every flag has a CLUSTERD_*
// environment variable (the flag wins).
type serveConfig struct {
	addr, dataDir, apiKeys, backend, logLevel, gpuWorker string
	workers, cpuThreads, maxAttempts, triggerMaxFailures int
	maxBody, maxImport                                   int64
}

func parseServeFlags(args []string) (serveConfig, bool, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", envOr("CLUSTERD_ADDR", "127.0.0.1:8080"), "listen address (CLUSTERD_ADDR)")
	fs.StringVar(&c.dataDir, "data-dir", envOr("CLUSTERD_DATA_DIR", "./data"), "data directory: SQLite database, vectors, artifacts (CLUSTERD_DATA_DIR)")
	fs.StringVar(&c.apiKeys, "api-keys", envOr("CLUSTERD_API_KEYS", ""), "comma-separated bearer keys, KEY or KEY=ns1|ns2 to scope one; none = auth off (CLUSTERD_API_KEYS)")
	fs.StringVar(&c.backend, "backend", envOr("CLUSTERD_BACKEND", "auto"), "where kernels run: auto, cpu or gpu (CLUSTERD_BACKEND)")
	fs.IntVar(&c.workers, "workers", envInt("CLUSTERD_WORKERS", 1), "runs executed at once (CLUSTERD_WORKERS)")
	fs.IntVar(&c.maxAttempts, "max-attempts", envInt("CLUSTERD_MAX_ATTEMPTS", 3), "times a run is started before a run whose worker keeps dying ends failed (CLUSTERD_MAX_ATTEMPTS)")
	fs.IntVar(&c.triggerMaxFailures, "trigger-max-failures", envInt("CLUSTERD_TRIGGER_MAX_FAILURES", triggers.DefaultMaxFailures),
		"consecutive failed runs after which a trigger is paused (CLUSTERD_TRIGGER_MAX_FAILURES)")
	fs.IntVar(&c.cpuThreads, "cpu-threads", envInt("CLUSTERD_CPU_THREADS", 0), "goroutines one CPU kernel uses, 0 = all cores (CLUSTERD_CPU_THREADS)")
	fs.StringVar(&c.logLevel, "log-level", envOr("CLUSTERD_LOG_LEVEL", "info"), "debug, info, warn or error (CLUSTERD_LOG_LEVEL)")
	fs.StringVar(&c.gpuWorker, "gpu-worker", envOr("CLUSTERD_GPU_WORKER", ""), "path of clusterd-gpu (default: next to clusterd, then PATH) (CLUSTERD_GPU_WORKER)")
	fs.Int64Var(&c.maxBody, "max-body-bytes", int64(envInt("CLUSTERD_MAX_BODY_BYTES", 64<<20)), "largest JSON request body (CLUSTERD_MAX_BODY_BYTES)")
	fs.Int64Var(&c.maxImport, "max-import-bytes", int64(envInt("CLUSTERD_MAX_IMPORT_BYTES", 64<<30)), "largest bulk import (CLUSTERD_MAX_IMPORT_BYTES)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return c, help, err
	}
	if fs.NArg() > 0 {
		return c, false, usagef("unexpected argument %q", fs.Arg(0))
	}
	if c.workers < 1 {
		return c, false, usagef("--workers must be ≥ 1, got %d", c.workers)
	}
	if c.triggerMaxFailures < 1 {
		return c, false, usagef("--trigger-max-failures must be ≥ 1, got %d", c.triggerMaxFailures)
	}
	return c, false, nil
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
	cfg, help, err := parseServeFlags(args)
	if help || err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel)
	if err != nil {
		return err
	}
	keys, err := api.ParseAPIKeys(cfg.apiKeys)
	if err != nil {
		return usageError{err}
	}
	bm, err := backends.New(backends.Options{Mode: cfg.backend, CPUWorkers: cfg.cpuThreads, WorkerPath: cfg.gpuWorker})
	if err != nil {
		return usageError{err}
	}
	defer bm.Close() // after the runner has stopped: GPU workers exit with their stdin closed
	bs := bm.Status()
	if bs.GPUUnavailableReason != "" {
		log.Info("GPU not used", "kind", bs.GPUUnavailableKind, "reason", bs.GPUUnavailableReason)
	}
	st, err := store.Open(cfg.dataDir)
	if err != nil {
		return err
	}
	defer st.Close()

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
	run := runner.New(runner.Config{Store: st, Backends: bm, Metrics: metrics, Logger: log, Workers: cfg.workers, MaxAttempts: cfg.maxAttempts, LLM: labeler})
	if err := run.Start(context.Background()); err != nil {
		return err
	}
	// Triggers fire through the runner's queue; the scheduler starts after
	// the runner (which requeues what a previous process left running) and
	// stops before the store closes.
	sched := triggers.New(triggers.Config{Store: st, MaxFailures: cfg.triggerMaxFailures, Wake: run.Wake,
		Metrics: telemetry.NewTriggerMetrics(reg), Logger: log})
	sched.Start()
	ready := true
	srv := api.New(api.Config{Store: st, Runner: run, Backends: bm, Metrics: metrics, Gatherer: gatherer, Logger: log, APIKeys: keys,
		MaxBodyBytes: cfg.maxBody, MaxImportBytes: cfg.maxImport, Ready: func() bool { return ready }, Triggers: sched})
	ln, err := net.Listen("tcp", cfg.addr)
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
	log.Info("clusterd listening", "addr", "http://"+ln.Addr().String(), "data_dir", cfg.dataDir, "backend", bs.Chosen,
		"cpu_kernel", bs.CPU.Kernel, "workers", cfg.workers, "auth", auth)

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
	ready = false
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
