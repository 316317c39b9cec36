// The worker pool every kernel runs its fixed-size tasks on.

package cpu

import (
	"context"
	"sync"
	"sync/atomic"
)

// parallelFor runs body(t) for t in [0, tasks) on up to workers goroutines,
// handing out tasks in increasing order. Which goroutine runs a task never
// matters to the result: bodies write disjoint outputs. It stops handing out
// tasks once ctx is done and then returns ctx.Err(); a nil ctx never stops.
func parallelFor(ctx context.Context, workers, tasks int, body func(t int)) error {
	if tasks <= 0 {
		return ctxErr(ctx)
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	workers = min(workers, tasks)
	if workers <= 1 {
		for t := 0; t < tasks; t++ {
			if err := ctxErr(ctx); err != nil {
				return err
			}
			body(t)
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks || ctxErr(ctx) != nil {
					return
				}
				body(t)
			}
		}()
	}
	wg.Wait()
	return ctxErr(ctx)
}

// ctxErr is ctx.Err(), or nil for a nil ctx.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
