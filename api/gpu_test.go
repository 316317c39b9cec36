package api_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/dispatch"
)

// fakeGPUManager starts a dispatch.Manager on the fake clusterd-gpu of
// dispatch/testdata (the CPU behind the worker protocol, named gpu:0).
func fakeGPUManager(t *testing.T) *dispatch.Manager {
	t.Helper()
	path := filepath.Join(t.TempDir(), dispatch.WorkerBinary)
	if out, err := exec.Command("go", "build", "-o", path, "../dispatch/testdata/fakegpu").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m, err := dispatch.New(dispatch.Options{Mode: dispatch.ModeAuto, WorkerPath: path, TmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestGPUWorkerAndFallback: runs go to the GPU worker; when the worker
// crashes mid-run, the run is rerun on the CPU, completes, and records why.
func TestGPUWorkerAndFallback(t *testing.T) {
	e := newEnv(t, envOpts{backends: fakeGPUManager(t)})
	cid := e.setup("g", blobDocs(3000, 8, 4, 21), `{"n_clusters":4}`)
	e.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	res := e.wait(cid)
	if res.Status != "completed" || res.Backend != "gpu:0" || res.BackendFallbackReason != nil {
		t.Fatalf("GPU run: %v %v %v", res.Status, res.Backend, str(res.BackendFallbackReason))
	}
	var st map[string]any
	e.ok("GET", "/v1/system/backends", nil, &st)
	if st["chosen"] != "gpu:0" {
		t.Fatalf("backends %v", st)
	}

	t.Setenv("FAKEGPU_FAULT", "crash")
	e2 := newEnv(t, envOpts{backends: fakeGPUManager(t)})
	cid = e2.setup("g", blobDocs(3000, 8, 4, 21), `{"n_clusters":4}`)
	e2.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	res = e2.wait(cid)
	reason := str(res.BackendFallbackReason)
	if res.Status != "completed" || res.Backend != "cpu" || !strings.Contains(reason, "illegal memory access") || !strings.Contains(reason, "rerun on the CPU") {
		t.Fatalf("fallback run: %v %v %q", res.Status, res.Backend, reason)
	}
	metrics := string(e2.ok("GET", "/metrics", nil, nil))
	if !strings.Contains(metrics, `clusterd_backend_fallbacks_total{reason="crash"} 1`) {
		t.Error("the fallback was not counted")
	}

	// A worker that finds no device: auto runs go to the CPU, and the
	// fallback is counted under the cause the worker's exit status names.
	t.Setenv("FAKEGPU_FAULT", "")
	t.Setenv("FAKEGPU_NODEVICE", "1")
	e3 := newEnv(t, envOpts{backends: fakeGPUManager(t)})
	e3.ok("GET", "/v1/system/backends", nil, &st)
	if st["chosen"] != "cpu" || st["gpu_unavailable_kind"] != dispatch.UnavailableNoDevice {
		t.Fatalf("backends without a device: %v", st)
	}
	cid = e3.setup("g", blobDocs(3000, 8, 4, 21), `{"n_clusters":4}`)
	e3.ok("POST", "/v1/clusters/"+cid+"/execute", nil, nil)
	res = e3.wait(cid)
	reason = str(res.BackendFallbackReason)
	if res.Status != "completed" || res.Backend != "cpu" || !strings.Contains(reason, "CUDA_ERROR_NO_DEVICE") {
		t.Fatalf("run without a device: %v %v %q", res.Status, res.Backend, reason)
	}
	metrics = string(e3.ok("GET", "/metrics", nil, nil))
	if !strings.Contains(metrics, `clusterd_backend_fallbacks_total{reason="no_device"} 1`) {
		t.Errorf("the fallback was not counted as no_device:\n%s", metrics)
	}
}
