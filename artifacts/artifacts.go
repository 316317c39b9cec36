// Package artifacts writes and reads a run's Parquet artifacts:
// centroids.parquet (one row per cluster, with its vector, statistics,
// labels and scatter-plot position) and members.parquet (one row per point,
// with its cluster, position and distance to the centroid). Both are the
// downloadable files of the API and the source of its artifacts and data
// endpoints.
package artifacts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/clusterd/clusterd/internal/fsync"
	"github.com/parquet-go/parquet-go"
)

// File names inside a run's directory.
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

// Write stores both files in dir atomically (each written to a temporary
// name, synced, then renamed), creating dir, and syncs dir and its parent so
// that the names survive a power loss as well as the contents.
func Write(dir string, centroids []Centroid, members []Member) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, CentroidsFile), centroids); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, MembersFile), members); err != nil {
		return err
	}
	if err := fsync.Dir(dir); err != nil {
		return err
	}
	return fsync.Dir(filepath.Dir(dir))
}

func writeFile[T any](path string, rows []T) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&parquet.Snappy))
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return fmt.Errorf("artifacts: writing %s: %w", filepath.Base(path), err)
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("artifacts: writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadCentroids reads every centroid of a run.
func ReadCentroids(dir string) ([]Centroid, error) {
	rows, _, err := readRange[Centroid](filepath.Join(dir, CentroidsFile), 0, -1)
	return rows, err
}

// ReadMembers reads members [offset, offset+limit) of a run (limit < 0: all)
// and returns them with the total number of members.
func ReadMembers(dir string, offset, limit int) ([]Member, int, error) {
	return readRange[Member](filepath.Join(dir, MembersFile), offset, limit)
}

func readRange[T any](path string, offset, limit int) ([]T, int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrMissing
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
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

// Path returns the path of a downloadable artifact file, or ErrMissing.
func Path(dir, name string) (string, error) {
	if name != CentroidsFile && name != MembersFile {
		return "", ErrMissing
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", ErrMissing
	}
	return p, nil
}
