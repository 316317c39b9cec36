package main

import (
	"errors"

	"github.com/clusterd/clusterd/backends"
	"github.com/clusterd/clusterd/kernels"
)

// chooseBackend resolves --backend for the file commands: "cpu", "gpu" (an
// error when no GPU can be used) or "auto" (the GPU when usable, else the
// CPU, with the reason returned).
func chooseBackend(mode string, workers int) (kernels.Backend, string, error) {
	m, err := backends.New(backends.Options{Mode: mode, CPUWorkers: workers})
	if err != nil {
		if errors.Is(err, backends.ErrNoGPU) {
			return nil, "", usagef("--backend gpu: %v", err)
		}
		return nil, "", usagef("--%v", err)
	}
	return m.Choose("")
}
