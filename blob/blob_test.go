package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clusterd/clusterd/blob/blobtest"
)

// opener makes an empty bucket for one test.
type opener func(t *testing.T) Bucket

func TestDir(t *testing.T) {
	testBucket(t, func(t *testing.T) Bucket { return Dir(t.TempDir()) })
}

func TestS3(t *testing.T) {
	testBucket(t, func(t *testing.T) Bucket {
		b, err := Open(blobtest.Start(t, "test").URL("some/prefix"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestS3Cached(t *testing.T) {
	testBucket(t, func(t *testing.T) Bucket {
		b, err := Open(blobtest.Start(t, "test").URL(""), Options{CacheDir: t.TempDir(), CacheBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := b.(*cached); !ok {
			t.Fatalf("Open with a cache returned %T", b)
		}
		return b
	})
}

// content is n deterministic bytes that differ per seed.
func content(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func put(t *testing.T, b Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func readAll(t *testing.T, b Bucket, key string) []byte {
	t.Helper()
	o, err := b.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open %s: %v", key, err)
	}
	defer o.Close()
	data, err := io.ReadAll(Reader(o))
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return data
}

func keys(infos []Info) []string {
	out := []string{}
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

// failingReader returns n bytes, then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("source failed")
	}
	k := min(r.n, len(p))
	r.n -= k
	return k, nil
}

// testBucket is the suite every Bucket implementation passes.
func testBucket(t *testing.T, open opener) {
	ctx := context.Background()
	t.Run("ranged reads", func(t *testing.T) {
		b := open(t)
		data := content(1, 1000)
		put(t, b, "runs/r1/data.bin", data)
		o, err := b.Open(ctx, "runs/r1/data.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if o.Size() != 1000 {
			t.Fatalf("Size = %d, want 1000", o.Size())
		}
		for _, tc := range []struct {
			off     int64
			n       int
			want    int // bytes read
			wantEOF bool
		}{
			{0, 0, 0, false},
			{0, 1, 1, false},
			{0, 10, 10, false},
			{500, 100, 100, false},
			{510, 100, 100, false}, // not where the previous read ended
			{600, 100, 100, false}, // where it ended
			{990, 10, 10, false},
			{995, 10, 5, true},
			{999, 1, 1, false},
			{1000, 1, 0, true},
			{1500, 1, 0, true},
			{0, 1000, 1000, false},
			{0, 1001, 1000, true},
			{100, 2000, 900, true},
		} {
			p := make([]byte, tc.n)
			n, err := o.ReadAt(p, tc.off)
			if n != tc.want || (err == io.EOF) != tc.wantEOF || (err != nil && err != io.EOF) {
				t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d bytes, EOF %v", tc.n, tc.off, n, err, tc.want, tc.wantEOF)
				continue
			}
			if n > 0 && !bytes.Equal(p[:n], data[tc.off:tc.off+int64(n)]) {
				t.Errorf("ReadAt(%d bytes, %d) read other bytes", tc.n, tc.off)
			}
		}
		if _, err := o.ReadAt(make([]byte, 1), -1); err == nil || err == io.EOF {
			t.Errorf("ReadAt at -1: %v, want an error", err)
		}
		if got := readAll(t, b, "runs/r1/data.bin"); !bytes.Equal(got, data) {
			t.Errorf("a sequential read returned %d other bytes", len(got))
		}
		info, err := b.Stat(ctx, "runs/r1/data.bin")
		if err != nil || info.Size != 1000 || info.Key != "runs/r1/data.bin" {
			t.Errorf("Stat = %+v, %v", info, err)
		}
	})

	t.Run("empty object and unknown size", func(t *testing.T) {
		b := open(t)
		// gofakes3 answers a zero-length PUT with MissingContentLength
		// (net/http drops the header of an empty request body), so only
		// the file bucket is asked for an empty object.
		if _, ok := b.(*dirBucket); ok {
			put(t, b, "empty", nil)
			o, err := b.Open(ctx, "empty")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := o.ReadAt(make([]byte, 4), 0); n != 0 || err != io.EOF {
				t.Errorf("ReadAt of an empty object = %d, %v; want 0, EOF", n, err)
			}
			o.Close()
		}
		data := content(2, 70000)
		if err := b.Put(ctx, "unknown/size", bytes.NewReader(data), -1); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, b, "unknown/size"); !bytes.Equal(got, data) {
			t.Errorf("read %d other bytes", len(got))
		}
	})

	t.Run("several parts", func(t *testing.T) {
		// Past partSize, an upload of unknown size goes in several parts.
		b := open(t)
		data := content(5, partSize+partSize/2+3)
		if err := b.Put(ctx, "big/object", bytes.NewReader(data), -1); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, b, "big/object"); !bytes.Equal(got, data) {
			t.Errorf("read %d other bytes, want %d", len(got), len(data))
		}
		o, err := b.Open(ctx, "big/object")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		p := make([]byte, 100)
		if n, err := o.ReadAt(p, partSize-50); n != 100 || err != nil || !bytes.Equal(p, data[partSize-50:partSize+50]) {
			t.Errorf("a read across the parts' boundary: %d, %v", n, err)
		}
	})

	t.Run("missing keys", func(t *testing.T) {
		b := open(t)
		put(t, b, "a/b", []byte("x"))
		for _, key := range []string{"a/c", "b/a", "zzz"} {
			_, err := b.Open(ctx, key)
			var nf *NotFoundError
			if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &nf) || nf.Key != key {
				t.Errorf("Open(%q) = %v, want a NotFoundError", key, err)
			}
			if _, err := b.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
			}
			if err := b.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q) of a missing key = %v", key, err)
			}
		}
	})

	t.Run("immutable keys", func(t *testing.T) {
		b := open(t)
		put(t, b, "k", []byte("first"))
		if got := readAll(t, b, "k"); string(got) != "first" {
			t.Fatalf("read %q", got)
		}
		if err := b.Put(ctx, "k", strings.NewReader("second"), 6); !errors.Is(err, ErrExists) {
			t.Fatalf("Put of an existing key = %v, want ErrExists", err)
		}
		if got := readAll(t, b, "k"); string(got) != "first" {
			t.Fatalf("after a refused Put, read %q", got)
		}
		if err := b.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open after Delete = %v", err)
		}
		put(t, b, "k", []byte("second"))
		if got := readAll(t, b, "k"); string(got) != "second" {
			t.Fatalf("after Delete and Put, read %q", got)
		}
	})

	t.Run("failed puts leave nothing", func(t *testing.T) {
		b := open(t)
		_, local := b.(*dirBucket)
		for name, tc := range map[string]struct {
			r    io.Reader
			size int64
		}{
			"short":         {bytes.NewReader(content(3, 5)), 10},
			"source failed": {&failingReader{n: 3000}, 10000},
			"unknown size":  {&failingReader{n: 3000}, -1},
		} {
			if tc.size >= 0 && !local {
				// The request is cut short on the wire: S3 discards it,
				// gofakes3's directory backend keeps the partial file.
				continue
			}
			if err := b.Put(ctx, "failed/"+strings.ReplaceAll(name, " ", "-"), tc.r, tc.size); err == nil {
				t.Errorf("%s: Put succeeded", name)
			}
		}
		if l, err := b.List(ctx, ""); err != nil || len(l) != 0 {
			t.Errorf("after failed Puts, List = %v, %v; want nothing", keys(l), err)
		}
	})

	t.Run("invalid keys", func(t *testing.T) {
		b := open(t)
		for _, key := range []string{"", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", ".", ".hidden", "a/.tmp-x"} {
			if err := b.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
			}
			if _, err := b.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Open(%q) = %v, want ErrInvalidKey", key, err)
			}
		}
		for _, prefix := range []string{"", "/", "a", "a//", "../"} {
			if err := b.DeletePrefix(ctx, prefix); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("DeletePrefix(%q) = %v, want ErrInvalidKey", prefix, err)
			}
		}
	})

	t.Run("prefixes", func(t *testing.T) {
		b := open(t)
		all := []string{"other/x", "runs/r1/a", "runs/r1/b", "runs/r1/sub/c", "runs/r10/a", "runs/r2/a"}
		for i, k := range all {
			put(t, b, k, content(10+i, 10+i))
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", all},
			{"runs/", all[1:]},
			{"runs/r1/", []string{"runs/r1/a", "runs/r1/b", "runs/r1/sub/c"}},
			{"runs/r1", []string{"runs/r1/a", "runs/r1/b", "runs/r1/sub/c", "runs/r10/a"}},
			{"runs/r1/sub/", []string{"runs/r1/sub/c"}},
			{"runs/r3/", []string{}},
			{"nothing", []string{}},
		} {
			l, err := b.List(ctx, tc.prefix)
			if err != nil {
				t.Errorf("List(%q): %v", tc.prefix, err)
				continue
			}
			if got := keys(l); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("List(%q) = %v, want %v", tc.prefix, got, tc.want)
			}
			for _, i := range l {
				if want := int64(10 + indexOf(all, i.Key)); i.Size != want {
					t.Errorf("List(%q): %s has size %d, want %d", tc.prefix, i.Key, i.Size, want)
				}
			}
		}
		if err := b.DeletePrefix(ctx, "runs/r1/"); err != nil {
			t.Fatal(err)
		}
		if err := b.DeletePrefix(ctx, "runs/r3/"); err != nil {
			t.Errorf("DeletePrefix of nothing: %v", err)
		}
		l, err := b.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(keys(l), " "), "other/x runs/r10/a runs/r2/a"; got != want {
			t.Errorf("after DeletePrefix(runs/r1/), List = %s, want %s", got, want)
		}
		for _, k := range []string{"runs/r1/a", "runs/r1/sub/c"} {
			if _, err := b.Open(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open(%s) after DeletePrefix = %v", k, err)
			}
		}
		if got := readAll(t, b, "runs/r10/a"); !bytes.Equal(got, content(14, 14)) {
			t.Errorf("runs/r10/a changed")
		}
	})

	t.Run("concurrent puts", func(t *testing.T) {
		b := open(t)
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				data := content(100+i, 1000+137*i)
				errs[i] = b.Put(ctx, fmt.Sprintf("c/%02d/obj", i), bytes.NewReader(data), int64(len(data)))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		}
		l, err := b.List(ctx, "c/")
		if err != nil || len(l) != n {
			t.Fatalf("List = %d objects, %v; want %d", len(l), err, n)
		}
		for i := range n {
			if got := readAll(t, b, fmt.Sprintf("c/%02d/obj", i)); !bytes.Equal(got, content(100+i, 1000+137*i)) {
				t.Errorf("object %d: read %d other bytes", i, len(got))
			}
		}
	})
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestDirLayout checks that keys are paths under the directory (today's
// layout of data/runs/<run_id>/...) and that interrupted writes' temporary
// files are not listed and go with their prefix.
func TestDirLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b, err := Open("file://"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A file cannot be a directory too: keys that are another key's
	// directory, or below another key, are missing.
	put(t, b, "a/b", []byte("x"))
	for _, key := range []string{"a", "a/b/c"} {
		if _, err := b.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
		}
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	put(t, b, "runs/r1/members.parquet", []byte("m"))
	got, err := os.ReadFile(filepath.Join(root, "runs", "r1", "members.parquet"))
	if err != nil || string(got) != "m" {
		t.Fatalf("the file holds %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(root, "runs", "r1", ".tmp-members.parquet-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "runs", "r1", "centroids.parquet"), []byte("c"), 0o644); err != nil {
		t.Fatal(err) // written by an earlier version: still an object
	}
	l, err := b.List(ctx, "runs/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys(l), " "), "runs/r1/centroids.parquet runs/r1/members.parquet"; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}
	if err := b.DeletePrefix(ctx, "runs/r1/"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "runs", "r1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the run's directory is left: %v", err)
	}
	if b.URL() != "file://"+filepath.ToSlash(root) {
		t.Errorf("URL = %s", b.URL())
	}
}

func TestOpenURLs(t *testing.T) {
	for _, tc := range []struct {
		url, problem string
	}{
		{"file://relative/dir", "no host"},
		{"file:relative", "absolute"},
		{"gs://bucket", "scheme"},
		{"s3:///prefix", "no bucket"},
		{"s3://key:secret@bucket/p", "environment"},
		{"s3://bucket/p?secure=maybe", "secure"},
		{"s3://bucket/p?endpiont=x", "unknown parameter"},
		{"s3://bucket/a//b", "prefix"},
		{"s3://bucket/../b", "prefix"},
	} {
		_, err := Open(tc.url, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.problem) {
			t.Errorf("Open(%q) = %v, want an error about %q", tc.url, err, tc.problem)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q)'s error shows the secret: %v", tc.url, err)
		}
	}
	for _, u := range []string{"s3://bucket", "s3://bucket/", "s3://bucket/a/b?endpoint=localhost:9000&region=eu&secure=false"} {
		if _, err := Open(u, Options{}); err != nil {
			t.Errorf("Open(%q): %v", u, err)
		}
	}
}

