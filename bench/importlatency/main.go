// Command importlatency measures how long small writes wait while a large
// import runs: it starts a clusterd serve child on a fresh data directory,
// imports a rows×dim float32 .npy into one collection, and meanwhile sends,
// one after another with a pause between them, small writes: a collection
// create (POST /v1/collections) and a 4-document upsert into another
// collection (POST …/documents). It reports the import's time and the
// latency distribution (p50, p99, max) of each kind of write that started
// while the import ran.
//
//	go run ./bench/importlatency -rows 2000000 -dim 32
//
// Not a test: it takes about a minute and its figures depend on the machine.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/bench/internal/child"
	"github.com/clusterd/clusterd/internal/npy"
)

func main() {
	rows := flag.Int("rows", 2_000_000, "rows of the imported .npy")
	dim := flag.Int("dim", 32, "columns of the imported .npy")
	pause := flag.Duration("pause", 10*time.Millisecond, "pause between two small writes of one writer; 0: no small writes (the import alone)")
	bin := flag.String("clusterd", "", "clusterd binary (default: go build ./cmd/clusterd)")
	work := flag.String("work", "", "working directory (default: a new temporary one, removed at the end)")
	flag.Parse()
	if err := run(*rows, *dim, *pause, *bin, *work); err != nil {
		log.Fatal(err)
	}
}

func run(rows, dim int, pause time.Duration, bin, work string) error {
	if work == "" {
		d, err := os.MkdirTemp("", "importlatency-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	if bin == "" {
		var err error
		if bin, err = child.Build(work); err != nil {
			return err
		}
	}
	file := filepath.Join(work, fmt.Sprintf("x_%d_%d.npy", rows, dim))
	if err := writeMatrix(file, rows, dim); err != nil {
		return err
	}
	data := filepath.Join(work, "data")
	if err := os.RemoveAll(data); err != nil { // a fresh store on every run
		return err
	}
	srv, err := child.New(bin, data)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Kill(syscall.SIGTERM)
	for _, name := range []string{"big", "small"} {
		if err := srv.JSON("POST", "/v1/collections", map[string]any{"collection_name": name}, nil); err != nil {
			return err
		}
	}

	var importing atomic.Bool
	importing.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	lat := map[string][]time.Duration{}
	var mu sync.Mutex
	failures := 0
	writer := func(kind string, req func(i int) (int, []byte, error)) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(pause):
			}
			t0 := time.Now()
			during := importing.Load()
			code, body, err := req(i)
			el := time.Since(t0)
			mu.Lock()
			if err != nil || code != 200 {
				failures++
				log.Printf("%s: %d %v %s", kind, code, err, body)
			} else if during && importing.Load() {
				lat[kind] = append(lat[kind], el)
			}
			mu.Unlock()
		}
	}
	if pause > 0 {
		wg.Add(2)
		go writer("create collection", func(i int) (int, []byte, error) {
			return srv.Do("POST", "/v1/collections", "", map[string]any{"collection_name": fmt.Sprintf("w%d", i)})
		})
		go writer("upsert 4 documents", func(i int) (int, []byte, error) {
			docs := make([]map[string]any, 4)
			for j := range docs {
				docs[j] = map[string]any{"document_id": fmt.Sprintf("d%d", (4*i+j)%1000), "features": map[string]any{"e": []float32{1, 2, float32(j)}}}
			}
			return srv.Do("POST", "/v1/collections/small/documents", "", map[string]any{"documents": docs})
		})
	}

	f, err := os.Open(file)
	if err != nil {
		return err
	}
	t0 := time.Now()
	code, body, err := srv.Do("POST", "/v1/collections/big/documents/import?feature=emb", "application/x-npy", f)
	importSec := time.Since(t0).Seconds()
	importing.Store(false)
	f.Close()
	close(stop)
	wg.Wait()
	if err != nil || code != 200 {
		return fmt.Errorf("import: %d %v %s", code, err, body)
	}
	var st struct {
		Inserted int `json:"inserted"`
	}
	json.Unmarshal(body, &st)
	fmt.Printf("import: %d rows × %d (%.0f MB) in %.1f s (%.0f rows/s), inserted %d\n",
		rows, dim, float64(rows*dim*4)/1e6, importSec, float64(rows)/importSec, st.Inserted)
	for _, kind := range []string{"create collection", "upsert 4 documents"} {
		d := lat[kind]
		slices.Sort(d)
		if len(d) == 0 {
			fmt.Printf("%s: no write completed during the import\n", kind)
			continue
		}
		q := func(p float64) float64 {
			return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
		}
		fmt.Printf("%s during the import: n=%d p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", kind, len(d), q(0.5), q(0.99), float64(d[len(d)-1].Microseconds())/1000)
	}
	fmt.Printf("failed small writes: %d\n", failures)
	return nil
}

// writeMatrix writes a rows×dim float32 .npy of uniform noise, streaming.
func writeMatrix(path string, rows, dim int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 4<<20)
	if err := npy.WriteFloat32Header(w, rows, dim); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	row := make([]float32, dim)
	for i := 0; i < rows; i++ {
		for j := range row {
			row[j] = r.Float32()
		}
		if err := npy.WriteRows(w, row); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
