package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/clusterd/clusterd/backends"
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/worker"
)

// newManager resolves --backend for the file commands: "cpu", "gpu" (an
// error when no GPU can be used) or "auto" (the GPU when usable, else the
// CPU with the reason).
func newManager(mode string, workers int) (*backends.Manager, error) {
	m, err := backends.New(backends.Options{Mode: mode, CPUWorkers: workers})
	if err != nil {
		if errors.Is(err, backends.ErrNoGPU) {
			return nil, usagef("--backend gpu: %v", err)
		}
		return nil, usagef("--%v", err)
	}
	return m, nil
}

// runWithFallback runs spec on the manager's choice; a run that fails on a
// GPU for a reason the CPU does not share (out of memory, a fault, a dead
// worker) is rerun on the CPU. It returns the result, the backend that
// produced it and, when a GPU was not used, why.
func runWithFallback(ctx context.Context, m *backends.Manager, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, string, string, error) {
	exec, reason, err := m.Choose("")
	if err != nil {
		return nil, "", "", err
	}
	res, err := exec.Run(ctx, in, spec, progress)
	var we *worker.Error
	if errors.As(err, &we) && we.Retryable() && ctx.Err() == nil {
		reason = fmt.Sprintf("the run failed on %s (%s: %s) and was rerun on the CPU", exec.Name(), we.Kind, we.Message)
		exec = m.CPU()
		res, err = exec.Run(ctx, in, spec, progress)
	}
	return res, exec.Name(), reason, err
}
