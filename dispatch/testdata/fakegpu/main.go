// Command fakegpu imitates clusterd-gpu for tests on machines without a
// GPU: `devices --json` lists one fake device (or fails like a machine
// without one when FAKEGPU_NODEVICE is set), and `worker` serves the worker
// protocol on the CPU, named "gpu:0". FAKEGPU_FAULT=crash makes every run
// kill the process mid-way, FAKEGPU_FAULT=oom fail with an out-of-memory
// error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/worker"
)

type fakeGPU struct{ kernels.Backend }

func (fakeGPU) Name() string { return "gpu:0" }

var errOOM = errors.New("CUDA_ERROR_OUT_OF_MEMORY: out of memory")

func (f fakeGPU) SumByLabel(ctx context.Context, x kernels.Dataset, labels []int32, k int, sums []float64, counts []int64) error {
	switch os.Getenv("FAKEGPU_FAULT") {
	case "crash":
		fmt.Fprintln(os.Stderr, "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered")
		os.Exit(3)
	case "oom":
		return errOOM
	}
	return f.Backend.SumByLabel(ctx, x, labels, k, sums, counts)
}

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "devices":
		if os.Getenv("FAKEGPU_NODEVICE") != "" {
			fmt.Fprintln(os.Stderr, "clusterd-gpu: no CUDA device: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)")
			os.Exit(dispatch.ExitNoDevice)
		}
		fmt.Println(`[{"index":0,"name":"Fake GPU","compute_capability":"9.0","memory_total_bytes":1000000000,"memory_free_bytes":900000000,"driver_version":"0.0"}]`)
	case "worker":
		err := worker.Serve(os.Stdin, os.Stdout, worker.ServeOptions{Backend: fakeGPU{cpu.New(cpu.Options{})}, Classify: func(err error) string {
			if errors.Is(err, errOOM) {
				return worker.KindOutOfMemory
			}
			return ""
		}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		os.Exit(2)
	}
}
