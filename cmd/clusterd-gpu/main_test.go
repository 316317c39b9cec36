package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/backends"
)

// TestDevicesContract builds clusterd-gpu with and without the cuda tag
// and checks what `devices --json` promises package backends: a JSON array
// of devices and status 0, or nothing on standard output, one line on
// standard error and a non-zero status. On a machine without a GPU the cuda
// build must fail that way before gorgonia.org/cu's init can print to
// standard output (see gpu/internal/cuinit).
func TestDevicesContract(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, tags := range []string{"", "cuda"} {
		t.Run("tags="+tags, func(t *testing.T) {
			if tags == "cuda" && !haveCUDAHeaders() {
				t.Skip("no cuda.h: the cuda build needs the CUDA toolkit's headers and libcuda")
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
				var devices []backends.Device
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
				t.Logf("status %d: %s", exit.ExitCode(), msg)
			default:
				t.Fatal(err)
			}
		})
	}
}

func haveCUDAHeaders() bool {
	for _, p := range []string{"/usr/include/cuda.h", "/usr/local/cuda/include/cuda.h"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
