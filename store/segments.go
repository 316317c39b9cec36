package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/clusterd/clusterd/blob"
	"github.com/clusterd/clusterd/internal/ids"
	"github.com/clusterd/clusterd/internal/parallel"
	"github.com/clusterd/clusterd/internal/rawbytes"
)

// Vector segments live in one of two places (Options.Blob):
//
//   - Local files (no bucket, the default): one append-only file per
//     feature, vectors/<collection_id>/<file> in the data directory, where
//     row r is at byte r×dim×4. An upsert appends and fsyncs before the
//     commit that makes its rows visible; a failed one cuts the file back.
//   - A bucket: immutable chunks. Each upsert writes one object per feature
//     it touches, vectors/<collection_id>/<sha8(feature)>/<first_row>-<id>.f32
//     (first_row as 16 decimal digits, id unique), holding its rows
//     [first_row, first_row+n_rows) back to back; the segments table lists
//     the chunks, and is written in the transaction that makes the rows
//     visible. Row numbers stay global per (collection, feature), so
//     vectors.row means the same in both layouts: a row's chunk is the one
//     with the largest first_row ≤ row. The chunk is built in a temporary
//     file and Put before that commit (an upload replaces the fsync); a
//     failed upsert deletes its key, and Open deletes keys no segments row
//     lists once they are older than segmentSweepGrace (a chunk is Put
//     before its rows commit, perhaps by another process).

// segmentSweepGrace is how old a chunk no segments row lists must be
// before Open deletes it: younger ones may belong to an upsert of another
// process that has not committed yet. A variable for tests.
var segmentSweepGrace = time.Hour

// segmentsPrefix is the key prefix of every chunk.
const segmentsPrefix = "vectors/"

// migrationSegments lists the chunks of vectors kept on a bucket (see
// above); key is the object's key. With local files it stays empty.
const migrationSegments = `CREATE TABLE segments (
		collection_id TEXT NOT NULL,
		feature TEXT NOT NULL,
		first_row INTEGER NOT NULL,
		n_rows INTEGER NOT NULL,
		key TEXT NOT NULL UNIQUE,
		PRIMARY KEY (collection_id, feature, first_row)
	);`

// collectionPrefix is the key prefix of a collection's chunks.
func collectionPrefix(collectionID string) string {
	return segmentsPrefix + collectionID + "/"
}

