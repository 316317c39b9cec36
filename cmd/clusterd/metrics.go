package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/npy"
)

// runMetrics scores given labels on given data, like scikit-learn's
// silhouette_score, davies_bouldin_score and calinski_harabasz_score, and
// prints one JSON object with each value and the seconds it took.
func runMetrics(args []string) error {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	input := fs.String("input", "", "data: .npy or NDJSON")
	feature := fs.String("feature", "", "NDJSON feature name")
	labelsPath := fs.String("labels", "", "labels: 1-D int32 or int64 .npy, -1 for noise (excluded)")
	sample := fs.Int("silhouette-sample-size", -1, "silhouette on a seeded sample of this many points (-1: exact)")
	seed := fs.Int64("seed", engine.DefaultRandomState, "seed for the silhouette sample")
	threads := cpuThreadsFlag(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *input == "" || *labelsPath == "" {
		return usagef("--input and --labels are required")
	}
	m, err := loadInput(*input, *feature)
	if err != nil {
		return err
	}
	defer m.Close()
	labels, err := npy.ReadInt32File(*labelsPath)
	if err != nil {
		return usageError{err}
	}
	if len(labels) != m.N {
		return usagef("%d labels for %d rows", len(labels), m.N)
	}
	be := cpu.New(cpu.Options{Threads: *threads})
	in := engine.Input{X: m.X, N: m.N, D: m.D}
	if err := engine.CheckInput(in); err != nil {
		return usageError{err}
	}
	t0 := time.Now()
	sc, err := engine.Score(context.Background(), be, in, labels, *sample, *seed)
	if err != nil {
		return err
	}
	if sc == nil {
		return usagef("metrics need at least 2 clusters and fewer clusters than points")
	}
	sc.Seconds = time.Since(t0).Seconds()
	b, _ := json.Marshal(sc)
	fmt.Println(string(b))
	return nil
}
