package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// dataset is what a run clusters: N rows (documents), the vectors that are
// clustered (X, N×D: one feature's, or several joined) and each feature's
// stored vectors of the same rows (Blocks).
type dataset struct {
	X       []float32
	N       int
	D       int
	IDs     []string // document id per row
	Sources []source // which collection each range of rows came from
	// Blocks are the stored vectors of each feature, in feature_uris order
	// (nil for an attribute cluster without vectors).
	Blocks []block
	// Payloads are the rows' payloads (attribute clusters only).
	Payloads []json.RawMessage
	// closers release the vectors store.MapVectors mapped (see release).
	closers []func() error
}

// release unmaps the stored vectors loadBlocks mapped: the dataset's rows,
// and every slice of them, must not be used after. Vectors read into
// memory are left to the garbage collector.
func (d *dataset) release() {
	for _, c := range d.closers {
		c() // munmap of a mapping of ours does not fail
	}
	d.closers = nil
}

// block is one feature's stored vectors of a dataset's rows.
type block struct {
	URI  string // the feature as feature_uris names it ("" when none is named)
	Name string // the feature's name in the first collection
	X    []float32
	D    int
}

// source is a range of a dataset's rows from one collection.
type source struct {
	CollectionID string
	Start, End   int
}

// subset is the dataset of the given rows, sharing nothing with d.
func (d *dataset) subset(rows []int) *dataset {
	out := &dataset{N: len(rows), D: d.D, IDs: make([]string, len(rows))}
	for p, i := range rows {
		out.IDs[p] = d.IDs[i]
	}
	out.X = gather(d.X, d.D, rows)
	for _, b := range d.Blocks {
		out.Blocks = append(out.Blocks, block{URI: b.URI, Name: b.Name, D: b.D, X: gather(b.X, b.D, rows)})
	}
	return out
}

func gather(x []float32, d int, rows []int) []float32 {
	if x == nil {
		return nil
	}
	out := make([]float32, 0, len(rows)*d)
	for _, i := range rows {
		out = append(out, x[i*d:(i+1)*d]...)
	}
	return out
}

// loadBlocks reads the vectors of the features feats (feature URIs as
// configured; [""] picks each collection's only feature) of every
// collection of collection_ids, restricted by the cluster's filters, into
// the dataset's Blocks: one row per document that has every feature (the
// others are left out), in the first feature's order, collections one
// after the other. X is left for the strategy to build. With mapped, large
// runs of stored rows are mapped rather than read (store.MapVectors), and
// the caller must release the dataset when done with it.
func (r *Runner) loadBlocks(ctx context.Context, ns string, cfg *model.CreateClusterRequest, feats []string, mapped bool) (_ *dataset, err error) {
	out := &dataset{Blocks: make([]block, len(feats))}
	defer func() {
		if err != nil {
			out.release()
		}
	}()
	load := r.cfg.Store.LoadVectors
	if mapped {
		load = r.cfg.Store.MapVectors
	}
	for b, uri := range feats {
		out.Blocks[b].URI = uri
	}
	for _, cid := range cfg.CollectionIDs {
		col, err := r.collection(ctx, ns, cid)
		if err != nil {
			return nil, err
		}
		parts := make([]store.Vectors, len(feats))
		for i, want := range feats {
			f, err := r.cfg.Store.ResolveFeature(ctx, col.ID, want)
			if err != nil {
				return nil, err
			}
			if out.Blocks[i].Name == "" {
				out.Blocks[i].Name = f.Name
			}
			if parts[i], err = load(ctx, col.ID, f, cfg.Filters); err != nil {
				return nil, filterError(err)
			}
			out.closers = append(out.closers, parts[i].Close)
		}
		if len(parts) > 1 {
			parts = align(parts)
		}
		for i, p := range parts {
			b := &out.Blocks[i]
			if b.D != 0 && p.D != b.D {
				return nil, &userError{fmt.Sprintf("collections have vectors of different dimensions (%d and %d in %s)", b.D, p.D, col.ID)}
			}
			b.D = p.D
			if b.X == nil {
				b.X = p.X // the common single-collection case: no copy
			} else {
				b.X = append(b.X, p.X...)
			}
		}
		n := parts[0].N
		out.Sources = append(out.Sources, source{CollectionID: col.ID, Start: out.N, End: out.N + n})
		out.N += n
		out.IDs = append(out.IDs, parts[0].IDs...)
	}
	return out, nil
}

