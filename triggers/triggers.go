// Package triggers runs cluster triggers: it decides when each trigger
// fires (cron, interval, event, conditional) and fires it through the
// store, which enqueues the run on the same durable queue as execute and
// records the firing, all in one transaction that claims the slot first.
//
// The scheduler is a loop of Ticks. A Tick settles the outcome of runs that
// triggers started (history, consecutive failures, pausing after
// MaxFailures), then fires every trigger that is due at the clock's now.
// Time comes from an injected Clock, so tests drive schedules over days in
// milliseconds by moving a fake clock and calling Tick.
//
// Exactly once per slot: a trigger's next slot is stored; a firing covers
// every slot from it up to now (slots missed while no clusterd ran coalesce
// into one catch-up run, and its history item says how many) and moves it
// to the first slot after now, in the transaction that enqueues the run.
// The move is a compare-and-set on the trigger's version, so a firing is
// never repeated after a restart, and of several schedulers sharing a store
// exactly one fires a slot.
package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/store"
	"github.com/clusterd/clusterd/telemetry"
	"github.com/clusterd/clusterd/triggers/schedule"
)

// Clock tells the time.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

// DefaultMaxFailures is how many consecutive failed runs pause a trigger
// unless configured otherwise (clusterd serve --trigger-max-failures).
const DefaultMaxFailures = 5

// Loader reads the vectors a run of a cluster definition clusters (for
// drift); runner.LoadDataset by default.
type Loader func(ctx context.Context, st *store.Store, ns string, cfg *model.CreateClusterRequest) (x []float32, n, d int, ids []string, err error)

// Config configures a Scheduler. Store is required.
type Config struct {
	Store *store.Store
	// Clock is the time source (default: the system clock, UTC).
	Clock Clock
	// MaxFailures pauses a trigger whose runs failed this many times in a
	// row (default DefaultMaxFailures; a cancel does not count).
	MaxFailures int
	// Poll is how often the loop ticks (default 1 s); Wake ticks at once.
	Poll time.Duration
	// BusyRetry is how soon an event trigger whose firing was skipped (its
	// cluster had a run queued or processing) is considered again, unless
	// its cooldown is longer (default 1 min).
	BusyRetry time.Duration
	// CatchUpGrace is how late after its slot a firing may come and still
	// be an ordinary one; later, it is a catch-up (default 1 min).
	CatchUpGrace time.Duration
	// Wake tells the runner a run was queued (optional).
	Wake func()
	// Metrics counts fires, skips and failures (default: unregistered).
	Metrics *telemetry.TriggerMetrics
	Logger  *slog.Logger
	// Load reads vectors for drift (default runner.LoadDataset).
	Load Loader
	// Artifacts holds runs' centroids, which drift is measured against
	// (default: the files under Store's directory, artifacts.Local).
	Artifacts *artifacts.Store
}

// Scheduler fires triggers. Its Tick may run in several processes sharing
// a store: each slot fires once.
type Scheduler struct {
	cfg  Config
	wake chan struct{}

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

// New makes a Scheduler; Start runs its loop. New touches nothing, so a
// Scheduler that is never started still serves the API's computations.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.BusyRetry <= 0 {
		cfg.BusyRetry = time.Minute
	}
	if cfg.CatchUpGrace <= 0 {
		cfg.CatchUpGrace = time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = telemetry.NewTriggerMetrics(prometheus.NewRegistry())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Load == nil {
		cfg.Load = runner.LoadDataset
	}
	if cfg.Artifacts == nil && cfg.Store != nil {
		cfg.Artifacts = artifacts.Local(cfg.Store.Dir())
	}
	return &Scheduler{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Now is the scheduler's time (UTC).
func (s *Scheduler) Now() time.Time { return s.cfg.Clock.Now().UTC() }

// MaxFailures is the number of consecutive failed runs that pauses a trigger.
func (s *Scheduler) MaxFailures() int { return s.cfg.MaxFailures }

// Start runs the loop until Stop: a Tick every Poll, or at once on Wake.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		for {
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("trigger tick", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-time.After(s.cfg.Poll):
			}
		}
	}()
}

