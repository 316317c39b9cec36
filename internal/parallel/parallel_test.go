package parallel

import (
	"context"
	"sync/atomic"
	"testing"
)

// TestFor: every task runs exactly once, whatever the number of
// goroutines; a canceled context stops it.
func TestFor(t *testing.T) {
	for _, g := range []int{0, 1, 2, 3, 64} {
		for _, tasks := range []int{0, 1, 5, 1000} {
			counts := make([]atomic.Int32, tasks)
			if err := For(context.Background(), g, tasks, func(i int) { counts[i].Add(1) }); err != nil {
				t.Fatal(err)
			}
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("g=%d tasks=%d: task %d ran %d times", g, tasks, i, c)
				}
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := 0
	if err := For(ctx, 2, 100, func(int) { ran++ }); err != context.Canceled || ran != 0 {
		t.Fatalf("canceled: %v, %d tasks ran", err, ran)
	}
}

// TestChunks covers [0, n) exactly once in chunks.
func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 7, 256, 1001} {
		seen := make([]atomic.Int32, n)
		Chunks(context.Background(), 3, n, 16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d: item %d seen %d times", n, i, seen[i].Load())
			}
		}
	}
}

// TestOrdered hands results over in task order.
func TestOrdered(t *testing.T) {
	var got []int
	if err := Ordered(context.Background(), 4, 500, func(i int) int { return i * i }, func(v int) { got = append(got, v) }); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d is %d", i, v)
		}
	}
	if len(got) != 500 {
		t.Fatalf("%d results", len(got))
	}
}