// collection finds a collection a cluster names, uncounted (FindCollection).
func (r *Runner) collection(ctx context.Context, ns, ref string) (store.Collection, error) {
	col, err := r.cfg.Store.FindCollection(ctx, ns, ref)
	if errors.Is(err, store.ErrNotFound) {
		return col, &userError{fmt.Sprintf("Collection %s not found", ref)}
	}
	return col, err
}

func filterError(err error) error {
	var qe *store.QueryError
	if errors.As(err, &qe) {
		return &userError{"invalid filters: " + qe.Error()}
	}
	return err
}

// join sets d.X to the concatenation of its blocks, each L2-normalised
// first when normalize is set and scaled by its weight (weights[i], 1 when
// absent). One block with neither normalisation nor a weight other than 1
// is used as stored, without a copy.
func (d *dataset) join(normalize bool, weights []float64) {
	if len(d.Blocks) == 1 && !normalize && (len(weights) == 0 || weights[0] == 1) {
		d.X, d.D = d.Blocks[0].X, d.Blocks[0].D
		return
	}
	d.D = 0
	for _, b := range d.Blocks {
		d.D += b.D
	}
	d.X = make([]float32, 0, d.N*d.D)
	for i := 0; i < d.N; i++ {
		for f, b := range d.Blocks {
			vec := b.X[i*b.D : (i+1)*b.D]
			scale := 1.0
			if f < len(weights) {
				scale = weights[f]
			}
			if normalize {
				var s float64
				for _, e := range vec {
					s += float64(e) * float64(e)
				}
				if s > 0 {
					scale /= math.Sqrt(s)
				}
			}
			for _, e := range vec {
				d.X = append(d.X, float32(float64(e)*scale))
			}
		}
	}
}

// align keeps the documents present in every part, in the first part's
// order.
func align(parts []store.Vectors) []store.Vectors {
	rowOf := make([]map[string]int, len(parts))
	for f, p := range parts {
		rowOf[f] = make(map[string]int, p.N)
		for i, id := range p.IDs {
			rowOf[f][id] = i
		}
	}
	out := make([]store.Vectors, len(parts))
	for f, p := range parts {
		out[f].D = p.D
	}
	rows := make([]int, len(parts))
	for _, id := range parts[0].IDs {
		ok := true
		for f := range parts {
			if rows[f], ok = rowOf[f][id]; !ok {
				break
			}
		}
		if !ok {
			continue
		}
		for f, p := range parts {
			out[f].X = append(out[f].X, p.X[rows[f]*p.D:(rows[f]+1)*p.D]...)
			out[f].IDs = append(out[f].IDs, id)
			out[f].N++
		}
	}
	return out
}

// concatenate joins several features of the same documents, in the first
// feature's order, normalising and weighting each part (documents lacking
// a feature are left out).
func concatenate(parts []store.Vectors, normalize bool, weights []float64) store.Vectors {
	parts = align(parts)
	d := &dataset{N: parts[0].N}
	for _, p := range parts {
		d.Blocks = append(d.Blocks, block{X: p.X, D: p.D})
	}
	d.join(normalize, weights)
	return store.Vectors{X: d.X, N: d.N, D: d.D, IDs: parts[0].IDs}
}

// loadPayloads reads the payloads of the rows of d (when d has rows) or of
// every document of the cluster's collections matching its filters (when
// d is nil, making a dataset without vectors).
func (r *Runner) loadPayloads(ctx context.Context, ns string, cfg *model.CreateClusterRequest, d *dataset) (*dataset, error) {
	if d != nil {
		d.Payloads = make([]json.RawMessage, d.N)
		for _, src := range d.Sources {
			ids, payloads, err := r.cfg.Store.LoadPayloads(ctx, src.CollectionID, cfg.Filters)
			if err != nil {
				return nil, filterError(err)
			}
			byID := make(map[string]json.RawMessage, len(ids))
			for i, id := range ids {
				byID[id] = payloads[i]
			}
			for i := src.Start; i < src.End; i++ {
				d.Payloads[i] = byID[d.IDs[i]]
			}
		}
		return d, nil
	}
	d = &dataset{}
	for _, cid := range cfg.CollectionIDs {
		col, err := r.collection(ctx, ns, cid)
		if err != nil {
			return nil, err
		}
		ids, payloads, err := r.cfg.Store.LoadPayloads(ctx, col.ID, cfg.Filters)
		if err != nil {
			return nil, filterError(err)
		}
		d.Sources = append(d.Sources, source{CollectionID: col.ID, Start: d.N, End: d.N + len(ids)})
		d.N += len(ids)
		d.IDs = append(d.IDs, ids...)
		d.Payloads = append(d.Payloads, payloads...)
	}
	return d, nil
}
