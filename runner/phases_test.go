package runner

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/store"
)

// TestPhaseSeconds: a completed k-means execution reports every phase in
// stats.phase_seconds, the ones that did work above zero, adding up to at
// most the run's time; the "run finished" log line says the same.
func TestPhaseSeconds(t *testing.T) {
	w := newWorld(t)
	var logs bytes.Buffer
	w.r.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	rng := rand.New(rand.NewPCG(7, 8))
	x, _ := blobs(rng, 600, 8, 4, 0.5)
	docs := make([]store.DocumentInput, len(x))
	for i, v := range x {
		docs[i] = store.DocumentInput{ID: fmt.Sprintf("d%03d", i), Features: map[string][]float32{"e": v},
			Payload: []byte(fmt.Sprintf(`{"text":"topic %d words"}`, i%4))}
	}
	col := w.collection("c", docs)
	w.cluster("clust_p", "p", fmt.Sprintf(`{"collection_ids":[%q],"vector_config":{"clustering_method":"kmeans","algorithm_params":{"n_clusters":4}}}`, col.ID))
	run, res := w.completed("clust_p")
	p := res.Stats.PhaseSeconds
	for name, v := range map[string]float64{"load": p.Load, "preprocessing": p.Preprocessing, "seeding": p.Seeding, "iterations": p.Iterations,
		"metrics": p.Metrics, "projection": p.Projection, "labels": p.Labels, "artifacts": p.Artifacts, "outputs": p.Outputs} {
		if v <= 0 {
			t.Errorf("phase %s: %v s, want > 0 (phases %v)", name, v, p)
		}
	}
	if total, took := engine.Phases(p).Total(), run.CompletedAt.Sub(*run.StartedAt).Seconds(); total > took {
		t.Errorf("phases add up to %.4f s, more than the run's %.4f s", total, took)
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "run finished") {
			line = l
		}
	}
	for _, name := range []string{"load", "preprocessing", "seeding", "iterations", "metrics", "projection", "labels", "artifacts", "outputs"} {
		if !strings.Contains(line, name+"_seconds=") {
			t.Errorf("the run's last log line has no %s_seconds: %q", name, line)
		}
	}
}