// Stop ends the loop and waits for the current Tick (a firing in progress
// is rolled back whole, so its slot stays due), or for ctx.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wake makes the loop tick now (after a trigger was created or resumed).
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ScheduleConfig is a completed schedule_config, every trigger type's
// fields in one struct.
type ScheduleConfig struct {
	CronExpression       string  `json:"cron_expression"`
	Timezone             string  `json:"timezone"`
	IntervalSeconds      int64   `json:"interval_seconds"`
	StartImmediately     bool    `json:"start_immediately"`
	EventType            string  `json:"event_type"`
	EventThreshold       int64   `json:"event_threshold"`
	CollectionID         *string `json:"collection_id"`
	CooldownSeconds      int64   `json:"cooldown_seconds"`
	ConditionType        string  `json:"condition_type"`
	Metric               string  `json:"metric"`
	Threshold            float64 `json:"threshold"`
	CheckIntervalSeconds int64   `json:"check_interval_seconds"`
}

// ParseSchedule reads a trigger's stored schedule_config.
func ParseSchedule(raw json.RawMessage) (ScheduleConfig, error) {
	var c ScheduleConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("stored schedule_config: %w", err)
	}
	return c, nil
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// slots returns the schedule of a cron or interval trigger.
func slots(t *store.Trigger, c ScheduleConfig) (schedule.Schedule, error) {
	switch t.Type {
	case model.TriggerCron:
		return schedule.ParseCron(c.CronExpression, c.Timezone)
	case model.TriggerInterval:
		return schedule.Interval{Anchor: t.AnchorAt, Every: seconds(c.IntervalSeconds)}, nil
	}
	return nil, fmt.Errorf("trigger type %s has no slots", t.Type)
}

// Arm sets a trigger's schedule state from its status and schedule_config
// as of now: the interval anchor, the next slot (none unless active) and
// the event settings. created says the trigger is new (start_immediately
// applies then only); otherwise it is being resumed or rescheduled, and
// the next slot is counted from now.
func Arm(t *store.Trigger, now time.Time, created bool) error {
	c, err := ParseSchedule(t.Schedule)
	if err != nil {
		return err
	}
	t.AnchorAt, t.NextScheduledAt = now, nil
	t.EventType, t.EventCollectionID, t.EventThreshold = "", "", 0
	if t.Type == model.TriggerEvent {
		t.EventType, t.EventThreshold = c.EventType, c.EventThreshold
		if c.CollectionID != nil {
			t.EventCollectionID = *c.CollectionID
		}
	}
	if t.Status != model.TriggerActive {
		return nil
	}
	var next time.Time
	switch t.Type {
	case model.TriggerCron, model.TriggerInterval:
		sched, err := slots(t, c)
		if err != nil {
			return err
		}
		if next = sched.Next(now); t.Type == model.TriggerInterval && c.StartImmediately && created {
			next = now
		}
	case model.TriggerConditional:
		next = now.Add(seconds(c.CheckIntervalSeconds))
	case model.TriggerEvent:
		return nil // due when the counter reaches the threshold
	}
	if !next.IsZero() {
		t.NextScheduledAt = &next
	}
	return nil
}

