package blob

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// cached is a remote bucket read through a local disk cache of whole
// objects: Open of a key not cached downloads the object (one GET) into the
// cache directory and serves it from there; later Opens and Stats of the
// key do not contact the server. The cache's bytes (objects held plus
// downloads in progress) never exceed limit: a download reserves its size
// first, evicting the least recently opened objects; an object that cannot
// fit (larger than limit, or the rest is being downloaded) is read from the
// server directly. Objects are immutable (see the package doc), so entries
// are never validated; Put, Delete and DeletePrefix drop this process's
// copies of the keys they touch.
type cached struct {
	remote  *s3Bucket
	objects string // cache files, named by the SHA-256 of their key
	tmp     string // downloads in progress
	limit   int64

	mu      sync.Mutex
	used    int64                    // bytes of entries and reservations
	lru     *list.List               // of *entry, most recently used first
	entries map[string]*list.Element // by key
	filling map[string]*fill         // downloads in progress, by key
}

type entry struct {
	key, path string
	size      int64
	modTime   time.Time
}

type fill struct {
	done    chan struct{}
	invalid bool // deleted or rewritten while downloading: not kept
}

// newCache empties (creates) dir's objects and tmp subdirectories: what a
// previous process cached may have been deleted since.
func newCache(remote *s3Bucket, dir string, limit int64) (*cached, error) {
	c := &cached{remote: remote, objects: filepath.Join(dir, "objects"), tmp: filepath.Join(dir, "tmp"), limit: limit,
		lru: list.New(), entries: map[string]*list.Element{}, filling: map[string]*fill{}}
	for _, d := range []string{c.objects, c.tmp} {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("blob: emptying the cache: %w", err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("blob: creating the cache: %w", err)
		}
	}
	return c, nil
}

func (c *cached) URL() string { return c.remote.URL() }

func (c *cached) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	err := c.remote.Put(ctx, key, r, size)
	if err == nil {
		c.drop(func(k string) bool { return k == key })
	}
	return err
}

func (c *cached) Delete(ctx context.Context, key string) error {
	err := c.remote.Delete(ctx, key)
	c.drop(func(k string) bool { return k == key })
	return err
}

func (c *cached) DeletePrefix(ctx context.Context, prefix string) error {
	err := c.remote.DeletePrefix(ctx, prefix)
	c.drop(func(k string) bool { return strings.HasPrefix(k, prefix) })
	return err
}

func (c *cached) List(ctx context.Context, prefix string) ([]Info, error) {
	return c.remote.List(ctx, prefix)
}

// Stat answers from the cache when it holds the key.
func (c *cached) Stat(ctx context.Context, key string) (Info, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*entry)
		c.mu.Unlock()
		return Info{Key: key, Size: e.size, ModTime: e.modTime}, nil
	}
	c.mu.Unlock()
	return c.remote.Stat(ctx, key)
}

// drop forgets the cached keys that match (and downloads in progress).
func (c *cached) drop(match func(string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.entries {
		if match(k) {
			c.evict(el)
		}
	}
	for k, f := range c.filling {
		if match(k) {
			f.invalid = true
		}
	}
}

// evict removes an entry (c.mu held). A reader that has the file open
// keeps reading it: the name goes, the data stays until it closes.
func (c *cached) evict(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.key)
	os.Remove(e.path)
	c.used -= e.size
}

// Open serves the key from the cache, downloading it first when absent;
// concurrent Opens of one absent key share one download.
func (c *cached) Open(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			c.lru.MoveToFront(el)
			o, err := openEntry(el.Value.(*entry))
			c.mu.Unlock()
			return o, err
		}
		if f, ok := c.filling[key]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		f := &fill{done: make(chan struct{})}
		c.filling[key] = f
		c.mu.Unlock()
		o, err := c.fetch(ctx, key, f)
		c.mu.Lock()
		delete(c.filling, key)
		c.mu.Unlock()
		close(f.done)
		return o, err
	}
}

func openEntry(e *entry) (Object, error) {
	f, err := os.Open(e.path)
	if err != nil {
		return nil, fmt.Errorf("blob: cache: %w", err)
	}
	return &fileObject{File: f, size: e.size, modTime: e.modTime}, nil
}

// fetch downloads key into the cache when it fits, else returns it as a
// remote object reading on from the GET already started.
func (c *cached) fetch(ctx context.Context, key string, f *fill) (Object, error) {
	body, oi, err := c.remote.get(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	remote := &s3Object{b: c.remote, key: key, size: oi.Size, modTime: oi.LastModified, body: body}
	if !c.reserve(oi.Size) {
		return remote, nil
	}
	e := &entry{key: key, path: filepath.Join(c.objects, hashKey(key)), size: oi.Size, modTime: oi.LastModified}
	if err := c.download(ctx, body, e); err != nil {
		body.Close()
		c.release(oi.Size)
		return nil, err
	}
	body.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.invalid {
		// Deleted or rewritten meanwhile: this reader gets what it asked
		// for, later ones go to the server.
		o, err := openEntry(e)
		os.Remove(e.path)
		c.used -= e.size
		return o, err
	}
	c.entries[key] = c.lru.PushFront(e)
	return openEntry(e)
}

// reserve accounts size bytes for a download, evicting the least recently
// used entries as needed; false when they cannot fit.
func (c *cached) reserve(size int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.limit {
		return false
	}
	for c.used+size > c.limit && c.lru.Len() > 0 {
		c.evict(c.lru.Back())
	}
	if c.used+size > c.limit {
		return false // the rest is downloads in progress
	}
	c.used += size
	return true
}

func (c *cached) release(size int64) {
	c.mu.Lock()
	c.used -= size
	c.mu.Unlock()
}

// download copies exactly e.size bytes of body into e.path (through a
// temporary file, so the name never shows a partial object).
func (c *cached) download(ctx context.Context, body io.Reader, e *entry) error {
	tmp, err := os.CreateTemp(c.tmp, "get-*")
	if err != nil {
		return fmt.Errorf("blob: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, body}, e.size+1))
	if err == nil && n != e.size {
		err = fmt.Errorf("blob: %q: downloaded %d bytes, expected %d", e.key, n, e.size)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), e.path); err != nil {
		return fmt.Errorf("blob: cache: %w", err)
	}
	return nil
}

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// usage reports the cache's accounted bytes and the bytes of its files
// (for tests).
func (c *cached) usage() (accounted, files int64) {
	c.mu.Lock()
	accounted = c.used
	c.mu.Unlock()
	entries, _ := os.ReadDir(c.objects)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			files += info.Size()
		}
	}
	return accounted, files
}
