// Package parallel is the one goroutine pool of clusterd's hot loops: a
// fixed number of goroutines take tasks in increasing order until none is
// left. Which goroutine runs a task never matters to a result (tasks write
// disjoint outputs, or hand them back in order with Ordered), so results do
// not depend on the number of cores.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Goroutines returns n, or GOMAXPROCS when n ≤ 0.
func Goroutines(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// For runs body(t) for every t in [0, tasks) on up to goroutines
// goroutines (GOMAXPROCS when ≤ 0), handing tasks out in increasing order.
// It stops handing out tasks once ctx is done and returns ctx.Err(); a nil
// ctx never stops.
func For(ctx context.Context, goroutines, tasks int, body func(t int)) error {
	if tasks <= 0 {
		return ctxErr(ctx)
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	g := min(Goroutines(goroutines), tasks)
	if g == 1 {
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
	for range g {
		wg.Go(func() {
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks || ctxErr(ctx) != nil {
					return
				}
				body(t)
			}
		})
	}
	wg.Wait()
	return ctxErr(ctx)
}

// Chunks runs body(lo, hi) over [0, n) in chunks of chunk items (the last
// one shorter), as For does with tasks.
func Chunks(ctx context.Context, goroutines, n, chunk int, body func(lo, hi int)) error {
	chunk = max(chunk, 1)
	return For(ctx, goroutines, (n+chunk-1)/chunk, func(t int) {
		body(t*chunk, min(n, (t+1)*chunk))
	})
}

// Ordered computes produce(0), …, produce(tasks−1) on up to goroutines
// goroutines and hands the results to consume in task order, from the
// calling goroutine. At most two results per goroutine wait to be
// consumed, which bounds memory. It returns ctx.Err() when ctx ends first.
func Ordered[T any](ctx context.Context, goroutines, tasks int, produce func(int) T, consume func(T)) error {
	g := Goroutines(goroutines)
	results := make([]chan T, tasks)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	window := make(chan struct{}, 2*g)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := 0; i < tasks; i++ {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for i := range next {
				results[i] <- produce(i)
			}
		})
	}
	defer wg.Wait()
	for i := 0; i < tasks; i++ {
		select {
		case r := <-results[i]:
			consume(r)
			<-window
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ctxErr is ctx.Err(), or nil for a nil ctx.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}