// bucketSegment starts this upsert's chunk of feature f: rows from the
// feature's next free row, written to a temporary file until
// syncSegments puts it.
func (u *upsert) bucketSegment(f Feature, fresh bool) (*segment, error) {
	var next int64
	q := `SELECT COALESCE(MAX(first_row + n_rows), 0) FROM segments WHERE collection_id = ? AND feature = ?`
	var err error
	if u.tx != nil {
		err = u.tx.QueryRowContext(u.ctx, q, u.col, f.Name).Scan(&next)
	} else {
		err = u.s.r.QueryRowContext(u.ctx, q, u.col, f.Name).Scan(&next)
	}
	if err != nil {
		return nil, err
	}
	if !fresh {
		// Rows written to a local file before the store had a bucket stay
		// there (see bucketRows); new rows follow them.
		if st, err := os.Stat(filepath.Join(u.s.collectionDir(u.col), f.file)); err == nil {
			next = max(next, st.Size()/(int64(f.Dim)*4))
		}
	}
	if err := os.MkdirAll(u.s.TempDir(), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	file, err := os.CreateTemp(u.s.TempDir(), "chunk-*.f32")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	key := fmt.Sprintf("%s%s/%016d-%s.f32", collectionPrefix(u.col), strings.TrimSuffix(featureFile(f.Name), ".f32"), next, ids.New(""))
	return &segment{f: file, w: newSegmentWriter(file), dim: f.Dim, nextRow: next, fileName: f.file,
		key: key, feature: f.Name, firstRow: next}, nil
}

// putChunk uploads a bucket segment's rows under its key (once).
func (s *Store) putChunk(ctx context.Context, sg *segment) error {
	if sg.put {
		return nil
	}
	if err := sg.w.Flush(); err != nil {
		return fmt.Errorf("store: writing vectors: %w", err)
	}
	size := (sg.nextRow - sg.firstRow) * int64(sg.dim) * 4
	if err := s.blob.Put(ctx, sg.key, io.NewSectionReader(sg.f, 0, size), size); err != nil {
		return fmt.Errorf("store: storing vectors: %w", err)
	}
	sg.put = true
	return nil
}

// dropChunk undoes a bucket segment whose rows never became visible: its
// object, if put, is deleted (a failure leaves it to Open's sweep).
func (s *Store) dropChunk(sg *segment) {
	if sg.put {
		s.blob.Delete(context.Background(), sg.key)
		sg.put = false
	}
}

// releaseChunk closes and removes a bucket segment's temporary file.
func releaseChunk(sg *segment) {
	sg.f.Close()
	os.Remove(sg.f.Name())
}

// recordSegments lists this upsert's chunks in tx, the transaction that
// makes their rows visible. Nothing to do with local files.
func (u *upsert) recordSegments(tx *sql.Tx) error {
	for _, sg := range u.segs {
		if sg.key == "" || sg.nextRow == sg.firstRow {
			continue
		}
		if !sg.put {
			return fmt.Errorf("store: vectors of %s: chunk %s recorded before it was stored", u.col, sg.key)
		}
		if _, err := tx.ExecContext(u.ctx, `INSERT INTO segments (collection_id, feature, first_row, n_rows, key) VALUES (?, ?, ?, ?, ?)`,
			u.col, sg.feature, sg.firstRow, sg.nextRow-sg.firstRow, sg.key); err != nil {
			return err
		}
	}
	return nil
}

// rowReader reads rows of one feature of one collection.
type rowReader interface {
	// readRows reads the consecutive rows from row on into dst (a multiple
	// of the feature's dimension long).
	readRows(row int64, dst []float32) error
	Close() error
}

// openRows opens the rows of feature f of a collection for reading.
func (s *Store) openRows(ctx context.Context, collectionID string, f Feature) (rowReader, error) {
	if s.blob == nil {
		file, err := os.Open(filepath.Join(s.collectionDir(collectionID), f.file))
		if err != nil {
			return nil, fmt.Errorf("store: vectors of %s: %w", collectionID, err)
		}
		return &fileRows{f: file, dim: int64(f.Dim)}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT first_row, n_rows, key FROM segments WHERE collection_id = ? AND feature = ? ORDER BY first_row`, collectionID, f.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := &bucketRows{s: s, ctx: ctx, dim: int64(f.Dim), local: filepath.Join(s.collectionDir(collectionID), f.file)}
	for rows.Next() {
		var c chunk
		if err := rows.Scan(&c.first, &c.n, &c.key); err != nil {
			return nil, err
		}
		b.chunks = append(b.chunks, c)
	}
	return b, rows.Err()
}

// fileRows reads a local segment file: row r at byte r×dim×4.
type fileRows struct {
	f   *os.File
	dim int64
}

// readRows reads a run of parallelReadBytes or more in pieces, one per
// core (at least two), at once: most of such a read is the kernel faulting
// in the destination's fresh pages, which the cores share (measured on
// 1,000,000 × 128 rows, the first load of a fresh process: 0.82–1.18 s
// read whole, 0.71–0.82 s in two pieces on 2 cores).
func (r *fileRows) readRows(row int64, dst []float32) error {
	buf, off := rawbytes.Float32s(dst), row*r.dim*4
	pieces := 1
	if len(buf) >= parallelReadBytes {
		pieces = max(2, runtime.GOMAXPROCS(0))
	}
	if pieces == 1 {
		_, err := r.f.ReadAt(buf, off)
		return err
	}
	errs := make([]error, pieces)
	parallel.For(context.Background(), pieces, pieces, func(p int) {
		lo, hi := len(buf)*p/pieces, len(buf)*(p+1)/pieces
		_, errs[p] = r.f.ReadAt(buf[lo:hi], off+int64(lo))
	})
	return errors.Join(errs...)
}

// parallelReadBytes is the size from which fileRows.readRows reads in
// pieces. A variable for tests.
var parallelReadBytes = 64 << 20

func (r *fileRows) Close() error { return r.f.Close() }

// chunk is one row of the segments table, with its object once opened.
type chunk struct {
	first, n int64
	key      string
	obj      blob.Object
}

// bucketRows reads a feature's chunks; rows before the first chunk are in
// the local file a store without a bucket wrote (if any).
type bucketRows struct {
	s      *Store
	ctx    context.Context
	dim    int64
	chunks []chunk
	local  string
	file   *os.File
}

func (b *bucketRows) readRows(row int64, dst []float32) error {
	for len(dst) > 0 {
		n := int64(len(dst)) / b.dim
		i := sort.Search(len(b.chunks), func(i int) bool { return b.chunks[i].first > row }) - 1
		if i < 0 {
			// Before every chunk: the local file of a store that had no bucket.
			k := n
			if len(b.chunks) > 0 {
				k = min(n, b.chunks[0].first-row)
			}
			if b.file == nil {
				f, err := os.Open(b.local)
				if err != nil {
					return fmt.Errorf("row %d is in no segment: %w", row, err)
				}
				b.file = f
			}
			if _, err := b.file.ReadAt(rawbytes.Float32s(dst[:k*b.dim]), row*b.dim*4); err != nil {
				return err
			}
			dst, row = dst[k*b.dim:], row+k
			continue
		}
		c := &b.chunks[i]
		if row >= c.first+c.n {
			return fmt.Errorf("row %d is in no segment (the last before it, %s, ends at row %d)", row, c.key, c.first+c.n)
		}
		if c.obj == nil {
			o, err := b.s.blob.Open(b.ctx, c.key)
			if err != nil {
				return err
			}
			c.obj = o
		}
		k := min(n, c.first+c.n-row)
		p := rawbytes.Float32s(dst[:k*b.dim])
		if m, err := c.obj.ReadAt(p, (row-c.first)*b.dim*4); err != nil && !(m == len(p) && errors.Is(err, io.EOF)) {
			return err
		}
		dst, row = dst[k*b.dim:], row+k
	}
	return nil
}

func (b *bucketRows) Close() error {
	var errs []error
	for i := range b.chunks {
		if b.chunks[i].obj != nil {
			errs = append(errs, b.chunks[i].obj.Close())
		}
	}
	if b.file != nil {
		errs = append(errs, b.file.Close())
	}
	return errors.Join(errs...)
}

// collectionKeys returns the keys of a collection's chunks (in tx).
func collectionKeys(ctx context.Context, tx *sql.Tx, collectionID string) ([]string, error) {
	return queryStrings(ctx, tx, `SELECT key FROM segments WHERE collection_id = ?`, collectionID)
}

// deleteKeys deletes chunks no row lists any more; a failure leaves them
// to Open's sweep.
func (s *Store) deleteKeys(keys []string) {
	for _, k := range keys {
		s.blob.Delete(context.Background(), k)
	}
}

// removeCollectionFiles removes a deleted collection's vectors: its local
// segment files and, with a bucket, its chunks.
func (s *Store) removeCollectionFiles(collectionID string) {
	os.RemoveAll(s.collectionDir(collectionID))
	if s.blob != nil {
		s.blob.DeletePrefix(context.Background(), collectionPrefix(collectionID))
	}
}

// sweepSegments deletes the chunks no segments row lists that are older
// than segmentSweepGrace: those of upserts that failed without deleting
// them (killed), and of collections deleted meanwhile. The keys are
// listed before the table is read, so a chunk whose rows commit in
// between is seen as listed; a younger unlisted one is left alone (its
// upsert may still commit).
func (s *Store) sweepSegments(ctx context.Context) error {
	objs, err := s.blob.List(ctx, segmentsPrefix)
	if err != nil {
		return fmt.Errorf("store: listing vector chunks: %w", err)
	}
	if len(objs) == 0 {
		return nil
	}
	listed := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM segments`)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("store: %w", err)
		}
		listed[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	cutoff := time.Now().Add(-segmentSweepGrace)
	for _, o := range objs {
		if listed[o.Key] || o.ModTime.IsZero() || o.ModTime.After(cutoff) {
			continue
		}
		if err := s.blob.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("store: deleting vector chunk %s: %w", o.Key, err)
		}
	}
	return nil
}

// checkSegmentsPlace refuses a store without a bucket whose vectors are
// on one (the segments table lists chunks): its rows would be unreadable
// and new rows would collide with them.
func (s *Store) checkSegmentsPlace(ctx context.Context) error {
	if s.blob != nil {
		return nil
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM segments LIMIT 1) t`).Scan(&n); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("store: %w; open the store with its bucket (--blob-url)", ErrWrongPlace)
	}
	return nil
}

// ErrWrongPlace reports a store opened without the bucket its vectors are
// in.
var ErrWrongPlace = errors.New("the store's vectors are in object storage")
