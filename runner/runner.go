// Package runner executes clustering runs from the durable job queue: it
// claims a job, loads the cluster's vectors from the store, runs the engine
// on the chosen backend, writes the artifacts and records the outcome, with
// a heartbeat that keeps the job's lease and notices cancellation.
//
// Nothing is lost: the run and its job were written in one transaction by
// the execute; a worker that dies leaves a job whose lease expires (or that
// the next start of the process reclaims at once), so the run is retried, up
// to MaxAttempts, after which it ends failed with the reason. A run always
// ends completed or failed.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
)

// Backends choose where a run goes (see package dispatch).
type Backends interface {
	// Choose returns the executor for a run's backend choice and, when a
	// GPU could not be used, why (nil otherwise).
	Choose(want string) (dispatch.Executor, *dispatch.Unavailable, error)
	// CPU is where a run that failed on a GPU is rerun.
	CPU() dispatch.Executor
}

// Config configures a Runner. Store, Backends and Metrics are required.
type Config struct {
	Store    *store.Store
	Backends Backends
	Metrics  *telemetry.Metrics
	Logger   *slog.Logger
	// ConcurrentRuns is the number of runs executed at once (default 1: one run
	// already uses every core).
	ConcurrentRuns int
	// Lease is how long a claimed job stays reserved without a heartbeat
	// (default 15 s); heartbeats come every Lease/3.
	Lease time.Duration
	// Poll is how often an idle worker looks for jobs (default 250 ms);
	// Wake makes it look at once.
	Poll time.Duration
	// MaxAttempts bounds how often a run is started (default 3): a run whose
	// worker died that many times ends failed.
	MaxAttempts int
	// ProgressEvery throttles progress writes to the store (default 1 s).
	ProgressEvery time.Duration
	// LLM names clusters whose llm_labeling is enabled; nil disables it.
	LLM *llm.Labeler
	// Artifacts is where runs' artifacts are written and read; nil is the
	// files under the store's directory (artifacts.Local).
	Artifacts *artifacts.Store
}

// Runner runs queued jobs, ConcurrentRuns at a time.
type Runner struct {
	cfg   Config
	owner string
	wake  chan struct{}

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// errShutdown is the cancellation cause of runs interrupted by Stop: they
// are requeued, not failed.
var errShutdown = errors.New("runner shutting down")

// errCanceled is the cause of a run canceled by a user.
var errCanceled = errors.New(store.CanceledMessage)

// New makes a Runner; Start starts it.
func New(cfg Config) *Runner {
	if cfg.ConcurrentRuns <= 0 {
		cfg.ConcurrentRuns = 1
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Artifacts == nil {
		cfg.Artifacts = artifacts.Local(cfg.Store.Dir())
	}
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return &Runner{cfg: cfg, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		wake: make(chan struct{}, cfg.ConcurrentRuns), running: map[string]context.CancelCauseFunc{}}
}

// Start reclaims the jobs a previous process left running and starts the
// goroutines that claim and run jobs (ConcurrentRuns of them).
func (r *Runner) Start(ctx context.Context) error {
	n, err := r.cfg.Store.RecoverOrphans(ctx)
	if err != nil {
		return fmt.Errorf("runner: recovering orphaned jobs: %w", err)
	}
	if n > 0 {
		r.cfg.Logger.Warn("requeued runs left processing by a previous process", "runs", n)
	}
	// With PostgreSQL, other processes' enqueues wake this one's workers.
	unsubscribe := r.cfg.Store.SubscribeJobs(r.wakeAll)
	wctx, cancel := context.WithCancel(context.Background())
	r.stop = func() { unsubscribe(); cancel() }
	for i := 0; i < r.cfg.ConcurrentRuns; i++ {
		// Each worker holds leases under its own name: a worker whose lease
		// expired (a long pause) must see another worker's claim of the
		// same job as lost, which it cannot when both sign alike.
		owner := fmt.Sprintf("%s/w%d", r.owner, i)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.work(wctx, owner)
		}()
	}
	return nil
}

// Stop stops taking jobs, interrupts running ones (they are requeued and
// resume on the next start) and waits for the running jobs, or for ctx.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stop == nil {
		return nil
	}
	r.stop()
	r.mu.Lock()
	for _, cancel := range r.running {
		cancel(errShutdown)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake tells an idle worker to look for a job now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// wakeAll tells every idle worker to look for a job now (a notification
// may stand for several jobs).
func (r *Runner) wakeAll() {
	for i := 0; i < r.cfg.ConcurrentRuns; i++ {
		r.Wake()
	}
}

// leaseKey is the context key of the claim a run executes under (lease),
// which its progress writes are fenced by.
type leaseKey struct{}

type lease struct {
	job   *store.Job
	owner string
}

// Cancel stops a run this process is executing; it reports whether it was.
func (r *Runner) Cancel(runID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.running[runID]; ok {
		c(errCanceled)
		return true
	}
	return false
}

func (r *Runner) work(ctx context.Context, owner string) {
	for {
		if ctx.Err() != nil {
			return
		}
		job, err := r.cfg.Store.Claim(ctx, owner, r.cfg.Lease)
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Error("claiming a job", "err", err)
		}
		if job == nil {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-time.After(r.cfg.Poll):
			}
			continue
		}
		r.process(ctx, job, owner)
	}
}

