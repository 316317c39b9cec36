package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/llm"
	"github.com/clusterd/clusterd/model"
	"github.com/clusterd/clusterd/store"
)

// maxScan bounds how many members of a cluster, most representative first,
// are looked at to find its LLM samples: members without content, or too
// similar to a sample already chosen, are passed over, so a cluster whose
// first maxScan members yield fewer than max_samples_per_cluster samples
// gets fewer.
const maxScan = 1000

// sampler builds the representative documents the LLM sees of each
// cluster (see samples).
type sampler struct {
	store *store.Store
	data  *dataset
	// vecs are the clustered vectors, for use_embedding_dedup.
	vecs engine.Input
	// maps are llm_labeling.labeling_inputs' input_mappings; nil sends the
	// whole payload.
	maps       []model.InputMapping
	literals   []any // per mapping: the decoded override of a literal
	needsPay   bool  // whether payloads are read
	maxSamples int
	dedup      bool
	threshold  float64
	// features caches, per collection and vector mapping, the resolved
	// feature (nil when the collection lacks it).
	features map[string][]*store.Feature
	// missing lists, once each, the vector inputs a collection lacks, for
	// llm_labeling_errors.
	missing []string
}

func newSampler(st *store.Store, data *dataset, vecs engine.Input, l *model.LLMLabeling) (*sampler, error) {
	s := &sampler{store: st, data: data, vecs: vecs, maxSamples: l.MaxSamplesPerCluster, dedup: l.UseEmbeddingDedup,
		threshold: l.EmbeddingSimilarityThreshold, features: map[string][]*store.Feature{}, needsPay: true}
	if s.maxSamples <= 0 {
		s.maxSamples = llm.DefaultMaxSamplesPerCluster
	}
	if l.LabelingInputs == nil {
		return s, nil
	}
	s.maps = l.LabelingInputs.InputMappings
	s.literals = make([]any, len(s.maps))
	s.needsPay = false
	for i, m := range s.maps {
		switch m.Source() {
		case model.SourceLiteral:
			if len(bytes.TrimSpace(m.Override)) == 0 {
				continue // validation requires an override; null if none
			}
			v, err := decodeJSON(m.Override)
			if err != nil {
				return nil, fmt.Errorf("labeling_inputs.input_mappings[%d].override: %w", i, err)
			}
			s.literals[i] = v
		case model.SourcePayload:
			s.needsPay = true
		}
	}
	return s, nil
}

// samples returns the LLM samples of a cluster whose member rows are
// ordered most representative first: each member's inputs (the whole
// payload, or one input per mapping: the value at a payload dot path, the
// literal override, a feature's vector), skipping members with no payload
// or vector input; with use_embedding_dedup, also members whose clustered
// vector has cosine similarity >= embedding_similarity_threshold with a
// sample already chosen. It stops at max_samples_per_cluster samples or
// after maxScan members.
func (s *sampler) samples(ctx context.Context, rows []int) ([]llm.Sample, error) {
	rows = rows[:min(len(rows), maxScan)]
	var out []llm.Sample
	var chosen []int // rows of the samples, for dedup
	chunk := max(16, 2*s.maxSamples)
	for start := 0; start < len(rows) && len(out) < s.maxSamples; start += chunk {
		part := rows[start:min(len(rows), start+chunk)]
		docs, err := s.load(ctx, part)
		if err != nil {
			return nil, err
		}
		for k, row := range part {
			if len(out) == s.maxSamples {
				break
			}
			smp := s.build(docs[k])
			if smp == nil {
				continue
			}
			if s.dedup && s.nearDuplicate(row, chosen) {
				continue
			}
			out = append(out, smp)
			chosen = append(chosen, row)
		}
	}
	return out, nil
}

// doc is what is read of one member.
type doc struct {
	payload json.RawMessage
	vectors []llm.Vector // per mapping; nil where none
}

