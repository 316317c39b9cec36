package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/internal/seedschema"
)

// fakeGPUDir builds the fake clusterd-gpu (the CPU behind the worker
// protocol) into a directory to put on PATH.
func fakeGPUDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "clusterd-gpu"), "../../dispatch/testdata/fakegpu").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return dir
}

func fitBackend(t *testing.T, env []string, args ...string) (backend, reason string, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"fit", "--input", blobs, "--params", `{"n_clusters":8,"n_init":1}`, "--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fit: %v\n%s", err, errBuf.String())
	}
	if err := seedschema.Validate("ClusterExecutionResult", out); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Backend string  `json:"backend"`
		Reason  *string `json:"backend_fallback_reason"`
	}
	json.Unmarshal(out, &res)
	if res.Reason != nil {
		reason = *res.Reason
	}
	return res.Backend, reason, errBuf.String()
}

// TestFitOnGPUWorker: with clusterd-gpu on PATH, --backend auto runs on the
// GPU worker; when the worker crashes, the run completes on the CPU and the
// result says why.
func TestFitOnGPUWorker(t *testing.T) {
	dir := fakeGPUDir(t)
	path := "PATH=" + dir + ":" + os.Getenv("PATH")
	if be, reason, _ := fitBackend(t, []string{path}, "--backend", "auto"); be != "gpu:0" || reason != "" {
		t.Fatalf("auto with a GPU: backend %q, reason %q", be, reason)
	}
	be, reason, _ := fitBackend(t, []string{path, "FAKEGPU_FAULT=oom"}, "--backend", "auto")
	if be != "cpu" || !strings.Contains(reason, "out_of_memory") || !strings.Contains(reason, "rerun on the CPU") {
		t.Fatalf("auto with a failing GPU: backend %q, reason %q", be, reason)
	}
	be, reason, _ = fitBackend(t, []string{path, "FAKEGPU_NODEVICE=1"}, "--backend", "auto")
	if be != "cpu" || !strings.Contains(reason, "CUDA_ERROR_NO_DEVICE") {
		t.Fatalf("auto without a device: backend %q, reason %q", be, reason)
	}
	_, stderr, code := clusterd(t, "fit", "--input", blobs, "--backend", "gpu")
	if code != 2 || !strings.Contains(stderr, "no usable GPU") {
		t.Fatalf("--backend gpu without a worker: %d %s", code, stderr)
	}
}

func TestDevicesAndBench(t *testing.T) {
	out, stderr, code := clusterd(t, "devices", "--json", "--gpu-worker", "/nonexistent/clusterd-gpu")
	if code != 0 {
		t.Fatalf("devices: %d %s", code, stderr)
	}
	var st struct {
		Chosen string `json:"chosen"`
		Reason string `json:"gpu_unavailable_reason"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Chosen != "cpu" || st.Reason == "" {
		t.Fatalf("devices: %s", out)
	}
	out, stderr, code = clusterd(t, "bench", "--workloads", "small", "--iters", "2", "--json")
	if code != 0 {
		t.Fatalf("bench: %d %s", code, stderr)
	}
	var row struct {
		Workload string  `json:"workload"`
		Backend  string  `json:"backend"`
		Seconds  float64 `json:"seconds"`
		Speedup  float64 `json:"speedup"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &row); err != nil || row.Workload != "small" || row.Backend != "cpu" || row.Seconds <= 0 || row.Speedup != 1 {
		t.Fatalf("bench: %s (%v)", out, err)
	}
}
