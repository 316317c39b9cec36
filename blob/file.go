package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/clusterd/clusterd/internal/fsync"
)

// dirBucket is a bucket in a local directory: key k is the file root/k.
type dirBucket struct{ root string }

// Dir returns the bucket of the files under the absolute directory root
// (created on the first Put), as Open("file://"+root) does.
func Dir(root string) Bucket { return &dirBucket{root: filepath.Clean(root)} }

func openFile(path string) (*os.File, error) { return os.Open(path) }

func (b *dirBucket) URL() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(b.root)}).String()
}

func (b *dirBucket) path(key string) string { return filepath.Join(b.root, filepath.FromSlash(key)) }

// Put writes a temporary file next to the key's file, syncs it, links it to
// the key's name (link, unlike rename, fails when the name exists, so an
// existing object is never replaced), removes the temporary name and syncs
// the directory and its parent so that the name survives a power loss.
func (b *dirBucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	path := b.path(key)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("blob: %q: %w", key, ErrExists)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("blob: %q: read %d bytes, expected %d", key, n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("blob: %q: %w", key, ErrExists)
		}
		return fmt.Errorf("blob: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := fsync.Dir(dir); err != nil {
		return err
	}
	return fsync.Dir(filepath.Dir(dir))
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type fileObject struct {
	*os.File
	size    int64
	modTime time.Time
}

func (o *fileObject) Size() int64        { return o.size }
func (o *fileObject) ModTime() time.Time { return o.modTime }

func (b *dirBucket) Open(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(b.path(key))
	if missing(err) {
		return nil, &NotFoundError{Key: key}
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, &NotFoundError{Key: key}
	}
	return &fileObject{File: f, size: st.Size(), modTime: st.ModTime()}, nil
}

func (b *dirBucket) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	st, err := os.Stat(b.path(key))
	if missing(err) || (err == nil && st.IsDir()) {
		return Info{}, &NotFoundError{Key: key}
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: %w", err)
	}
	return Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

func (b *dirBucket) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	path := b.path(key)
	if st, err := os.Lstat(path); missing(err) || (err == nil && st.IsDir()) {
		return nil
	}
	if err := os.Remove(path); err != nil && !missing(err) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// missing reports a path that does not exist, or that goes through a file
// (ENOTDIR: key "a/b/c" while "a/b" is an object).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// DeletePrefix removes the prefix's directory with everything in it
// (temporary files of interrupted writes included).
func (b *dirBucket) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkDirPrefix(prefix); err != nil {
		return err
	}
	dir := b.path(strings.TrimSuffix(prefix, "/"))
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// List walks the directory of the prefix's last "/" and keeps the files
// whose key starts with prefix, skipping temporary files.
func (b *dirBucket) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := checkListPrefix(prefix); err != nil {
		return nil, err
	}
	start := b.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = b.path(prefix[:i])
	}
	var out []Info
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != start {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(b.root, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while listing
			}
			return err
		}
		out = append(out, Info{Key: key, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: listing %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
