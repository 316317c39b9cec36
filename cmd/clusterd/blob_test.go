package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/clusterd/clusterd/artifacts"
	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/blob/blobtest"
	"github.com/parquet-go/parquet-go"
)

// bucketKeys lists the keys of the objects under prefix.
func bucketKeys(t *testing.T, bucket blob.Bucket, prefix string) []string {
	t.Helper()
	l, err := bucket.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range l {
		keys = append(keys, o.Key)
	}
	return keys
}

// TestObjectStorage runs the service with --blob-url on an S3 server
// (gofakes3): a run's artifacts are objects there, not files in the data
// directory; the artifacts, data and download endpoints serve them (also
// after a restart, whose cache starts empty); the restart sweeps the
// artifacts of runs that do not exist; deleting the cluster deletes its
// objects.
func TestObjectStorage(t *testing.T) {
	ctx := context.Background()
	s3 := blobtest.Start(t, "clusterd") // sets the AWS_* credentials the child inherits
	url := s3.URL("prod/v1")
	bucket, err := blob.Open(url, blob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t)
	s.args = []string{"--blob-url", url, "--blob-cache-bytes", "1000000"}
	s.start()
	defer s.stop()
	cluster := s.load("docs", 3000, `{"n_clusters":6}`)
	run := s.execute(cluster)
	if e := s.waitFor(cluster, run, "finished", finished); e.Status != "completed" {
		t.Fatalf("run: %s\n%s", e.raw, s.log)
	}

	objects := func() []string { return bucketKeys(t, bucket, "runs/"+run+"/") }
	// The run's first claim (lease token 1) wrote them, under its own key.
	claim := "runs/" + run + "/t1/"
	if got, want := strings.Join(objects(), " "), claim+"centroids.parquet "+claim+"members.parquet"; got != want {
		t.Fatalf("the bucket holds %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "runs", run)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run has a directory in the data directory: %v", err)
	}
	if !strings.Contains(s.log.String(), `artifacts="s3://clusterd/prod/v1?`) {
		t.Errorf("the start-up log does not name the bucket:\n%s", s.log)
	}

	check := func(when string) {
		t.Helper()
		var arts struct {
			Centroids    []json.RawMessage `json:"centroids"`
			Members      []json.RawMessage `json:"members"`
			TotalMembers int               `json:"total_members"`
		}
		s.json("GET", "/v1/clusters/"+cluster+"/executions/"+run+"/artifacts?include_members=true&limit=10&offset=2995", nil, &arts)
		if len(arts.Centroids) != 6 || arts.TotalMembers != 3000 || len(arts.Members) != 5 {
			t.Errorf("%s: artifacts: %d centroids, %d of %d members", when, len(arts.Centroids), len(arts.Members), arts.TotalMembers)
		}
		var data struct {
			Members      []json.RawMessage `json:"members"`
			TotalMembers int               `json:"total_members"`
		}
		s.json("POST", "/v1/clusters/"+cluster+"/executions/"+run+"/data", map[string]any{"limit": 7, "include_centroids": false}, &data)
		if len(data.Members) != 7 || data.TotalMembers != 3000 {
			t.Errorf("%s: data: %d of %d members", when, len(data.Members), data.TotalMembers)
		}
		code, body := s.do("GET", "/v1/clusters/"+cluster+"/executions/"+run+"/artifacts/members.parquet", "", nil)
		if code != 200 {
			t.Fatalf("%s: download: %d %s", when, code, body)
		}
		o, err := bucket.Open(ctx, claim+"members.parquet")
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(blob.Reader(o))
		o.Close()
		if err != nil || !bytes.Equal(body, stored) {
			t.Fatalf("%s: the download (%d bytes) is not the object (%d bytes, %v)", when, len(body), len(stored), err)
		}
		rows, err := parquet.Read[artifacts.Member](bytes.NewReader(body), int64(len(body)))
		if err != nil || len(rows) != 3000 {
			t.Errorf("%s: the download has %d rows, %v", when, len(rows), err)
		}
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/v1/clusters/"+cluster+"/executions/"+run+"/artifacts/members.parquet", nil)
		req.Header.Set("Range", "bytes=0-3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		head, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || string(head) != "PAR1" {
			t.Errorf("%s: a ranged download: %d %q, want 206 PAR1", when, resp.StatusCode, head)
		}
	}
	check("first process")

	// A run that does not exist (deleted while a killed process wrote it).
	if err := bucket.Put(ctx, "runs/run_gone/members.parquet", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	s.kill(syscall.SIGTERM)
	s.start()
	check("after a restart")
	if l, err := bucket.List(ctx, "runs/run_gone/"); err != nil || len(l) != 0 {
		t.Errorf("the restart left a deleted run's artifacts: %v %v", l, err)
	}
	if !strings.Contains(s.log.String(), "removed the artifacts of deleted runs") {
		t.Errorf("the restart did not report the sweep:\n%s", s.log)
	}

	s.json("DELETE", "/v1/clusters/"+cluster, nil, nil)
	if keys := objects(); len(keys) != 0 {
		t.Errorf("after deleting the cluster, the bucket holds %v", keys)
	}
	if code, _ := s.do("GET", "/v1/clusters/"+cluster+"/executions/"+run+"/artifacts/members.parquet", "", nil); code != 404 {
		t.Errorf("download after the delete: %d, want 404", code)
	}
}
