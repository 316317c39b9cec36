package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

type seqSource struct{ n, d, i int; v []float32 }

func (g *seqSource) Next() (DocumentInput, error) {
	if g.i == g.n {
		return DocumentInput{}, io.EOF
	}
	if g.v == nil {
		g.v = make([]float32, g.d)
	}
	g.v[0] = float32(g.i)
	g.i++
	return DocumentInput{ID: fmt.Sprintf("row_%d", g.i), Features: map[string][]float32{"e": g.v}}, nil
}

func TestExpImport(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	s := open(t)
	ctx := context.Background()
	ns, c := setupCollection(t, s)
	var mu sync.Mutex
	var lat []time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			t0 := time.Now()
			s.CreateCollection(ctx, ns.ID, fmt.Sprint("w", i), "", nil)
			mu.Lock()
			lat = append(lat, time.Since(t0))
			mu.Unlock()
		}
	}()
	t0 := time.Now()
	_, err := s.Upsert(ctx, c.ID, &seqSource{n: 500000, d: 32})
	el := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lat)
	t.Logf("import %v; writes n=%d p50 %v p99 %v max %v", el, len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])


}
