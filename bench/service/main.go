// Command service measures a large collection through the service: it
// imports the vectors of a float32 .npy as Parquet (an id column and a
// list<float> column, written next to the .npy on first use, its pages
// compressed with -parquet-codec; POST …/documents/import as
// application/vnd.apache.parquet), then the .npy itself (as
// application/x-npy), each into a clusterd serve child of its own on an
// empty data directory, runs k-means on the .npy's collection (POST
// /v1/clusters/{id}/execute, polled until it completes), imports the .npy
// again into its collection (every document replaced) and prints one JSON
// object: each import's seconds and MB/s, the execution's wall time as the
// client saw it, and its stats (phase_seconds among them).
//
//	go run ./bench/service -npy bench/out/w4.npy -params '{"n_clusters":1000,"n_init":1,"max_iter":20,"tol":0,"random_state":1}'
//
// Not a test: its figures depend on the machine. bench/compare.sh runs it
// after the CLI on the same file, for the execute-versus-CLI ratio.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/clusterd/clusterd/bench/internal/child"
	"github.com/clusterd/clusterd/internal/npy"
)

func main() {
	in := flag.String("npy", "", "float32 .npy to import and cluster (required)")
	params := flag.String("params", `{"n_clusters":8}`, "k-means algorithm_params (JSON)")
	bin := flag.String("clusterd", "", "clusterd binary (default: go build ./cmd/clusterd)")
	work := flag.String("work", "", "working directory for the data directory (default: a new temporary one, removed at the end)")
	withParquet := flag.Bool("parquet", true, "also import the vectors as Parquet")
	codec := flag.String("parquet-codec", "none", "compression of the Parquet copy's pages: none, snappy (pyarrow's default) or zstd")
	flag.Parse()
	if *in == "" {
		log.Fatal("-npy is required")
	}
	if _, ok := parquetCodecs[*codec]; !ok {
		log.Fatalf("-parquet-codec %q: want none, snappy or zstd", *codec)
	}
	out, err := run(*in, *params, *bin, *work, *withParquet, *codec)
	if err != nil {
		log.Fatal(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// importResult is one import's figures.
type importResult struct {
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	MBPerSec   float64 `json:"mb_per_second"`
	Documents  int     `json:"documents"`
	ServerSays float64 `json:"server_mb_per_second"`
}

type result struct {
	NPY     importResult `json:"import_npy"`
	Parquet importResult `json:"import_parquet"`
	// Reimport is the .npy imported again into its collection after the
	// execution: every document replaced.
	Reimport importResult    `json:"reimport_npy"`
	Execute  float64         `json:"execute_seconds"`
	Status   string          `json:"status"`
	Stats    json.RawMessage `json:"stats"`
	Server   string          `json:"server_log_tail,omitempty"`
}

// parquetCodecs are the -parquet-codec choices.
var parquetCodecs = map[string]compress.Codec{"none": &parquet.Uncompressed, "snappy": &parquet.Snappy, "zstd": &parquet.Zstd}

func run(in, params, bin, work string, withParquet bool, codec string) (*result, error) {
	if work == "" {
		d, err := os.MkdirTemp("", "service-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	if bin == "" {
		var err error
		if bin, err = child.Build(work); err != nil {
			return nil, err
		}
	}
	pq := strings.TrimSuffix(in, ".npy") + ".parquet"
	if codec != "none" {
		pq = strings.TrimSuffix(in, ".npy") + "." + codec + ".parquet"
	}
	if withParquet {
		if err := writeParquet(in, pq, parquetCodecs[codec]); err != nil {
			return nil, fmt.Errorf("writing %s: %w", pq, err)
		}
	}
	res := &result{}
	type upload struct {
		name, file, ct string
		out            *importResult
	}
	uploads := []upload{{"npy", in, "application/x-npy", &res.NPY}}
	if withParquet {
		uploads = append(uploads, upload{"parquet", pq, "application/vnd.apache.parquet", &res.Parquet})
	}
	// Each import goes into a server of its own on an empty data directory,
	// so that the two figures measure the same thing: in one database the
	// second import's rows go into B-trees that hold the first's (and,
	// while collection ids were random, into their middle when its id
	// sorted first: 69–73 against 79–84 MB/s, docs/PERFORMANCE.md). The
	// .npy server stays up for the run.
	var srv *child.Server
	for i := len(uploads) - 1; i >= 0; i-- { // the .npy last, so its server is the one kept
		c := uploads[i]
		data := filepath.Join(work, "data-"+c.name)
		if err := os.RemoveAll(data); err != nil {
			return nil, err
		}
		s, err := child.New(bin, data)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(data) // after the server stopped (deferred calls run last first)
		if err := s.Start(); err != nil {
			return nil, err
		}
		if err := importFile(s, c.name, c.file, c.ct, c.out); err != nil {
			s.Kill(syscall.SIGTERM)
			return nil, err
		}
		if i > 0 {
			s.Kill(syscall.SIGTERM)
			if err := os.RemoveAll(data); err != nil {
				return nil, err
			}
			continue
		}
		srv = s
		defer srv.Kill(syscall.SIGTERM)
	}
	// The imports leave more than a gigabyte of dirty pages (segment files,
	// SQLite's log and database) that the kernel writes back over the next
	// seconds, taking CPU and memory bandwidth from whatever runs then.
	// They are flushed first, so the execution is measured as a collection
	// imported earlier runs (and as the CLI reads a file written earlier).
	syscall.Sync()
	var cl struct {
		ClusterID string `json:"cluster_id"`
	}
	if err := srv.JSON("POST", "/v1/clusters", map[string]any{"collection_ids": []string{"npy"},
		"vector_config": map[string]any{"clustering_method": "kmeans", "backend": "cpu", "algorithm_params": json.RawMessage(params)}}, &cl); err != nil {
		return nil, err
	}
	t0 := time.Now()
	var task struct {
		Data map[string]string `json:"additional_data"`
	}
	if err := srv.JSON("POST", "/v1/clusters/"+cl.ClusterID+"/execute", nil, &task); err != nil {
		return nil, err
	}
	runID := task.Data["run_id"]
	for {
		var ex struct {
			Status string          `json:"status"`
			Error  *string         `json:"error_message"`
			Stats  json.RawMessage `json:"stats"`
		}
		if err := srv.JSON("GET", "/v1/clusters/"+cl.ClusterID+"/executions/"+runID, nil, &ex); err != nil {
			return nil, err
		}
		if ex.Status == "completed" || ex.Status == "failed" {
			res.Execute, res.Status, res.Stats = time.Since(t0).Seconds(), ex.Status, ex.Stats
			if ex.Error != nil {
				res.Status += ": " + *ex.Error
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every document replaced, after the execution (the import answers
	// before its replacements are folded into their rows, which would
	// slow an execution that followed).
	if err := postFile(srv, "npy", in, "application/x-npy", &res.Reimport); err != nil {
		return nil, err
	}
	// The run's log line (its phases), for the record.
	for _, line := range strings.Split(srv.Log.String(), "\n") {
		if strings.Contains(line, "run finished") {
			res.Server = line
		}
	}
	return res, nil
}

// importFile creates the collection name on srv and imports file into it
// (Content-Type ct, feature "emb"), recording the upload's figures in out.
func importFile(srv *child.Server, name, file, ct string, out *importResult) error {
	if err := srv.JSON("POST", "/v1/collections", map[string]any{"collection_name": name}, nil); err != nil {
		return err
	}
	return postFile(srv, name, file, ct, out)
}

// postFile imports file into srv's collection name (Content-Type ct,
// feature "emb"), recording the upload's figures in out.
func postFile(srv *child.Server, name, file, ct string, out *importResult) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	t0 := time.Now()
	code, body, err := srv.Do("POST", "/v1/collections/"+name+"/documents/import?feature=emb", ct, f)
	sec := time.Since(t0).Seconds()
	if err != nil || code != 200 {
		return fmt.Errorf("import %s: %d %v %s", name, code, err, body)
	}
	var ans struct {
		Processed int     `json:"processed"`
		MBPerSec  float64 `json:"mb_per_second"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	*out = importResult{Bytes: st.Size(), Seconds: sec, MBPerSec: float64(st.Size()) / 1e6 / sec, Documents: ans.Processed, ServerSays: ans.MBPerSec}
	return nil
}

// vectorRow is one row of the Parquet copy.
type vectorRow struct {
	DocumentID string    `parquet:"document_id"`
	Emb        []float32 `parquet:"emb,list"`
}

// writeParquet writes the rows of the .npy at in as Parquet at out (ids
// row_0, row_1, …, as the .npy import names them), unless out exists.
func writeParquet(in, out string, codec compress.Codec) error {
	if _, err := os.Stat(out); err == nil {
		return nil
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := npy.NewMatrixReader(bufio.NewReaderSize(f, 4<<20))
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	o, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer o.Close()
	w := parquet.NewGenericWriter[vectorRow](o, parquet.Compression(codec))
	buf := make([]float32, 4096*m.Cols)
	rows := make([]vectorRow, 0, 4096)
	for i := 0; ; {
		got, err := m.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rows = rows[:0]
		for r := 0; r < got; r++ {
			rows = append(rows, vectorRow{DocumentID: "row_" + strconv.Itoa(i), Emb: buf[r*m.Cols : (r+1)*m.Cols]})
			i++
		}
		if _, err := w.Write(rows); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := o.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
