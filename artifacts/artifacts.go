// Package artifacts writes and reads a run's Parquet artifacts:
// centroids.parquet (one row per cluster, with its vector, statistics,
// labels and scatter-plot position) and members.parquet (one row per point,
// with its cluster, position and distance to the centroid). Both are the
// downloadable files of the API and the source of its artifacts and data
// endpoints. They live in a blob.Bucket under runs/<key>/, where key is
// the run's store.Run.ArtifactsKey: the run id and the lease token of the
// claim that wrote them (<run_id>/t<token>; in the default file:// bucket
// at the data directory, the files data/runs/<run_id>/t<token>/*.parquet).
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/clusterd/clusterd/blob"
	"github.com/parquet-go/parquet-go"
)

// File names under a run's prefix.
const (
	CentroidsFile = "centroids.parquet"
	MembersFile   = "members.parquet"
)

// Centroid is one row of centroids.parquet. X, Y, Z are the centroid's
// position on the run's first three principal components (the 2-D plot uses
// X and Y); they, CentroidVector and Variance are empty for clusters without
// vectors (attribute clusters of documents without features). FeatureURI is
// the feature of a multi_feature_strategy "independent" run's cluster;
// Attributes the JSON object of an attribute cluster's values.
type Centroid struct {
	ClusterID       string    `parquet:"cluster_id" json:"cluster_id"`
	NumMembers      int64     `parquet:"num_members" json:"num_members"`
	Label           *string   `parquet:"label,optional" json:"label"`
	Summary         *string   `parquet:"summary,optional" json:"summary"`
	Keywords        []string  `parquet:"keywords,list" json:"keywords"`
	Variance        *float64  `parquet:"variance,optional" json:"variance"`
	X               *float32  `parquet:"x,optional" json:"x"`
	Y               *float32  `parquet:"y,optional" json:"y"`
	Z               *float32  `parquet:"z,optional" json:"z"`
	ParentClusterID *string   `parquet:"parent_cluster_id,optional" json:"parent_cluster_id"`
	HierarchyLevel  int32     `parquet:"hierarchy_level" json:"hierarchy_level"`
	CentroidVector  []float32 `parquet:"centroid_vector,list" json:"centroid_vector"`
	FeatureURI      *string   `parquet:"feature_uri,optional" json:"feature_uri,omitempty"`
	Attributes      *string   `parquet:"attributes,optional" json:"attributes,omitempty"`
}

// Member is one row of members.parquet. DistanceToCentroid is the Euclidean
// (not squared) distance to the cluster's centroid, null for noise and
// when the run had no vectors (then X, Y, Z are null too). An
// "independent" run has one row per document and feature, FeatureURI
// saying which (the first feature's rows first). Probability is, for a
// Gaussian mixture, the posterior probability of the member's top-level
// component (null for other algorithms).
type Member struct {
	PointID            string   `parquet:"point_id" json:"point_id"`
	ClusterID          string   `parquet:"cluster_id" json:"cluster_id"`
	X                  *float32 `parquet:"x,optional" json:"x"`
	Y                  *float32 `parquet:"y,optional" json:"y"`
	Z                  *float32 `parquet:"z,optional" json:"z"`
	DistanceToCentroid *float32 `parquet:"distance_to_centroid,optional" json:"distance_to_centroid"`
	FeatureURI         *string  `parquet:"feature_uri,optional" json:"feature_uri,omitempty"`
	Probability        *float32 `parquet:"probability,optional" json:"probability,omitempty"`
}

// ErrMissing reports a run without artifacts (not completed, or deleted).
var ErrMissing = errors.New("artifacts: not found")

// Store reads and writes runs' artifacts in a bucket.
type Store struct{ b blob.Bucket }

// New returns the artifacts of the runs in b.
func New(b blob.Bucket) *Store { return &Store{b: b} }

// Local returns the artifacts under the data directory dir (dir/runs/...),
// the layout of a store without --blob-url.
func Local(dir string) *Store { return New(blob.Dir(dir)) }

// Bucket is where the artifacts live.
func (s *Store) Bucket() blob.Bucket { return s.b }

// runsPrefix is the prefix of every run's keys.
const runsPrefix = "runs/"

// Prefix is the key prefix of the artifacts under key: a run id (every
// claim's artifacts of the run) or a run's ArtifactsKey (one claim's).
func Prefix(key string) string { return runsPrefix + key + "/" }

// Write stores both files of a run under key (the claim's
// store.Run.ArtifactsKey), replacing what was stored under it before
// (objects are immutable, so those are deleted first). Each
// file becomes visible only once written whole (see blob.Bucket.Put); in a
// file:// bucket each is synced and linked to its name, and the directories
// synced, so that the names survive a power loss as well as the contents.
func (s *Store) Write(ctx context.Context, key string, centroids []Centroid, members []Member) error {
	return s.WriteFunc(ctx, key, centroids, len(members), func(i int) Member { return members[i] })
}