// process runs one claimed job to its end (or requeues it on shutdown);
// owner is the claiming worker's lease name.
func (r *Runner) process(workerCtx context.Context, job *store.Job, owner string) {
	log := r.cfg.Logger.With("run_id", job.RunID, "attempt", job.Attempts)
	st := r.cfg.Store
	run, err := st.RunByID(context.Background(), job.RunID)
	if err != nil {
		log.Error("claimed job has no run", "err", err)
		return
	}
	var res model.ExecutionResult
	if err := json.Unmarshal(run.Result, &res); err != nil {
		log.Error("stored run result is unreadable", "err", err)
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), leaseKey{}, lease{job, owner}))
	defer cancel(nil)
	r.mu.Lock()
	r.running[run.RunID] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, run.RunID)
		r.mu.Unlock()
	}()
	if workerCtx.Err() != nil {
		cancel(errShutdown)
	}
	hbDone := make(chan struct{})
	defer close(hbDone)
	go r.heartbeat(job, owner, cancel, hbDone, log)

	finish := func(o store.Outcome) {
		if err := st.FinishRun(context.Background(), job, owner, o); err != nil {
			log.Error("recording the run's outcome", "err", err)
			r.dropIfDeleted(run.RunID, log)
			return
		}
		r.cfg.Metrics.RunsFinished.WithLabelValues(o.Status).Inc()
		attrs := []any{"status", o.Status, "error", o.ErrorMessage, "duration_ms", o.DurationMS}
		if res.Stats != nil {
			attrs = append(attrs, engine.Phases(res.Stats.PhaseSeconds).LogAttrs()...)
		}
		log.Info("run finished", attrs...)
	}
	if job.Attempts > r.cfg.MaxAttempts {
		msg := fmt.Sprintf("run abandoned after %d attempts: the worker process stopped (crashed or was killed) during each of them", r.cfg.MaxAttempts)
		res.Failed(msg, model.Now())
		o := failedOutcome(&res, msg)
		o.FailureKind = FailureAttemptsExhausted
		finish(o)
		return
	}
	if run.Status == store.StatusCompleted || run.Status == store.StatusFailed {
		// Finished but the job was not retired (cannot happen: both are one
		// transaction); retire it without touching the run.
		finish(store.Outcome{Status: run.Status, Result: run.Result, ErrorMessage: run.ErrorMessage})
		return
	}
	if run.CancelRequested {
		// Canceled while no process was running it (its last one died):
		// nobody else will stop it, and the cancel was accepted.
		res.Failed(store.CanceledMessage, model.Now())
		o := failedOutcome(&res, store.CanceledMessage)
		o.FailureKind = FailureCanceled
		finish(o)
		return
	}
	res.Status = model.StatusProcessing
	zero := 0.0
	res.Progress = &zero
	if err := st.StartRun(context.Background(), job, owner, mustJSON(&res)); err != nil {
		log.Error("marking the run processing", "err", err)
		return
	}
	log.Info("run started")
	start := time.Now()
	// This claim's artifacts go under a key of its own (see
	// store.Run.ArtifactsKey), which FinishRun records if the claim still
	// holds the lease then.
	run.ArtifactsToken = job.Token
	outcome, err := r.execute(ctx, run, &res, log)
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errShutdown):
		res.Status, res.Progress = model.StatusPending, nil
		if err := st.Requeue(context.Background(), job, owner, mustJSON(&res)); err != nil {
			log.Error("requeueing the run at shutdown", "err", err)
		} else {
			log.Info("run requeued for the next start")
		}
		return
	case errors.Is(cause, store.ErrLeaseLost):
		log.Warn("lost the job's lease; another worker owns the run now, or it was deleted")
		r.dropIfDeleted(run.RunID, log)
		return
	case errors.Is(cause, errCanceled):
		err = errCanceled
	}
	if err != nil {
		msg := failureMessage(err, run.RunID)
		if !isUserError(err) {
			log.Error("run failed", "err", err)
		}
		res.Failed(msg, model.Now())
		o := failedOutcome(&res, msg)
		o.FailureKind = failureKind(err)
		o.DurationMS = float64(time.Since(start).Milliseconds())
		finish(o)
		r.cfg.Metrics.RunDuration.WithLabelValues(res.Algorithm, res.Backend, store.StatusFailed).Observe(time.Since(start).Seconds())
		return
	}
	outcome.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	finish(outcome)
	r.cfg.Metrics.RunDuration.WithLabelValues(res.Algorithm, res.Backend, store.StatusCompleted).Observe(time.Since(start).Seconds())
}

