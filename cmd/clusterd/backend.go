package main

import (
	"context"
	"errors"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/engine"
)

// newManager resolves --backend for the file commands: "cpu", "gpu" (an
// error when no GPU can be used) or "auto" (the GPU when usable, else the
// CPU with the reason).
func newManager(mode string, threads int) (*dispatch.Manager, error) {
	m, err := dispatch.New(dispatch.Options{Mode: mode, CPUThreads: threads})
	if err != nil {
		if errors.Is(err, dispatch.ErrNoGPU) {
			return nil, usagef("--backend gpu: %v", err)
		}
		return nil, usagef("--%v", err)
	}
	return m, nil
}

// runWithFallback runs spec on the manager's choice; a run that fails on a
// GPU for a reason the CPU does not share (out of memory, a fault, a dead
// worker) is rerun on the CPU. It returns the result, the backend that
// produced it and, when a GPU was not used, why ("" when one was).
func runWithFallback(ctx context.Context, m *dispatch.Manager, in engine.Input, spec engine.Spec, progress func(engine.Progress)) (*engine.Result, string, string, error) {
	exec, fallback, err := m.Choose("")
	if err != nil {
		return nil, "", "", err
	}
	res, err := exec.Fit(ctx, in, spec, progress)
	if f := dispatch.RetryOnCPU(ctx, exec, err); f != nil {
		fallback, exec = f, m.CPU()
		res, err = exec.Fit(ctx, in, spec, progress)
	}
	if fallback == nil {
		return res, exec.Name(), "", err
	}
	return res, exec.Name(), fallback.Reason, err
}
