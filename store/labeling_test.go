package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestLabelingReads checks the reads labeling makes: text at payload dot
// paths (strings only), whole payloads and one feature's vectors of chosen
// documents.
func TestLabelingReads(t *testing.T) {
	forEachPlace(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		_, c := setupCollection(t, s)
		in := []DocumentInput{
			{ID: "a", Features: map[string][]float32{"e": {1, 2}, "clip": {3, 4, 5}}, Payload: json.RawMessage(`{"text": "alpha", "content": {"title": "A title", "n": 3}, "odd key": "x"}`)},
			{ID: "b", Features: map[string][]float32{"e": {5, 6}}, Payload: json.RawMessage(`{"text": 7, "content": {"title": ["not", "text"]}}`)},
			{ID: "c", Features: map[string][]float32{"e": {7, 8}, "clip": {6, 7, 8}}},
		}
		if _, err := s.Upsert(ctx, c.ID, &SliceSource{Docs: in}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			paths []string
			want  map[string]string
		}{
			{nil, map[string]string{"a": "alpha"}},
			{[]string{"content.title", "text", "content.n", "odd key", `bad"quote`}, map[string]string{"a": "A title\nalpha\nx"}},
			{[]string{"content"}, map[string]string{}},
		}
		for _, tc := range cases {
			got, err := s.PayloadTexts(ctx, c.ID, tc.paths)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PayloadTexts(%q) = %v, %v; want %v", tc.paths, got, err, tc.want)
			}
		}
		// PayloadTextsOf: the same texts, of the ids asked for only, across
		// its batches of 500 (1,201 ids, "a" in the third batch).
		many := make([]string, 1201)
		for i := range many {
			many[i] = fmt.Sprintf("missing_%d", i)
		}
		many[1100] = "a"
		for _, tc := range []struct {
			paths, ids []string
			want       map[string]string
		}{
			{nil, []string{"a", "b", "c", "missing"}, map[string]string{"a": "alpha"}},
			{[]string{"content.title", "text"}, []string{"b", "a"}, map[string]string{"a": "A title\nalpha"}},
			{nil, []string{"b", "c"}, map[string]string{}},
			{nil, []string{}, map[string]string{}},
			{nil, many, map[string]string{"a": "alpha"}},
		} {
			got, err := s.PayloadTextsOf(ctx, c.ID, tc.paths, tc.ids)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PayloadTextsOf(%q, %d ids) = %v, %v; want %v", tc.paths, len(tc.ids), got, err, tc.want)
			}
		}
		p, err := s.Payloads(ctx, c.ID, []string{"a", "c", "missing"})
		if err != nil || len(p) != 1 || string(p["a"]) != string(in[0].Payload) {
			t.Errorf("Payloads = %s, %v", p, err)
		}
		f, err := s.ResolveFeature(ctx, c.ID, "clip")
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.FeatureVectors(ctx, c.ID, f, []string{"c", "b", "a"})
		if want := map[string][]float32{"a": {3, 4, 5}, "c": {6, 7, 8}}; err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("FeatureVectors = %v, %v; want %v", v, err, want)
		}
	})
}
