package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"unsafe"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/internal/rawbytes"
	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/schema"
)

// ServeOptions configure the worker's side.
type ServeOptions struct {
	Backend kernels.Backend
	// Classify maps a backend error to a kind (KindOutOfMemory, KindDevice);
	// nil or "" means KindInternal.
	Classify func(error) string
}

// Serve answers requests from r on w until r ends: one run at a time, each
// with the engine on the given backend.
func Serve(r io.Reader, w io.Writer, opts ServeOptions) error {
	out := &eventWriter{enc: json.NewEncoder(w)}
	if err := out.send(Event{Hello: opts.Backend.Name()}); err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			if err := out.send(Event{Error: &Error{Kind: KindInternal, Message: "unreadable request: " + err.Error(), Row: -1}}); err != nil {
				return err
			}
			continue
		}
		ev := serveOne(req, opts, out)
		ev.ID = req.ID
		if err := out.send(ev); err != nil {
			// A value JSON cannot hold is this run's problem, not the
			// pipe's: report it and stay up for the next run.
			var ue *json.UnsupportedValueError
			if !errors.As(err, &ue) {
				return err
			}
			if err := out.send(Event{ID: req.ID, Error: &Error{Kind: KindInternal, Message: "the result cannot be sent: " + err.Error(), Row: -1}}); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

type eventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (e *eventWriter) send(ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.enc.Encode(ev)
}

// serveOne runs one request and returns its final event.
func serveOne(req Request, opts ServeOptions, out *eventWriter) Event {
	x, unmap, err := mapInput(req.Input)
	if err != nil {
		return Event{Error: &Error{Kind: KindInternal, Message: err.Error(), Row: -1}}
	}
	defer unmap()
	// Every event goes out, as in-process runs report them: "iterate"
	// events carry the points, FLOPs and seconds the service's metrics
	// add up. The client throttles what it stores.
	progress := func(p engine.Progress) {
		out.send(Event{ID: req.ID, Progress: &p})
	}
	res, err := engine.Fit(context.Background(), engine.Input{X: x, N: req.Input.N, D: req.Input.D}, req.Spec,
		engine.Options{Backend: opts.Backend, Progress: progress})
	if err != nil {
		return Event{Error: classify(err, opts.Classify)}
	}
	meta, err := writeResult(req.Input, x, res, opts.Backend.Name())
	if err != nil {
		return Event{Error: &Error{Kind: KindInternal, Message: "writing the result: " + err.Error(), Row: -1}}
	}
	return Event{Result: meta}
}

// classify turns an engine error into a protocol error.
func classify(err error, backend func(error) string) *Error {
	var de *engine.DataError
	var pe *engine.ParamError
	var pes schema.Problems
	var ple *engine.PipelineError
	switch {
	case errors.As(err, &de):
		return &Error{Kind: KindInput, Message: de.Msg, Row: de.Row}
	case errors.As(err, &pe):
		return &Error{Kind: KindInput, Message: pe.Msg, Param: pe.Param, Row: -1}
	case errors.As(err, &pes), errors.As(err, &ple), errors.Is(err, engine.ErrUnknownAlgorithm):
		return &Error{Kind: KindInput, Message: err.Error(), Row: -1}
	case errors.Is(err, kernels.ErrUnsupported):
		return &Error{Kind: KindOutOfMemory, Message: err.Error(), Row: -1}
	}
	kind := KindInternal
	if backend != nil {
		if k := backend(err); k != "" {
			kind = k
		}
	}
	return &Error{Kind: kind, Message: err.Error(), Row: -1}
}

// mapInput maps dir/x.f32 read-only into memory as N×D float32 values.
func mapInput(in InputRef) ([]float32, func(), error) {
	f, err := os.Open(filepath.Join(in.Dir, InputFile))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	size := int64(in.N) * int64(in.D) * 4
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() != size || size == 0 {
		return nil, nil, fmt.Errorf("input has %d bytes, want %d×%d×4 = %d", st.Size(), in.N, in.D, size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping the input: %w", err)
	}
	x := unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), in.N*in.D)
	return x, func() { syscall.Munmap(b) }, nil
}

// writeResult stores the result's arrays next to the input and returns the
// rest. The clustered vectors are written only when preprocessing made new
// ones (they are not the mapped input x).
func writeResult(in InputRef, x []float32, res *engine.Result, backend string) (*ResultMeta, error) {
	preprocessed := len(res.Vectors.X) > 0 && &res.Vectors.X[0] != &x[0]
	metrics, stats, ks := wireResult(res)
	meta := &ResultMeta{Algorithm: res.Algorithm, NumClusters: res.NumClusters, Metrics: metrics, Stats: stats, KSilhouette: ks,
		Preprocessed: preprocessed, VectorsD: res.Vectors.D, HasLeaf: res.Leaf != nil, Backend: backend}
	for _, c := range res.Clusters {
		meta.Clusters = append(meta.Clusters, clusterMeta(c))
	}
	var sub []float32
	for _, c := range res.SubClusters {
		meta.SubClusters = append(meta.SubClusters, clusterMeta(c))
		sub = append(sub, c.Centroid...)
	}
	files := map[string][]byte{
		LabelsFile:    rawbytes.Int32s(res.Labels),
		DistancesFile: rawbytes.Float32s(res.Distances),
		CentroidsFile: rawbytes.Float32s(res.Centroids),
	}
	if len(sub) > 0 {
		files[SubCentroidsFile] = rawbytes.Float32s(sub)
	}
	if res.Leaf != nil {
		files[LeafFile] = rawbytes.Int32s(res.Leaf)
	}
	if preprocessed {
		files[VectorsFile] = rawbytes.Float32s(res.Vectors.X)
	}
	for name, b := range files {
		if err := writeRaw(in.Dir, name, b); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

func clusterMeta(c engine.Cluster) ClusterMeta {
	return ClusterMeta{Label: c.Label, ID: c.ID, Members: c.Members, Variance: Float(c.Variance), MeanCosine: c.MeanCosine,
		MinCosine: c.MinCosine, Parent: c.Parent, Level: c.Level}
}
