package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// partSize is the multipart upload part of a Put of unknown size: the
// memory one such upload buffers (minio-go's default for an unknown size
// would be 512 MiB).
const partSize = 16 << 20

// s3Bucket is a bucket in an S3-compatible object store: key k is the
// object prefix+k.
type s3Bucket struct {
	core   *minio.Core
	bucket string
	prefix string // "" or ending with "/"
	url    string
}

func openS3(u *url.URL, opts Options) (*s3Bucket, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("blob: bucket URL %q: %s", Redact(u.String()), fmt.Sprintf(format, a...))
	}
	if u.Host == "" {
		return nil, bad("no bucket (s3://bucket/prefix)")
	}
	if u.User != nil {
		return nil, bad("credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), not the URL")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := checkKey(prefix); err != nil {
			return nil, bad("the prefix %q is not a key path", prefix)
		}
		prefix += "/"
	}
	q := u.Query()
	endpoint, region, secure := "s3.amazonaws.com", "", true
	for name, vs := range q {
		v := vs[len(vs)-1]
		switch name {
		case "endpoint":
			endpoint = v
		case "region":
			region = v
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("secure must be true or false, got %q", v)
			}
			secure = b
		default:
			return nil, bad("unknown parameter %q (endpoint, region, secure)", name)
		}
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}})
	c, err := minio.NewCore(endpoint, &minio.Options{Creds: creds, Secure: secure, Region: region})
	if err != nil {
		return nil, bad("%v", err)
	}
	return &s3Bucket{core: c, bucket: u.Host, prefix: prefix, url: Redact(u.String())}, nil
}

func (b *s3Bucket) URL() string { return b.url }

func (b *s3Bucket) object(key string) string { return b.prefix + key }

// s3Error maps minio-go's errors: a missing object to *NotFoundError, a
// failed If-None-Match to ErrExists.
func s3Error(key string, err error) error {
	if err == nil {
		return nil
	}
	r := minio.ToErrorResponse(err)
	switch {
	case r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket":
		return &NotFoundError{Key: key}
	case r.Code == "PreconditionFailed" || r.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("blob: %q: %w", key, ErrExists)
	}
	return fmt.Errorf("blob: %q: %w", key, err)
}

// Put checks that the key is absent, then uploads with If-None-Match: *
// so that a server that supports conditional writes refuses a concurrent
// writer of the same key too. S3 makes an object visible only once its
// upload completes. The payload is sent unsigned (as minio-go does over
// HTTPS): over plain HTTP minio-go would otherwise sign it in aws-chunked
// encoding, whose multipart parts some S3-compatible servers (gofakes3)
// store undecoded.
func (b *s3Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := b.Stat(ctx, key); err == nil {
		return fmt.Errorf("blob: %q: %w", key, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	opts := minio.PutObjectOptions{PartSize: partSize, ContentType: "application/octet-stream", DisableContentSha256: true}
	opts.SetMatchETagExcept("*")
	_, err := b.core.Client.PutObject(ctx, b.bucket, b.object(key), r, size, opts)
	return s3Error(key, err)
}

func (b *s3Bucket) Stat(ctx context.Context, key string) (Info, error) {
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	oi, err := b.core.Client.StatObject(ctx, b.bucket, b.object(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s3Error(key, err)
	}
	return Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// get starts a GET of the object from off to its end.
func (b *s3Bucket) get(ctx context.Context, key string, off int64) (io.ReadCloser, minio.ObjectInfo, error) {
	var opts minio.GetObjectOptions
	if off > 0 {
		if err := opts.SetRange(off, 0); err != nil {
			return nil, minio.ObjectInfo{}, err
		}
	}
	body, oi, _, err := b.core.GetObject(ctx, b.bucket, b.object(key), opts)
	if err != nil {
		return nil, oi, s3Error(key, err)
	}
	return body, oi, nil
}

// Open stats the object; reads are ranged GETs (see s3Object).
func (b *s3Bucket) Open(ctx context.Context, key string) (Object, error) {
	info, err := b.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	return &s3Object{b: b, key: key, size: info.Size, modTime: info.ModTime}, nil
}

func (b *s3Bucket) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s3Error(key, b.core.Client.RemoveObject(ctx, b.bucket, b.object(key), minio.RemoveObjectOptions{}))
}

// DeletePrefix lists the prefix and removes what it lists in batches
// (DeleteObjects requests of up to 1000 keys).
func (b *s3Bucket) DeletePrefix(ctx context.Context, prefix string) error {
	if err := checkDirPrefix(prefix); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := b.core.Client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.object(prefix), Recursive: true})
	var listErr error
	keys := make(chan minio.ObjectInfo)
	go func() {
		defer close(keys)
		for o := range objects {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case keys <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var firstErr error
	for e := range b.core.Client.RemoveObjects(ctx, b.bucket, keys, minio.RemoveObjectsOptions{}) {
		if firstErr == nil {
			firstErr = fmt.Errorf("blob: deleting %q: %w", e.ObjectName, e.Err)
		}
	}
	if listErr != nil {
		return fmt.Errorf("blob: listing %q: %w", prefix, listErr)
	}
	return firstErr
}

func (b *s3Bucket) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := checkListPrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []Info
	for o := range b.core.Client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.object(prefix), Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("blob: listing %q: %w", prefix, o.Err)
		}
		out = append(out, Info{Key: strings.TrimPrefix(o.Key, b.prefix), Size: o.Size, ModTime: o.LastModified})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// s3Object reads a remote object with ranged GETs. A read that continues
// where the previous one ended reuses its response body, so sequential
// reading (a download, io.Copy over Reader) is one streamed GET; a read
// elsewhere starts a new GET from its offset to the object's end.
type s3Object struct {
	b       *s3Bucket
	key     string
	size    int64
	modTime time.Time

	mu   sync.Mutex
	body io.ReadCloser // nil, or a GET positioned at pos
	pos  int64
}

func (o *s3Object) Size() int64        { return o.size }
func (o *s3Object) ModTime() time.Time { return o.modTime }

func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("blob: %q: negative offset", o.key)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.body == nil || o.pos != off {
		o.closeBody()
		body, _, err := o.b.get(context.Background(), o.key, off)
		if err != nil {
			return 0, err
		}
		o.body, o.pos = body, off
	}
	want := min(int64(len(p)), o.size-off)
	n, err := io.ReadFull(o.body, p[:want])
	o.pos += int64(n)
	if err != nil {
		o.closeBody()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = fmt.Errorf("blob: %q: the object ended at %d, expected %d bytes", o.key, off+int64(n), o.size)
		}
		return n, err
	}
	if int(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (o *s3Object) closeBody() {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
}

func (o *s3Object) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closeBody()
	return nil
}