// TestCache checks the read cache against a server that counts requests:
// hits do not contact it, its bytes never exceed the bound, eviction is
// least recently used, one download serves concurrent readers, and
// Delete drops the cached copy.
func TestCache(t *testing.T) {
	ctx := context.Background()
	srv := blobtest.Start(t, "test")
	const limit = 1000
	cacheDir := t.TempDir()
	stale := filepath.Join(cacheDir, "objects", "stale")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, content(0, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Open(srv.URL("p"), Options{CacheDir: cacheDir, CacheBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	c := b.(*cached)
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open kept a previous process's cache file: %v", err)
	}
	sizes := map[string]int{"a": 300, "b": 400, "c": 500, "d": 200, "full": limit, "huge": 3000}
	for k, n := range sizes {
		put(t, b, k, content(len(k)*7+n, n))
	}
	// Each step opens a key and reads it whole; hit says whether the
	// server must not be contacted.
	for i, step := range []struct {
		key string
		hit bool
	}{
		{"a", false},
		{"a", true},
		{"b", false}, // a b: 700
		{"a", true},  // a is the most recent
		{"c", false}, // evicts b (least recent): a c = 800
		{"a", true},
		{"b", false}, // evicts c: a b = 700
		{"d", false}, // a b d = 900
		{"c", false}, // evicts a and b: d c = 700
		{"d", true},
		{"full", false}, // evicts everything else
		{"full", true},
		{"huge", false}, // larger than the cache: read from the server
		{"huge", false},
		{"full", true},
	} {
		before := srv.Requests()
		got := readAll(t, b, step.key)
		if !bytes.Equal(got, content(len(step.key)*7+sizes[step.key], sizes[step.key])) {
			t.Fatalf("step %d: %s: read %d other bytes", i, step.key, len(got))
		}
		if _, err := b.Stat(ctx, step.key); err != nil {
			t.Fatal(err)
		}
		if contacted := srv.Requests() > before; contacted == step.hit {
			t.Errorf("step %d: %s: server contacted %v, want %v", i, step.key, contacted, !step.hit)
		}
		accounted, files := c.usage()
		if accounted > limit || files > limit || accounted != files {
			t.Errorf("step %d: cache holds %d bytes of files, accounts %d; bound %d", i, files, accounted, limit)
		}
	}

	t.Run("bound under concurrent readers", func(t *testing.T) {
		keys := make([]string, 10)
		for i := range keys {
			keys[i] = fmt.Sprintf("conc/%d", i)
			put(t, b, keys[i], content(50+i, 150+30*i))
		}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for j := range 25 {
					i := (g*7 + j*3) % len(keys)
					if got := readAll(t, b, keys[i]); !bytes.Equal(got, content(50+i, 150+30*i)) {
						t.Errorf("%s: read %d other bytes", keys[i], len(got))
					}
					if accounted, _ := c.usage(); accounted > limit {
						t.Errorf("the cache accounts %d bytes, bound %d", accounted, limit)
					}
				}
			})
		}
		wg.Wait()
		if accounted, files := c.usage(); accounted != files || accounted > limit {
			t.Errorf("after the readers, the cache accounts %d bytes and holds %d; bound %d", accounted, files, limit)
		}
	})

	t.Run("one download for concurrent readers", func(t *testing.T) {
		put(t, b, "shared", content(9, 600))
		before := srv.Requests()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got := readAll(t, b, "shared"); !bytes.Equal(got, content(9, 600)) {
					t.Errorf("read %d other bytes", len(got))
				}
			})
		}
		wg.Wait()
		if n := srv.Requests() - before; n != 1 {
			t.Errorf("%d requests for 8 concurrent readers of one object, want 1", n)
		}
	})

	t.Run("delete drops the cached copy", func(t *testing.T) {
		readAll(t, b, "shared")
		if err := b.Delete(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, "shared"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open after Delete = %v, want ErrNotFound", err)
		}
		put(t, b, "dir/x", content(11, 100))
		readAll(t, b, "dir/x")
		if err := b.DeletePrefix(ctx, "dir/"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Stat(ctx, "dir/x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat after DeletePrefix = %v, want ErrNotFound", err)
		}
		if accounted, files := c.usage(); accounted != files {
			t.Errorf("cache accounts %d bytes, holds %d", accounted, files)
		}
	})
}