// load reads the payloads and mapped vectors of rows, collection by
// collection.
func (s *sampler) load(ctx context.Context, rows []int) ([]doc, error) {
	docs := make([]doc, len(rows))
	byCol := map[int][]int{} // source index → positions in rows
	for k, row := range rows {
		src := s.sourceOf(row)
		byCol[src] = append(byCol[src], k)
	}
	for src, pos := range byCol {
		colID := s.data.Sources[src].CollectionID
		ids := make([]string, len(pos))
		for i, k := range pos {
			ids[i] = s.data.IDs[rows[k]]
		}
		if s.needsPay {
			payloads, err := s.store.Payloads(ctx, colID, ids)
			if err != nil {
				return nil, err
			}
			for i, k := range pos {
				docs[k].payload = payloads[ids[i]]
			}
		}
		feats, err := s.featuresOf(ctx, colID)
		if err != nil {
			return nil, err
		}
		for m, f := range feats {
			if f == nil {
				continue
			}
			vecs, err := s.store.FeatureVectors(ctx, colID, *f, ids)
			if err != nil {
				return nil, err
			}
			for i, k := range pos {
				if v, ok := vecs[ids[i]]; ok {
					if docs[k].vectors == nil {
						docs[k].vectors = make([]llm.Vector, len(s.maps))
					}
					docs[k].vectors[m] = v
				}
			}
		}
	}
	return docs, nil
}

// featuresOf resolves, once per collection, the feature each vector mapping
// names: its path as a feature name or URI (as feature_uris are matched),
// else without a leading "features." (Mixpeek's example path
// "features.clip_vit_l_14"). A collection without it is noted in missing.
func (s *sampler) featuresOf(ctx context.Context, colID string) ([]*store.Feature, error) {
	if f, ok := s.features[colID]; ok {
		return f, nil
	}
	feats := make([]*store.Feature, len(s.maps))
	for i, m := range s.maps {
		if m.Source() != model.SourceVector {
			continue
		}
		// A vector input without a path is the collection's only feature.
		path := ""
		if m.Path != nil {
			path = *m.Path
		}
		var fe *store.FeatureError
		f, err := s.store.ResolveFeature(ctx, colID, path)
		if rest, ok := strings.CutPrefix(path, "features."); errors.As(err, &fe) && ok {
			f, err = s.store.ResolveFeature(ctx, colID, rest)
		}
		switch {
		case errors.As(err, &fe):
			s.missing = append(s.missing, fmt.Sprintf("labeling_inputs.input_mappings[%d] (%s): collection %s: %v", i, m.InputKey, colID, err))
		case err != nil:
			return nil, err
		default:
			feats[i] = &f
		}
	}
	s.features[colID] = feats
	return feats, nil
}

// sourceOf returns the index of the collection range holding row.
func (s *sampler) sourceOf(row int) int {
	for i, src := range s.data.Sources {
		if row >= src.Start && row < src.End {
			return i
		}
	}
	return 0
}

// build makes one member's sample; nil when it has no payload or vector
// input (literals alone do not make a document). With several mappings of
// one input_key, the last one's value is used, at the first one's place.
func (s *sampler) build(d doc) llm.Sample {
	if s.maps == nil {
		return llm.PayloadSample(d.payload)
	}
	var payload any
	if len(d.payload) > 0 {
		payload, _ = decodeJSON(d.payload) // stored payloads are valid JSON
	}
	var out llm.Sample
	content := false
	set := func(key string, v any) {
		for i := range out {
			if out[i].Key == key {
				out[i].Value = v
				return
			}
		}
		out = append(out, llm.Input{Key: key, Value: v})
	}
	for i, m := range s.maps {
		switch m.Source() {
		case model.SourceLiteral:
			set(m.InputKey, s.literals[i])
		case model.SourceVector:
			if d.vectors != nil && d.vectors[i] != nil {
				set(m.InputKey, d.vectors[i])
				content = true
			}
		default:
			// A payload input without a path is the whole payload.
			if m.Path == nil {
				if payload != nil {
					set(m.InputKey, payload)
					content = true
				}
				continue
			}
			if v := lookup(payload, *m.Path); v != nil {
				set(m.InputKey, v)
				content = true
			}
		}
	}
	if !content {
		return nil
	}
	return out
}

// lookup follows a dot path through nested objects; nil when a field is
// missing or null, or a step is not an object.
func lookup(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[seg]
	}
	return v
}

// nearDuplicate reports whether row's clustered vector has cosine
// similarity >= the threshold with any chosen row's. A zero vector has no
// direction, so it is never a near duplicate.
func (s *sampler) nearDuplicate(row int, chosen []int) bool {
	d := s.vecs.D
	a := s.vecs.X[row*d : (row+1)*d]
	na := norm(a)
	if na == 0 {
		return false
	}
	for _, c := range chosen {
		b := s.vecs.X[c*d : (c+1)*d]
		nb := norm(b)
		if nb == 0 {
			continue
		}
		var dot float64
		for t := range a {
			dot += float64(a[t]) * float64(b[t])
		}
		if dot/(na*nb) >= s.threshold {
			return true
		}
	}
	return false
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// decodeJSON decodes a JSON value keeping numbers exact (json.Number).
func decodeJSON(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
