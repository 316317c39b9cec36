package main

import (
	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/kernels"
)

// chooseBackend resolves --backend: "cpu", "gpu" (an error when no GPU can
// be used) or "auto" (the GPU when usable, else the CPU with the reason).
func chooseBackend(name string, workers int) (kernels.Backend, string, error) {
	switch name {
	case "cpu":
		return cpu.New(cpu.Options{Workers: workers}), "", nil
	case "auto":
		return cpu.New(cpu.Options{Workers: workers}), "no GPU worker: this build has no GPU support yet", nil
	case "gpu":
		return nil, "", usagef("--backend gpu: no usable GPU (this build has no GPU support yet)")
	default:
		return nil, "", usagef("--backend must be auto, cpu or gpu, got %q", name)
	}
}
