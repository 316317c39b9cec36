package telemetry

import "github.com/prometheus/client_golang/prometheus"

// TriggerMetrics count what cluster triggers do, by trigger type (cron,
// interval, event, conditional).
type TriggerMetrics struct {
	// Fires counts firings that started a run.
	Fires *prometheus.CounterVec
	// Skips counts firings skipped because the cluster had a run queued or
	// processing.
	Skips *prometheus.CounterVec
	// Failures counts runs started by triggers that failed (a cancel is not
	// a failure).
	Failures *prometheus.CounterVec
	// Pauses counts triggers paused for consecutive failures.
	Pauses *prometheus.CounterVec
}

// TriggerTypes are the trigger_type label's values, exported at zero from
// the start so that rates need no special case for "never happened".
var TriggerTypes = []string{"cron", "interval", "event", "conditional"}

// NewTriggerMetrics creates the trigger metrics and registers them on reg.
func NewTriggerMetrics(reg prometheus.Registerer) *TriggerMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"trigger_type"})
	}
	m := &TriggerMetrics{
		Fires:    counter("clusterd_trigger_fires_total", "Trigger firings that started a run, by trigger type."),
		Skips:    counter("clusterd_trigger_skips_total", "Trigger firings skipped because the cluster had a run queued or processing, by trigger type."),
		Failures: counter("clusterd_trigger_failures_total", "Runs started by triggers that failed, by trigger type."),
		Pauses:   counter("clusterd_trigger_pauses_total", "Triggers paused after consecutive failed runs, by trigger type."),
	}
	for _, c := range []*prometheus.CounterVec{m.Fires, m.Skips, m.Failures, m.Pauses} {
		for _, t := range TriggerTypes {
			c.WithLabelValues(t)
		}
	}
	reg.MustRegister(m.Fires, m.Skips, m.Failures, m.Pauses)
	return m
}