// WriteFunc is Write with the members made one at a time, member(i) for i
// from 0 to n−1 in order, and encoded rowChunk at a time: a run's million
// members are never all in memory as rows (96 MB of them, which took a
// third of a second to make and more to collect).
func (s *Store) WriteFunc(ctx context.Context, key string, centroids []Centroid, n int, member func(i int) Member) error {
	if err := s.b.DeletePrefix(ctx, Prefix(key)); err != nil {
		return fmt.Errorf("artifacts: clearing run %s: %w", key, err)
	}
	if err := writeFile(ctx, s.b, Prefix(key)+CentroidsFile, len(centroids), func(i int) Centroid { return centroids[i] }); err != nil {
		return err
	}
	return writeFile(ctx, s.b, Prefix(key)+MembersFile, n, member)
}

// rowChunk is how many rows writeFile hands the encoder at once.
const rowChunk = 16384

// writeFile streams the Parquet encoding of the n rows row(0), …,
// row(n−1) into the bucket (through a pipe: the file is never whole in
// memory, nor the rows).
func writeFile[T any](ctx context.Context, b blob.Bucket, key string, n int, row func(i int) T) error {
	pr, pw := io.Pipe()
	go func() {
		w := parquet.NewGenericWriter[T](pw, parquet.Compression(&parquet.Snappy))
		var err error
		chunk := make([]T, min(n, rowChunk))
		for lo := 0; lo < n && err == nil; lo += rowChunk {
			rows := chunk[:min(n-lo, rowChunk)]
			for j := range rows {
				rows[j] = row(lo + j)
			}
			_, err = w.Write(rows)
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("artifacts: encoding %s: %w", key, err)
		}
		pw.CloseWithError(err)
	}()
	err := b.Put(ctx, key, pr, -1)
	pr.CloseWithError(errors.New("artifacts: upload ended")) // unblocks the encoder when Put failed early
	if err != nil {
		return fmt.Errorf("artifacts: writing %s: %w", key, err)
	}
	return nil
}

// ReadCentroids reads every centroid of the run artifacts under key.
func (s *Store) ReadCentroids(ctx context.Context, key string) ([]Centroid, error) {
	rows, _, err := readRange[Centroid](ctx, s.b, Prefix(key)+CentroidsFile, 0, -1)
	return rows, err
}

// ReadMembers reads members [offset, offset+limit) under key (limit < 0: all)
// and returns them with the total number of members.
func (s *Store) ReadMembers(ctx context.Context, key string, offset, limit int) ([]Member, int, error) {
	return readRange[Member](ctx, s.b, Prefix(key)+MembersFile, offset, limit)
}

func readRange[T any](ctx context.Context, b blob.Bucket, key string, offset, limit int) ([]T, int, error) {
	o, err := b.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, ErrMissing
	}
	if err != nil {
		return nil, 0, err
	}
	defer o.Close()
	f, err := parquet.OpenFile(o, o.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("artifacts: %s: %w", key, err)
	}
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	total := int(r.NumRows())
	if offset >= total {
		return []T{}, total, nil
	}
	n := total - offset
	if limit >= 0 {
		n = min(n, limit)
	}
	if err := r.SeekToRow(int64(offset)); err != nil {
		return nil, 0, err
	}
	out := make([]T, n)
	for read := 0; read < n; {
		got, err := r.Read(out[read:])
		read += got
		if errors.Is(err, io.EOF) {
			out = out[:read]
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// Open opens a downloadable artifact file (CentroidsFile or MembersFile)
// under key for reading (blob.Reader streams it), or returns ErrMissing.
func (s *Store) Open(ctx context.Context, key, name string) (blob.Object, error) {
	if name != CentroidsFile && name != MembersFile {
		return nil, ErrMissing
	}
	o, err := s.b.Open(ctx, Prefix(key)+name)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, ErrMissing
	}
	return o, err
}

// Delete removes a run's artifacts (nothing when it has none).
func (s *Store) Delete(ctx context.Context, runID string) error {
	if err := s.b.DeletePrefix(ctx, Prefix(runID)); err != nil {
		return fmt.Errorf("artifacts: deleting run %s: %w", runID, err)
	}
	return nil
}

// Sweep deletes the artifacts of the runs that exist reports gone (runs
// deleted while a process wrote their artifacts, then killed), and
// returns how many runs it removed. It lists every artifact: a start-up
// task.
func (s *Store) Sweep(ctx context.Context, exists func(ctx context.Context, runID string) (bool, error)) (int, error) {
	objects, err := s.b.List(ctx, runsPrefix)
	if err != nil {
		return 0, err
	}
	removed := 0
	seen := map[string]bool{}
	for _, o := range objects {
		runID, _, ok := strings.Cut(strings.TrimPrefix(o.Key, runsPrefix), "/")
		if !ok || seen[runID] {
			continue
		}
		seen[runID] = true
		ok, err := exists(ctx, runID)
		if err != nil {
			return removed, err
		}
		if !ok {
			if err := s.Delete(ctx, runID); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}
