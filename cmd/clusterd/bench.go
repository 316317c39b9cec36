package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clusterd/clusterd/bench"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
)

// benchWorkload is one whole run timed on every backend.
type benchWorkload struct {
	name    string
	n, d, k int
	iters   int
}

var benchWorkloads = map[string]benchWorkload{
	"w1":    {"w1", 200000, 128, 256, 20},
	"w2":    {"w2", 100000, 768, 100, 20},
	"large": {"large", 1000000, 768, 1000, 20},
	"small": {"small", 20000, 64, 20, 20},
}

// runBench times whole k-means runs (n_init 1, tol 0, a fixed number of
// iterations) on Gaussian blobs on every available backend, and prints
// time, points per second and the speed-up over the CPU.
func runBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	which := fs.String("workloads", "w1,w2", "comma-separated: w1 (200000×128, k=256), w2 (100000×768, k=100), large (1000000×768, k=1000), small (20000×64, k=20)")
	iters := fs.Int("iters", 0, "Lloyd iterations (default: the workload's, 20)")
	threads := cpuThreadsFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per run instead of a table")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	m, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeAuto, CPUThreads: *threads})
	if err != nil {
		return err
	}
	defer m.Close()
	st := m.Status()
	execs := []dispatch.Executor{m.CPU()}
	if len(st.Devices) > 0 {
		for range st.Devices {
			ex, _, err := m.Choose(dispatch.ModeGPU)
			if err != nil {
				return err
			}
			execs = append(execs, ex)
		}
	} else {
		fmt.Fprintf(os.Stderr, "clusterd bench: CPU only (%s)\n", st.GPUUnavailableReason)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	if !*asJSON {
		fmt.Fprintln(tw, "workload\tbackend\tseconds\tpoints/s\tGFLOP/s\tinertia\tspeed-up\t")
	}
	for _, name := range strings.Split(*which, ",") {
		w, ok := benchWorkloads[strings.TrimSpace(name)]
		if !ok {
			return usagef("unknown workload %q", name)
		}
		if *iters > 0 {
			w.iters = *iters
		}
		in := engine.Input{X: bench.Blobs(w.n, w.d, w.k, 7), N: w.n, D: w.d}
		params, _ := json.Marshal(map[string]any{"n_clusters": w.k, "n_init": 1, "max_iter": w.iters, "tol": 0})
		spec := engine.Spec{Algorithm: engine.KMeans, Params: params, SilhouetteSampleSize: 2000}
		var cpuSec float64
		seen := map[string]bool{}
		for _, ex := range execs {
			if seen[ex.Name()] {
				continue
			}
			seen[ex.Name()] = true
			var iterSec float64
			var iterCount int
			start := time.Now()
			res, err := ex.Fit(context.Background(), in, spec, func(p engine.Progress) {
				if p.Phase == "iterate" {
					iterSec += p.Seconds
					iterCount++
				}
			})
			if err != nil {
				return fmt.Errorf("%s on %s: %w", w.name, ex.Name(), err)
			}
			sec := time.Since(start).Seconds()
			if ex.Name() == "cpu" {
				cpuSec = sec
			}
			gflops := 2 * float64(w.n) * float64(w.k) * float64(w.d) * float64(iterCount) / iterSec / 1e9
			if *asJSON {
				b, _ := json.Marshal(map[string]any{"workload": w.name, "backend": ex.Name(), "n": w.n, "d": w.d, "k": w.k, "iterations": res.Stats.Iterations,
					"seconds": sec, "iteration_seconds": iterSec, "points_per_second": float64(w.n) * float64(iterCount) / iterSec, "gflops": gflops,
					"inertia": *res.Stats.Inertia, "speedup": cpuSec / sec})
				fmt.Println(string(b))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%.1f\t%.4g\t%.1f×\t\n", w.name, ex.Name(), sec, si(float64(w.n)*float64(iterCount)/iterSec), gflops, *res.Stats.Inertia, cpuSec/sec)
		}
	}
	return tw.Flush()
}
