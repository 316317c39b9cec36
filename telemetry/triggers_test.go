package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTriggerMetricsFollowConventions: promlint finds nothing, every
// trigger type is exported at zero from the start, and the metrics live on
// the registry they were given.
func TestTriggerMetricsFollowConventions(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewTriggerMetrics(reg)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(m.Fires); n != len(TriggerTypes) {
		t.Errorf("%d fires series, want one per trigger type", n)
	}
	m.Skips.WithLabelValues("cron").Inc()
	other := NewTriggerMetrics(prometheus.NewRegistry())
	if testutil.ToFloat64(other.Skips.WithLabelValues("cron")) != 0 || testutil.ToFloat64(m.Skips.WithLabelValues("cron")) != 1 {
		t.Error("registries are not independent")
	}
}
