package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/clusterd/clusterd/schema"
)

// nulPayload is a document payload holding U+0000, as JSON stores it (the
// escape \u0000): in a value, in a key, after an escaped backslash (an
// escape), after two (the text "\u0000", no escape), and twice in a row.
const nulPayload = `{"category":"a\u0000b","k\u0000":1,"t":"\\\u0000\\\\u0000\u0000\u0000","n":3}`

// addNULDocument adds the document d9 with nulPayload to the fixture's
// collection and to docs, the reference evaluator's documents.
func addNULDocument(tb testing.TB, fx *filterFixture, docs []refDoc) []refDoc {
	tb.Helper()
	at := at2026("01-09T00:00:00Z")
	if _, err := fx.s.w.Exec(`INSERT INTO documents (collection_id, document_id, seq, payload, created_at, updated_at) VALUES (?, 'd9', 9, ?, ?, ?)`,
		fx.col, nulPayload, at, at); err != nil {
		tb.Fatal(err)
	}
	v, err := schema.Parse([]byte(nulPayload))
	if err != nil {
		tb.Fatal(err)
	}
	return append(docs, refDoc{id: "d9", payload: v.(map[string]any), created: at, updated: at})
}

// TestFilterNUL runs filters over a collection one of whose payloads holds
// U+0000, with filter values holding it too, on both databases. SQLite
// stores and compares it as it is; PostgreSQL's text and jsonb cannot
// hold it, and read it as U+FFFF on both sides (clusterd_jsonb,
// pgReadArgs), which must select the same documents and never fail. The
// expected lists are written out and are also what the fuzz test's
// reference evaluator (refNode) selects.
func TestFilterNUL(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		fx := newFilterFixture(t, db)
		docs := addNULDocument(t, fx, referenceDocs(t))
		for _, c := range []struct {
			name, filters string
			want          []string
		}{
			{"a payload filter elsewhere in the collection", cond("n", "gt", "1"), []string{"d1", "d2", "d9"}},
			{"eq folds around U+0000", cond("category", "eq", `"A\u0000B"`), []string{"d9"}},
			{"eq case sensitive", sensitive(cond("category", "eq", `"A\u0000B"`)), nil},
			{"eq is not a prefix", cond("category", "eq", `"a"`), nil},
			{"contains U+0000", cond("category", "contains", `"\u0000"`), []string{"d9"}},
			{"starts_with", cond("category", "starts_with", `"a\u0000"`), []string{"d9"}},
			{"ends_with counts U+0000 as a character", cond("category", "ends_with", `"\u0000b"`), []string{"d9"}},
			{"regex with U+0000", sensitive(cond("category", "regex", `"^a\u0000b$"`)), []string{"d9"}},
			{"regex does not stop at U+0000", sensitive(cond("category", "regex", `"a\u0000c"`)), nil},
			{"escapes and backslashes", cond("t", "eq", `"\\\u0000\\\\u0000\u0000\u0000"`), []string{"d9"}},
			{"the text \\u0000 is not U+0000", cond("t", "contains", `"\\\\u0000"`), []string{"d9"}},
			{"nin", cond("category", "nin", `["a\u0000b"]`), []string{"d1", "d2", "d3", "d4", "d5", "d6"}},
			{"text splits words at U+0000", cond("t", "text", `"u0000"`), []string{"d9"}},
			{"a document id holding U+0000", cond("document_id", "eq", `"d9\u0000"`), nil},
		} {
			got, err := fx.list(DocumentFilters, c.filters, nil)
			if err != nil {
				t.Errorf("%s: %s: %v", c.name, c.filters, err)
				continue
			}
			if !slices.Equal(sorted(got), c.want) {
				t.Errorf("%s: %s selected %v, want %v", c.name, c.filters, sorted(got), c.want)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(c.filters), &obj); err != nil {
				t.Fatal(err)
			}
			var ref []string
			for _, d := range docs {
				if refNode(obj, d, false) {
					ref = append(ref, d.id)
				}
			}
			if !slices.Equal(ref, c.want) {
				t.Errorf("%s: the reference evaluator selects %v, the test wants %v", c.name, ref, c.want)
			}
		}
		got, err := fx.list(DocumentFilters, cond("category", "exists", "true"), &Sort{Field: "category", Direction: "asc"})
		if err != nil {
			t.Fatalf("sorted by a field holding U+0000: %v", err)
		}
		if want := []string{"d2", "d1", "d6", "d9", "d3"}; !slices.Equal(got, want) {
			t.Errorf("sorted by category: %v, want %v", got, want)
		}
	})
}

// TestTextNUL writes and looks up text (not JSON) holding U+0000: SQLite
// keeps it; PostgreSQL refuses the write with a *TextNULError and stores
// nothing; a lookup by such a name finds nothing on both.
func TestTextNUL(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testDB) {
		s := db.open(t)
		ctx := context.Background()
		ns, err := s.ResolveNamespace(ctx, "", true)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.CreateCollection(ctx, ns.ID, "c", "a\x00b", json.RawMessage(`{"k":"a\u0000b"}`))
		var te *TextNULError
		if db.d == dialectPostgres {
			if !errors.As(err, &te) {
				t.Fatalf("a description holding U+0000: %v, want a *TextNULError", err)
			}
			if page, err := s.ListCollections(ctx, ns.ID, Query{Limit: 10}); err != nil || len(page.Results) != 0 {
				t.Fatalf("after the refused write: %d collections (%v), want none", len(page.Results), err)
			}
		} else {
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetCollection(ctx, ns.ID, c.ID)
			if err != nil || got.Description != "a\x00b" || string(got.Metadata) != `{"k":"a\u0000b"}` {
				t.Fatalf("read back %q %s (%v), want the description and metadata written", got.Description, got.Metadata, err)
			}
		}
		var nf *NotFoundError
		if _, err := s.GetCollection(ctx, ns.ID, "c\x00"); !errors.As(err, &nf) {
			t.Errorf("a lookup of a name holding U+0000: %v, want a *NotFoundError", err)
		}
	})
}
