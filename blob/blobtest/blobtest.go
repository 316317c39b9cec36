// Package blobtest starts an S3 wire-protocol server for tests: gofakes3
// over a temporary directory, behind an httptest server that counts the
// requests it receives.
package blobtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// Server is a running S3 server with one bucket.
type Server struct {
	// Endpoint is the server's host:port (plain HTTP).
	Endpoint string
	// Bucket is the bucket the server was started with.
	Bucket string
	// Dir is the directory holding the objects.
	Dir string

	requests atomic.Int64
}

// Start starts a server holding an empty bucket, stopped when t ends, and
// sets the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY the clients read
// (so t must not be parallel).
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	s := &Server{Bucket: bucket, Dir: t.TempDir()}
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), s.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	u, err := url.Parse(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.Endpoint = u.Host
	t.Setenv("AWS_ACCESS_KEY_ID", "clusterd-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "clusterd-test-secret")
	return s
}

// URL is the blob URL of prefix in the server's bucket.
func (s *Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + prefix + "?endpoint=" + url.QueryEscape(s.Endpoint) + "&secure=false&region=us-east-1"
}

// Requests is the number of requests the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }
