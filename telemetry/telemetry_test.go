package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsFollowConventions runs Prometheus' own linter (promlint, the
// checks of `promtool check metrics`) over every metric New registers, each
// with one child so that the vectors are exported.
func TestMetricsFollowConventions(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	m.PointsAssigned.WithLabelValues("cpu").Add(10)
	m.DistanceFLOPs.WithLabelValues("cpu").Add(1e6)
	m.IterationDuration.WithLabelValues("kmeans", "cpu").Observe(0.01)
	m.RunDuration.WithLabelValues("kmeans", "cpu", "completed").Observe(1)
	m.RunsFinished.WithLabelValues("completed").Inc()
	m.Runs.WithLabelValues("pending").Set(2)
	m.QueueDepth.WithLabelValues("queued").Set(1)
	m.GPUMemoryBytes.WithLabelValues("gpu:0", "free").Set(1 << 30)
	m.BackendFallbacks.WithLabelValues("no_device").Inc()
	m.HTTPRequests.WithLabelValues("GET", "/v1/clusters/:id", "200").Inc()
	m.HTTPDuration.WithLabelValues("GET", "/v1/clusters/:id").Observe(0.002)
	m.ImportedBytes.Add(4096)
	m.SegmentBytes.Set(1 << 20)
	m.SegmentLiveBytes.Set(1 << 19)

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(families), 14; got != want {
		t.Errorf("%d metric families gathered, want %d (one per Metrics field)", got, want)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "clusterd_") {
			t.Errorf("metric %s lacks the clusterd_ prefix", f.GetName())
		}
	}
}

// TestRegistriesAreIndependent: New registers on the registry it is given
// only, so two servers in one process (as in the api tests) do not collide
// and count separately.
func TestRegistriesAreIndependent(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	ma, mb := New(a), New(b)
	ma.RunsFinished.WithLabelValues("failed").Inc()
	if got := testutil.ToFloat64(mb.RunsFinished.WithLabelValues("failed")); got != 0 {
		t.Errorf("second registry's counter is %v after incrementing the first's", got)
	}
	if got := testutil.ToFloat64(ma.RunsFinished.WithLabelValues("failed")); got != 1 {
		t.Errorf("first registry's counter is %v, want 1", got)
	}
}
