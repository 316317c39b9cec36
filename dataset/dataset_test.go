package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadNDJSON(t *testing.T) {
	in := `{"document_id":"a","features":{"emb":[1,2],"other":[9]},"payload":{"text":"x"}}

{"document_id":7,"features":{"emb":[3,4.5]}}
{"features":{"emb":[5,6]}}
`
	m, err := ReadNDJSON(strings.NewReader(in), "emb")
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 3 || m.D != 2 || !slices.Equal(m.X, []float32{1, 2, 3, 4.5, 5, 6}) {
		t.Fatalf("%d×%d %v", m.N, m.D, m.X)
	}
	if !slices.Equal(m.IDs, []string{"a", "7", "line-4"}) || string(m.Payloads[0]) != `{"text":"x"}` {
		t.Fatalf("ids %v payload %s", m.IDs, m.Payloads[0])
	}
}

func TestReadNDJSONErrors(t *testing.T) {
	cases := []struct{ name, in, feature, msg string }{
		{"ragged", `{"features":{"e":[1,2]}}` + "\n" + `{"features":{"e":[1]}}`, "e", "line 2: feature \"e\" has dimension 1, earlier documents have 2"},
		{"missing_feature", `{"features":{"f":[1]}}`, "e", `line 1: document has no feature "e" (it has f)`},
		{"ambiguous", `{"features":{"a":[1],"b":[2]}}`, "", "choose one with --feature"},
		{"not_numbers", `{"features":{"e":["x"]}}`, "e", "not an array of numbers"},
		{"nan_literal", `{"features":{"e":[NaN]}}`, "e", "line 1:"},
		{"empty_vector", `{"features":{"e":[]}}`, "e", "is empty"},
		{"no_features", `{"document_id":"a"}`, "e", "no \"features\""},
		{"unknown_field", `{"features":{"e":[1]},"vector":[1]}`, "e", "unknown field"},
		{"empty", "\n\n", "e", "no documents"},
		{"bad_json", `{"features":`, "e", "line 1"},
	}
	for _, c := range cases {
		_, err := ReadNDJSON(strings.NewReader(c.in), c.feature)
		if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrInput containing %q", c.name, err, c.msg)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "docs.jsonl")
	os.WriteFile(p, []byte(`{"features":{"e":[1,2]}}`+"\n"), 0o644)
	if m, err := LoadFile(p, ""); err != nil || m.N != 1 {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "x.csv"), ""); !errors.Is(err, ErrInput) {
		t.Fatalf("csv: %v", err)
	}
	if _, err := LoadFile(filepath.Join("..", "internal", "npy", "testdata", "f4_3d.npy"), ""); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "2-D") {
		t.Fatalf("3-D: %v", err)
	}
	if _, err := LoadFile(filepath.Join("..", "internal", "npy", "testdata", "f4_0x3.npy"), ""); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty: %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.npy"), ""); err == nil || errors.Is(err, ErrInput) {
		t.Fatalf("missing file: %v", err)
	}
}
