package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/dataset"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/runner"
	"github.com/clusterd/clusterd/schema"
	"github.com/clusterd/clusterd/worker"
)

func runFit(args []string) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	input := fs.String("input", "", "input file: .npy (2-D float32/float64) or NDJSON documents (.ndjson, .jsonl)")
	feature := fs.String("feature", "", "NDJSON: the feature whose vectors are clustered (optional when documents have one)")
	algorithm := fs.String("algorithm", engine.KMeans, "clustering method: "+strings.Join(engine.Algorithms(), ", "))
	params := fs.String("params", "{}", "algorithm parameters as a JSON object (scikit-learn names)")
	seedFlag := fs.String("seed", "", "seed for every random choice (overrides random_state)")
	backendFlag := fs.String("backend", "auto", "where the kernels run: auto, cpu or gpu")
	threads := cpuThreadsFlag(fs)
	labelsOut := fs.String("labels-out", "", "write the labels as an int32 .npy (one per input row, -1 for noise)")
	output := fs.String("output", "-", "write the result JSON here (- for standard output)")
	pipeline := fs.String("pipeline", "", `steps around the algorithm, named as the API's vector_config: {"preprocessing_steps":[{"method":"normalize"},{"method":"pca","n_components":50}],"sample_size":N,"hierarchical":true,"max_hierarchy_depth":3,"effective_feature_method":"mean|median|medoid"}`)
	sample := fs.Int("silhouette-sample-size", 0, fmt.Sprintf("points above which the silhouette is computed on a seeded sample (0: %d, -1: always exact)", engine.DefaultSilhouetteSampleSize))
	quiet := fs.Bool("quiet", false, "no progress on standard error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (go tool pprof format) to this file")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *input == "" {
		return usagef("--input is required")
	}
	if !json.Valid([]byte(*params)) {
		return usagef("--params is not valid JSON: %s", *params)
	}
	spec := engine.Spec{Algorithm: *algorithm, Params: json.RawMessage(*params), SilhouetteSampleSize: *sample}
	if *seedFlag != "" {
		var s int64
		if _, err := fmt.Sscan(*seedFlag, &s); err != nil || s < 0 {
			return usagef("--seed must be a non-negative integer, got %q", *seedFlag)
		}
		spec.Seed = &s
	}
	if *pipeline != "" {
		vc, err := parsePipeline(*pipeline)
		if err != nil {
			return err
		}
		spec.Pipeline = runner.PipelineOf(vc)
		if err := engine.CheckPipeline(spec.Pipeline); err != nil {
			return usageError{err}
		}
	}
	// Reject bad parameters before reading a large file.
	if _, err := engine.ParseParams(spec.Algorithm, spec.Params); err != nil {
		return usageError{err}
	}
	bm, err := newManager(*backendFlag, *threads)
	if err != nil {
		return err
	}
	defer bm.Close()

	created := model.Now()
	progress := newProgressPrinter(os.Stderr, *quiet)
	progress.note("loading %s", *input)
	t0 := time.Now()
	m, err := loadInput(*input, *feature)
	if err != nil {
		return err
	}
	defer m.Close()
	loadSec := time.Since(t0).Seconds()
	// The vectors are one pointer-free allocation that is most of the heap:
	// under the default GOGC of 100 the garbage of the run could grow to
	// their size before a collection. Collections cost little here (the
	// vectors are never scanned), so the heap is kept within fitGCPercent
	// of what is live.
	debug.SetGCPercent(fitGCPercent)
	progress.note("loaded %d×%d in %.2fs (%.0f MB/s)", m.N, m.D, loadSec, float64(len(m.X))*4/1e6/max(loadSec, 1e-9))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, backendName, fallback, err := runWithFallback(ctx, bm, engine.Input{X: m.X, N: m.N, D: m.D}, spec, progress.update)
	progress.done()
	var we *worker.Error
	if errors.As(err, &we) && we.Kind == worker.KindInput {
		if we.Row >= 0 {
			return usagef("%s: %s", m.RowName(we.Row), we.Message)
		}
		return usagef("%s", we.Message)
	}
	if err != nil {
		var de *engine.DataError
		var pe *engine.ParamError
		var pes schema.Problems
		var ple *engine.PipelineError
		switch {
		case errors.As(err, &de):
			msg := de.Msg
			if de.Row >= 0 {
				msg = m.RowName(de.Row) + ": " + de.Msg
			}
			return usagef("%s", msg)
		case errors.As(err, &pe), errors.As(err, &pes), errors.As(err, &ple), errors.Is(err, engine.ErrUnknownAlgorithm):
			return usageError{err}
		}
		return err
	}
	res.Stats.PhaseSeconds.Load = loadSec
	t1 := time.Now()
	if *labelsOut != "" {
		if err := npy.WriteFile(*labelsOut, func(w io.Writer) error { return npy.WriteInt32(w, res.Labels) }); err != nil {
			return fmt.Errorf("writing labels: %w", err)
		}
	}
	out := model.ExecutionResult{RunID: ids.New("run_"), ClusterID: ids.New("clust_"), CreatedAt: created}
	// Writing the labels and this result are the CLI's artifacts (the
	// result's own encoding is counted up to here).
	res.Stats.PhaseSeconds.Artifacts = time.Since(t1).Seconds()
	runner.Completed(&out, res, backendName, model.Now())
	if fallback != "" {
		out.BackendFallbackReason = &fallback
	}
	progress.note("%d clusters after %d iterations, inertia %s, %.2fs, %s points/s on %s; phases: %v", res.NumClusters, res.Stats.Iterations,
		fmtPtr(res.Stats.Inertia), res.Stats.DurationSeconds, si(res.Stats.PointsPerSecond), backendName, res.Stats.PhaseSeconds)
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *output == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*output, b, 0o644)
}

// fitGCPercent is the GOGC of clusterd fit once the vectors are loaded.
const fitGCPercent = 5

func fmtPtr(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.6g", *v)
}

// loadInput reads the input file; a missing or unreadable file and bad
// content are usage errors (exit 2).
func loadInput(path, feature string) (*dataset.Matrix, error) {
	m, err := dataset.LoadFile(path, feature)
	if err != nil && (errors.Is(err, dataset.ErrInput) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
		return nil, usageError{err}
	}
	return m, err
}

// parsePipeline reads --pipeline: a JSON object with the pipeline fields of
// the API's vector_config (model.PipelineModel); every problem is reported.
func parsePipeline(s string) (*model.VectorConfig, error) {
	v, ps := model.PipelineModel.Decode([]byte(s), schema.Path{"--pipeline"})
	if len(ps) > 0 {
		return nil, usagef("%v", ps)
	}
	var vc model.VectorConfig
	if err := schema.Into(v, &vc); err != nil {
		return nil, usagef("--pipeline: %v", err)
	}
	return &vc, nil
}
