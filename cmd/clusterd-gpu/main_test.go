package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/internal/ari"
	"github.com/clusterd/clusterd/internal/npy"
)

// TestDevicesContract builds clusterd-gpu with and without the cuda tag
// and checks what `devices --json` promises package dispatch: a JSON array
// of devices and status 0, or nothing on standard output, one line on
// standard error and the status that names the cause: ExitNotBuilt without
// the cuda tag, ExitNoDevice on a machine without a GPU, where the cuda
// build must fail before gorgonia.org/cu's init can print to standard
// output (see gpu/internal/cuinit).
func TestDevicesContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	goBin := goCommand(t)
	for _, tags := range []string{"", "cuda", "cudaemu"} {
		t.Run("tags="+tags, func(t *testing.T) {
			if tags == "cuda" && !haveCUDAHeaders() {
				t.Skip("no cuda.h: the cuda build needs the CUDA toolkit's headers and libcuda")
			}
			if tags == "cudaemu" && !haveCXX() {
				t.Skip("no g++: the CPU model of the kernels is C++")
			}
			bin := filepath.Join(t.TempDir(), "clusterd-gpu")
			build := exec.Command(goBin, "build", "-tags", tags, "-o", bin, ".")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build -tags %q: %v\n%s", tags, err, out)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "devices", "--json")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			switch {
			case err == nil:
				var devices []dispatch.Device
				if err := json.Unmarshal(stdout.Bytes(), &devices); err != nil || len(devices) == 0 {
					t.Fatalf("status 0 but stdout is not a device list: %v\n%s", err, stdout.Bytes())
				}
				t.Logf("devices: %+v", devices)
			case errors.As(err, &exit):
				msg := strings.TrimSuffix(stderr.String(), "\n")
				if stdout.Len() != 0 || msg == "" || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "clusterd-gpu: ") {
					t.Fatalf("status %d, stdout %q, stderr %q: want no output and one line of reason", exit.ExitCode(), stdout.String(), stderr.String())
				}
				if tags == "" && msg != "clusterd-gpu: built without CUDA; build with -tags cuda" {
					t.Errorf("stderr %q", msg)
				}
				want := dispatch.ExitNoDevice
				if tags == "" {
					want = dispatch.ExitNotBuilt
				}
				if exit.ExitCode() != want {
					t.Errorf("status %d, want %d", exit.ExitCode(), want)
				}
				t.Logf("status %d: %s", exit.ExitCode(), msg)
			default:
				t.Fatal(err)
			}
		})
	}
}

// TestFitOnModel runs whole `clusterd fit --backend gpu` runs through the
// GPU worker process, with clusterd-gpu built on the CPU model of the
// kernels (-tags cudaemu, package gpu/internal/emu): the worker protocol,
// the gpu backend's host code and the CUDA kernels' own source, end to end,
// on a machine without a GPU. Each run must stay on gpu:0 (no fallback)
// and agree with the same run on the cpu backend: ARI ≥ 0.99 between the
// label sets, and the quality metrics within 1e-6 relative.
func TestFitOnModel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	if !haveCXX() {
		t.Skip("no g++: the CPU model of the kernels is C++")
	}
	dir := t.TempDir()
	goBin := goCommand(t)
	for _, b := range [][]string{
		{"build", "-tags", "cudaemu", "-o", filepath.Join(dir, "clusterd-gpu"), "."},
		{"build", "-o", filepath.Join(dir, "clusterd"), "../clusterd"},
	} {
		if out, err := exec.Command(goBin, b...).CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(b, " "), err, out)
		}
	}
	cases := []struct{ data, algorithm, params string }{
		{"blobs_overlap", "kmeans", `{"n_clusters":10}`},
		{"blobs_overlap", "hdbscan", `{"min_cluster_size":15}`},
		{"digits", "dbscan", `{"eps":20,"min_samples":5}`},
		{"digits", "agglomerative", `{"n_clusters":10}`},
	}
	for _, c := range cases {
		t.Run(c.data+"/"+c.algorithm, func(t *testing.T) {
			type result struct {
				Backend  string             `json:"backend"`
				Fallback *string            `json:"backend_fallback_reason"`
				Metrics  map[string]float64 `json:"metrics"`
			}
			var res [2]result
			var labels [2][]int32
			for i, backend := range []string{"gpu", "cpu"} {
				out, lab := filepath.Join(dir, backend+".json"), filepath.Join(dir, backend+".npy")
				cmd := exec.Command(filepath.Join(dir, "clusterd"), "fit", "--input", "../../engine/testdata/"+c.data+".npy",
					"--algorithm", c.algorithm, "--params", c.params, "--backend", backend, "--quiet",
					"--output", out, "--labels-out", lab)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("clusterd fit --backend %s: %v\n%s", backend, err, msg)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &res[i]); err != nil {
					t.Fatal(err)
				}
				if labels[i], err = npy.ReadInt32File(lab); err != nil {
					t.Fatal(err)
				}
			}
			if res[0].Backend != "gpu:0" || res[0].Fallback != nil {
				t.Fatalf("ran on %q (fallback %v), want gpu:0", res[0].Backend, res[0].Fallback)
			}
			score := ari.Index(labels[0], labels[1])
			if score < 0.99 {
				t.Errorf("ARI between the gpu and cpu labels %.4f, want ≥ 0.99", score)
			}
			for name, want := range res[1].Metrics {
				if got := res[0].Metrics[name]; math.Abs(got-want) > 1e-6*math.Abs(want) {
					t.Errorf("%s: gpu %g, cpu %g", name, got, want)
				}
			}
			t.Logf("ARI %.6f, metrics %v", score, res[0].Metrics)
		})
	}
}

// goCommand is the go command running this test: go test puts its
// GOROOT/bin first on PATH.
func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	return p
}

func haveCXX() bool {
	_, err := exec.LookPath("g++")
	return err == nil
}

func haveCUDAHeaders() bool {
	for _, p := range []string{"/usr/include/cuda.h", "/usr/local/cuda/include/cuda.h"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
