// Package blob stores immutable objects by key, on the local file system
// (file:///abs/dir) or in an S3-compatible object store
// (s3://bucket/prefix?endpoint=host:port&region=r&secure=false), behind
// one small Bucket interface. A remote bucket can keep what a process reads
// in a bounded local disk cache.
//
// Keys are slash-separated relative paths ("runs/<run_id>/members.parquet"):
// no leading or trailing slash, no empty, "." or ".." element, and no
// element beginning with "." (such names are reserved for temporary files).
// A file:// bucket cannot hold both "a" and "a/b" (a file is not a
// directory); clusterd's keys never nest that way.
//
// Objects are immutable once written: Put of an existing key fails with
// ErrExists, so a key's bytes never change while it exists. A key may be
// written again only after Delete (or DeletePrefix) removed it. That is
// why the read cache never validates what it holds: Delete and DeletePrefix
// drop the process's own cached copies, and an object deleted and rewritten
// by ANOTHER process can still be served from this process's cache, so a
// key must be rewritten only while no other process reads it (clusterd
// rewrites a run's artifacts only while the run is not completed, and
// serves them only once it is).
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Bucket is a store of immutable objects. Every method is safe for
// concurrent use.
type Bucket interface {
	// Put stores size bytes read from r under key (size < 0: unknown, read
	// to EOF). The object becomes visible to readers only once complete; a
	// Put that fails leaves nothing visible. An existing key fails with
	// ErrExists.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns the object for ranged reads (ReadAt) with its size. A
	// missing key fails with an error that errors.Is ErrNotFound.
	Open(ctx context.Context, key string) (Object, error)
	// Stat returns an object's key, size and modification time.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes an object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix, which
	// must be non-empty and end with "/" (a "directory" of keys).
	DeletePrefix(ctx context.Context, prefix string) error
	// List returns the objects whose key starts with prefix ("" lists all),
	// sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
	// URL is the bucket's location, without credentials.
	URL() string
}

// Object is an open object: ranged reads at any offset, concurrent reads
// allowed. ReadAt follows io.ReaderAt: fewer than len(p) bytes only at the
// end of the object, with io.EOF.
type Object interface {
	io.ReaderAt
	io.Closer
	// Size is the object's length in bytes.
	Size() int64
	// ModTime is when the object was written (zero when unknown).
	ModTime() time.Time
}

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64 // bytes
	ModTime time.Time
}

// ErrNotFound is what a missing key's error matches with errors.Is (so
// does fs.ErrNotExist).
var ErrNotFound = errors.New("blob: not found")

// ErrExists is what Put of an existing key returns (wrapped).
var ErrExists = errors.New("blob: key exists (objects are immutable)")

// ErrInvalidKey reports a key or prefix outside the rules of the package
// doc.
var ErrInvalidKey = errors.New("blob: invalid key")

// NotFoundError is the error of a missing key.
type NotFoundError struct{ Key string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("blob: %q not found", e.Key) }

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, fs.ErrNotExist)
// hold.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == fs.ErrNotExist
}

// Options configures Open.
type Options struct {
	// CacheDir holds the read cache of a remote bucket (emptied by Open:
	// what it held may have been deleted since). Empty, or CacheBytes <= 0,
	// disables the cache: reads go to the server.
	CacheDir string
	// CacheBytes bounds the cache's total size in bytes; the least recently
	// used whole objects are evicted first. Objects larger than CacheBytes
	// are read from the server directly.
	CacheBytes int64
}

// Open opens the bucket at rawURL:
//
//   - file:///abs/dir: key k is the file dir/k. Writes go to a temporary
//     file in the key's directory, synced, then linked to its name (which
//     fails when the name exists) and the directories synced.
//   - s3://bucket/prefix?endpoint=host:port&region=r&secure=false: key k is
//     the object prefix/k of bucket, through minio-go. endpoint defaults to
//     s3.amazonaws.com, secure to true (HTTPS), region to the server's.
//     Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN, else from the AWS shared credentials file
//     (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
//     AWS_PROFILE), else anonymous. Reads go through the cache of opts.
func Open(rawURL string, opts Options) (Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob: bucket URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("blob: bucket URL %q: a file URL has no host (file:///abs/dir)", rawURL)
		}
		if !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("blob: bucket URL %q: the directory must be absolute", rawURL)
		}
		return Dir(u.Path), nil
	case "s3":
		b, err := openS3(u, opts)
		if err != nil {
			return nil, err
		}
		if opts.CacheDir == "" || opts.CacheBytes <= 0 {
			return b, nil
		}
		return newCache(b, opts.CacheDir, opts.CacheBytes)
	default:
		return nil, fmt.Errorf("blob: bucket URL %q: the scheme must be file or s3", rawURL)
	}
}

// Redact returns rawURL without user information (for logs).
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	return u.String()
}

// checkKey enforces the key rules of the package doc.
func checkKey(key string) error {
	if !fs.ValidPath(key) || key == "." {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for _, e := range strings.Split(key, "/") {
		if strings.HasPrefix(e, ".") {
			return fmt.Errorf("%w: %q (an element begins with \".\")", ErrInvalidKey, key)
		}
	}
	return nil
}

// checkDirPrefix enforces DeletePrefix's rule: a key path followed by "/".
func checkDirPrefix(prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("%w: prefix %q must end with /", ErrInvalidKey, prefix)
	}
	return checkKey(strings.TrimSuffix(prefix, "/"))
}

// checkListPrefix accepts "" or a key's beginning.
func checkListPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if err := checkKey(p); err != nil {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	return nil
}

// PutFile stores the file at path under key (see Bucket.Put).
func PutFile(ctx context.Context, b Bucket, key, path string) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return b.Put(ctx, key, f, st.Size())
}

// Reader returns a reader of the whole object (sequential reads from
// offset 0; Seek is supported, for http.ServeContent).
func Reader(o Object) io.ReadSeeker { return io.NewSectionReader(o, 0, o.Size()) }