// Tick settles the runs triggers started, then fires every due trigger.
func (s *Scheduler) Tick(ctx context.Context) error {
	st := s.cfg.Store
	ids, err := st.UnsettledTriggers(ctx)
	if err != nil {
		return fmt.Errorf("listing unsettled triggers: %w", err)
	}
	for _, id := range ids {
		res, err := st.SettleTrigger(ctx, id, s.cfg.MaxFailures)
		if err != nil {
			return fmt.Errorf("settling trigger %s: %w", id, err)
		}
		s.count(res)
	}
	now := s.Now()
	due, err := st.DueTriggers(ctx, now)
	if err != nil {
		return fmt.Errorf("listing due triggers: %w", err)
	}
	var errs []error
	for i := range due {
		if err := s.consider(ctx, &due[i], now); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.cfg.Logger.Error("trigger not fired", "trigger_id", due[i].ID, "err", err)
			errs = append(errs, fmt.Errorf("trigger %s: %w", due[i].ID, err))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// count records a settled run in the metrics.
func (s *Scheduler) count(r store.Settled) {
	if r.Failed {
		s.cfg.Metrics.Failures.WithLabelValues(r.TriggerType).Inc()
	}
	if r.Paused {
		s.cfg.Metrics.Pauses.WithLabelValues(r.TriggerType).Inc()
		s.cfg.Logger.Warn("trigger paused after consecutive failed runs", "trigger_type", r.TriggerType)
	}
}

// consider fires a due trigger (or, for a conditional one whose condition
// does not hold, moves it to its next check).
func (s *Scheduler) consider(ctx context.Context, t *store.Trigger, now time.Time) error {
	c, err := ParseSchedule(t.Schedule)
	if err != nil {
		return err
	}
	req := store.FireRequest{TriggerID: t.ID, Version: t.Version, Now: now, MaxFailures: s.cfg.MaxFailures, Initial: initialResult}
	switch t.Type {
	case model.TriggerCron, model.TriggerInterval:
		sched, err := slots(t, c)
		if err != nil {
			return err
		}
		slot := *t.NextScheduledAt
		n, last, next, capped := schedule.Covered(sched, slot, now)
		req.Slot = store.Slot{ScheduledAt: &slot, Slots: n, CatchUp: n > 1 || now.Sub(slot) > s.cfg.CatchUpGrace}
		if req.Slot.CatchUp {
			count := fmt.Sprint(n)
			if capped {
				count = "at least " + count
			}
			req.Slot.Detail = fmt.Sprintf("catch-up: one run for %s slot(s) from %s to %s, missed while no clusterd was running", count, stamp(slot), stamp(last))
		} else {
			req.Slot.Detail = "scheduled slot " + stamp(slot)
		}
		if !next.IsZero() {
			req.Next, req.SkipNext = &next, &next
		}
	case model.TriggerEvent:
		verb := "added"
		if c.EventType == model.EventDocumentsWritten {
			verb = "written"
		}
		req.Slot.Detail = fmt.Sprintf("%d documents %s to %s since the last firing (threshold %d)", t.EventCounter, verb, t.EventCollectionID, t.EventThreshold)
		req.ResetCounter = true
		if c.CooldownSeconds > 0 {
			next := now.Add(seconds(c.CooldownSeconds))
			req.Next, req.Cooldown = &next, true
		}
		retry := now.Add(max(seconds(c.CooldownSeconds), s.cfg.BusyRetry))
		req.SkipNext = &retry
	case model.TriggerConditional:
		next := now.Add(seconds(c.CheckIntervalSeconds))
		ev := s.evaluate(ctx, t, c)
		check := &store.Check{At: now, Value: ev.value, Error: ev.err}
		if !ev.met {
			_, err := s.cfg.Store.AdvanceTrigger(ctx, t.ID, t.Version, &next, check)
			return err
		}
		req.Next, req.SkipNext, req.Check, req.Slot.Detail = &next, &next, check, ev.detail
	default:
		return fmt.Errorf("unknown trigger type %q", t.Type)
	}
	res, err := s.cfg.Store.FireTrigger(ctx, req)
	if err != nil {
		return err
	}
	s.count(res.Settled)
	switch {
	case res.Run != nil:
		s.cfg.Metrics.Fires.WithLabelValues(t.Type).Inc()
		s.cfg.Logger.Info("trigger fired", "trigger_id", t.ID, "trigger_type", t.Type, "run_id", res.Run.RunID, "detail", req.Slot.Detail)
		if s.cfg.Wake != nil {
			s.cfg.Wake()
		}
	case res.BlockedBy != nil:
		s.cfg.Metrics.Skips.WithLabelValues(t.Type).Inc()
		s.cfg.Logger.Info("trigger firing skipped: the cluster is busy", "trigger_id", t.ID, "blocking_run_id", res.BlockedBy.RunID)
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// initialResult is a triggered run's pending ExecutionResult, as execute
// writes it.
func initialResult(runID, _, clusterID string, created time.Time) (json.RawMessage, error) {
	return json.Marshal(model.ExecutionResult{RunID: runID, ClusterID: clusterID, Status: model.StatusPending, CreatedAt: model.Time{Time: created}})
}