// dropIfDeleted removes the run's directory when the run no longer exists:
// its cluster was deleted while it ran, after the delete had removed the
// directory and before this run wrote its artifacts there.
func (r *Runner) dropIfDeleted(runID string, log *slog.Logger) {
	if _, err := r.cfg.Store.RunByID(context.Background(), runID); !errors.Is(err, store.ErrNotFound) {
		return
	}
	if err := r.cfg.Artifacts.Delete(context.Background(), runID); err != nil {
		log.Error("removing a deleted run's artifacts", "err", err)
		return
	}
	if err := os.RemoveAll(r.cfg.Store.RunDir(runID)); err != nil {
		log.Error("removing a deleted run's files", "err", err)
		return
	}
	log.Info("the run was deleted while it ran; its files are removed")
}

// heartbeat extends the job's lease until done, and cancels the run when a
// user asked to stop it or the lease was lost.
func (r *Runner) heartbeat(job *store.Job, owner string, cancel context.CancelCauseFunc, done <-chan struct{}, log *slog.Logger) {
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		ctx, c := context.WithTimeout(context.Background(), r.cfg.Lease/3)
		stop, err := r.cfg.Store.Heartbeat(ctx, job, owner, r.cfg.Lease)
		c()
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			cancel(store.ErrLeaseLost)
			return
		case err != nil:
			log.Warn("heartbeat failed", "err", err)
		case stop:
			cancel(errCanceled)
		}
	}
}

func failedOutcome(res *model.ExecutionResult, msg string) store.Outcome {
	return store.Outcome{Status: store.StatusFailed, Result: mustJSON(res), NumPoints: res.NumPoints, ErrorMessage: msg}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("runner: marshalling %T: %v", v, err)) // our own types always marshal
	}
	return b
}
