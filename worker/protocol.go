// Package worker runs engine fits in another process and talks to it.
//
// The GPU worker (cmd/clusterd-gpu, built with -tags cuda) links CUDA and
// exits at start-up on a machine without a driver, so clusterd never links
// it: it starts the worker as a child process and hands it whole runs. The
// protocol is JSON lines over the child's stdin and stdout:
//
//	→ {"id":"r1","spec":{…engine.Spec…},"input":{"dir":"/tmp/…","n":N,"d":D}}
//	← {"id":"r1","progress":{…engine.Progress…}}            (any number)
//	← {"id":"r1","result":{…}}  or  {"id":"r1","error":{"kind":"…","message":"…"}}
//
// Bulk data never goes through the pipe: the input vectors are a raw
// little-endian float32 file x.f32 (N×D) in dir, which the worker maps into
// memory, and the worker writes the result's arrays next to it (labels,
// distances, centroids, and the preprocessed vectors and hierarchy leaves
// when there are any) as raw files. Serve, the worker's side, is backend
// agnostic: clusterd-gpu serves with the GPU backend, and `clusterd worker`
// serves the same protocol on the CPU (used by tests).
package worker

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/clusterd/clusterd/engine"
)

// Request asks the worker for one run.
type Request struct {
	ID    string      `json:"id"`
	Spec  engine.Spec `json:"spec"`
	Input InputRef    `json:"input"`
}

// InputRef locates the input: dir/x.f32 holds N×D float32 values.
type InputRef struct {
	Dir string `json:"dir"`
	N   int    `json:"n"`
	D   int    `json:"d"`
}

// Event is one line the worker writes: progress, a result or an error.
type Event struct {
	ID       string           `json:"id"`
	Progress *engine.Progress `json:"progress,omitempty"`
	Result   *ResultMeta      `json:"result,omitempty"`
	Error    *Error           `json:"error,omitempty"`
	// Hello is the first line a worker writes: its backend's name.
	Hello string `json:"hello,omitempty"`
}

// ResultMeta is an engine.Result without its large arrays, which are in files.
type ResultMeta struct {
	Algorithm   string        `json:"algorithm"`
	NumClusters int           `json:"num_clusters"`
	Clusters    []ClusterMeta `json:"clusters"`
	SubClusters []ClusterMeta `json:"sub_clusters,omitempty"`
	Metrics     *Metrics      `json:"metrics,omitempty"`
	// Stats are the result's, less KSelection.Silhouette, which is
	// KSilhouette (its values may be NaN).
	Stats       engine.Stats `json:"stats"`
	KSilhouette []Float      `json:"k_silhouette,omitempty"`
	// Preprocessed says the clustered vectors differ from the input; they
	// are then in vectors.f32, VectorsD wide.
	Preprocessed bool   `json:"preprocessed"`
	VectorsD     int    `json:"vectors_d"`
	HasLeaf      bool   `json:"has_leaf"`
	Backend      string `json:"backend"`
}

// ClusterMeta is an engine.Cluster; its centroid is row Label of centroids.f32
// (top-level) or of subcentroids.f32 (sub-clusters, in order).
type ClusterMeta struct {
	Label      int      `json:"label"`
	ID         string   `json:"id"`
	Members    int      `json:"members"`
	Variance   Float    `json:"variance"`
	MeanCosine *float64 `json:"mean_cosine,omitempty"`
	MinCosine  *float64 `json:"min_cosine,omitempty"`
	Parent     string   `json:"parent,omitempty"`
	Level      int      `json:"level,omitempty"`
}

// Error kinds. Kinds a caller may retry elsewhere (on the CPU) are
// KindDevice, KindOutOfMemory, KindCrash and KindInternal (a failure of
// the worker or of the run's files, not of the data); KindInput (bad data
// or parameters) would fail the same anywhere.
const (
	KindInput       = "input"
	KindOutOfMemory = "out_of_memory"
	KindDevice      = "device"
	KindCanceled    = "canceled"
	KindInternal    = "internal"
	KindCrash       = "crash" // the worker process died or broke the protocol
)

// Error is a failed run as the worker reports it.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Row is the offending input row of a data error, or −1.
	Row int `json:"row"`
	// Param is the offending parameter of a parameter error.
	Param string `json:"param,omitempty"`
}

func (e *Error) Error() string { return e.Kind + ": " + e.Message }

// Retryable reports whether the run may succeed on another backend.
func (e *Error) Retryable() bool {
	return e.Kind == KindDevice || e.Kind == KindOutOfMemory || e.Kind == KindCrash || e.Kind == KindInternal
}

// File names inside the run directory.
const (
	InputFile        = "x.f32"
	LabelsFile       = "labels.i32"
	DistancesFile    = "distances.f32"
	CentroidsFile    = "centroids.f32"
	SubCentroidsFile = "subcentroids.f32"
	VectorsFile      = "vectors.f32"
	LeafFile         = "leaf.i32"
)

// Metrics are engine.Metrics on the wire.
type Metrics struct {
	Silhouette       Float `json:"silhouette_score"`
	DaviesBouldin    Float `json:"davies_bouldin_index"`
	CalinskiHarabasz Float `json:"calinski_harabasz_score"`
}

// Float is a float64 on the wire: a JSON number when finite, else the
// string "NaN", "+Inf" or "-Inf". encoding/json refuses those values, and
// they occur: a silhouette is NaN when no sampled cluster has two members.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = Float(math.NaN())
	case `"+Inf"`:
		*f = Float(math.Inf(1))
	case `"-Inf"`:
		*f = Float(math.Inf(-1))
	default:
		var v float64
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("worker: float %s: %w", b, err)
		}
		*f = Float(v)
	}
	return nil
}

// wireResult splits what the worker sends of res into JSON-safe parts.
func wireResult(res *engine.Result) (*Metrics, engine.Stats, []Float) {
	var m *Metrics
	if res.Metrics != nil {
		m = &Metrics{Float(res.Metrics.Silhouette), Float(res.Metrics.DaviesBouldin), Float(res.Metrics.CalinskiHarabasz)}
	}
	stats := res.Stats
	var ks []Float
	if stats.KSelection != nil {
		k := *stats.KSelection
		for _, v := range k.Silhouette {
			ks = append(ks, Float(v))
		}
		k.Silhouette = nil
		stats.KSelection = &k
	}
	return m, stats, ks
}

// engineResult restores what wireResult split.
func (m *ResultMeta) engineResult() (*engine.Metrics, engine.Stats) {
	var em *engine.Metrics
	if m.Metrics != nil {
		em = &engine.Metrics{Silhouette: float64(m.Metrics.Silhouette), DaviesBouldin: float64(m.Metrics.DaviesBouldin),
			CalinskiHarabasz: float64(m.Metrics.CalinskiHarabasz)}
	}
	stats := m.Stats
	if stats.KSelection != nil {
		k := *stats.KSelection
		k.Silhouette = make([]float64, len(m.KSilhouette))
		for i, v := range m.KSilhouette {
			k.Silhouette[i] = float64(v)
		}
		stats.KSelection = &k
	}
	return em, stats
}
