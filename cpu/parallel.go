package cpu

import (
	"context"

	"github.com/clusterd/clusterd/internal/parallel"
)

// parallelFor runs body(t) for t in [0, tasks) on up to threads goroutines
// (package parallel's pool, shared with the engine); bodies write disjoint
// outputs, so which goroutine runs a task never matters to the result.
func parallelFor(ctx context.Context, threads, tasks int, body func(t int)) error {
	return parallel.For(ctx, max(threads, 1), tasks, body)
}

// ctxErr is ctx.Err(), or nil for a nil ctx.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
