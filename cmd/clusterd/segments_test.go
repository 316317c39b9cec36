package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/blob/blobtest"
	"github.com/clusterd/clusterd/internal/pgtest"
)

// localSegments lists the vector segment files in a data directory.
func localSegments(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "vectors"), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVectorsOnTheBucket runs the service with --blob-url on an S3 server
// (gofakes3): imported vectors are chunks on the bucket under vectors/,
// none is a file in the data directory; a run over them completes, also
// after a restart (whose cache starts empty); deleting the collection
// deletes its chunks. With PostgreSQL (skipped without it), a second
// process on another data directory, sharing the database and the bucket,
// executes a run over vectors the first process imported.
func TestVectorsOnTheBucket(t *testing.T) {
	s3 := blobtest.Start(t, "clusterd") // sets the AWS_* credentials the children inherit
	chunks := func(url, prefix string) []string {
		t.Helper()
		bucket, err := blob.Open(url, blob.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return bucketKeys(t, bucket, prefix)
	}
	collectionID := func(s *server, name string) string {
		var c struct {
			ID string `json:"collection_id"`
		}
		s.json("GET", "/v1/collections/"+name, nil, &c)
		if c.ID == "" {
			t.Fatalf("collection %s has no id", name)
		}
		return c.ID
	}

	t.Run("sqlite", func(t *testing.T) {
		s := newServer(t)
		blobURL := s3.URL("prod/sqlite")
		s.args = []string{"--blob-url", blobURL, "--blob-cache-bytes", "1000000"}
		s.start()
		defer s.stop()
		cluster := s.load("docs", 2000, `{"n_clusters":5}`)
		col := collectionID(s, "docs")
		keys := chunks(blobURL, "vectors/")
		if len(keys) == 0 {
			t.Fatal("the import stored no chunk on the bucket")
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, "vectors/"+col+"/") || !strings.HasSuffix(k, ".f32") {
				t.Fatalf("a chunk outside the collection's prefix: %s", k)
			}
		}
		if files := localSegments(t, s.dir); len(files) != 0 {
			t.Errorf("vectors in the data directory: %v", files)
		}
		for i, when := range []string{"first process", "after a restart"} {
			if i == 1 {
				s.kill(syscall.SIGTERM)
				s.start()
			}
			run := s.execute(cluster)
			if e := s.waitFor(cluster, run, "finished", finished); e.Status != "completed" || e.NumPoints != 2000 {
				t.Fatalf("%s: run: %s\n%s", when, e.raw, s.log)
			}
		}
		if files := localSegments(t, s.dir); len(files) != 0 {
			t.Errorf("vectors in the data directory after the runs: %v", files)
		}
		s.json("DELETE", "/v1/collections/docs", nil, nil)
		if keys := chunks(blobURL, "vectors/"+col+"/"); len(keys) != 0 {
			t.Errorf("after deleting the collection, the bucket holds %v", keys)
		}
	})

	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		blobURL := s3.URL("prod/pg")
		a := &server{t: t, dir: t.TempDir(), addr: freeAddr(t), args: []string{"--database-url", url, "--blob-url", blobURL}}
		a.start()
		cluster := a.load("docs", 2000, `{"n_clusters":5}`)
		col := collectionID(a, "docs")
		a.stop()
		if keys := chunks(blobURL, "vectors/"+col+"/"); len(keys) == 0 {
			t.Fatal("the first process stored no chunk")
		}
		b := &server{t: t, dir: t.TempDir(), addr: freeAddr(t), args: a.args}
		b.start()
		defer b.stop()
		run := b.execute(cluster)
		if e := b.waitFor(cluster, run, "finished", finished); e.Status != "completed" || e.NumPoints != 2000 {
			t.Fatalf("run on the second process: %s\n%s", e.raw, b.log)
		}
		if !strings.Contains(b.log.String(), `msg="run started" run_id=`+run) {
			t.Errorf("the second process did not run %s:\n%s", run, b.log)
		}
		for _, dir := range []string{a.dir, b.dir} {
			if files := localSegments(t, dir); len(files) != 0 {
				t.Errorf("vectors in a data directory: %v", files)
			}
		}
		if _, err := os.Stat(filepath.Join(b.dir, "vectors")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the second process has a vectors directory: %v", err)
		}
	})
}
