package ari

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/clusterd/clusterd/internal/npy"
)

// The reference values are scikit-learn 1.2.1's adjusted_rand_score on the
// labelings in engine/testdata (written by make_reference.py).
func TestAgainstScikitLearn(t *testing.T) {
	dir := filepath.Join("..", "..", "engine", "testdata")
	for _, name := range []string{"blobs", "blobs_overlap", "digits"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var ref struct {
			ARI []struct {
				A, B string
				ARI  float64
			}
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatal(err)
		}
		if len(ref.ARI) == 0 {
			t.Fatalf("%s: no ARI references", name)
		}
		for _, r := range ref.ARI {
			a, err := npy.ReadInt32File(filepath.Join(dir, name+"."+r.A+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := npy.ReadInt32File(filepath.Join(dir, name+"."+r.B+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if got := Index(a, b); math.Abs(got-r.ARI) > 1e-12 {
				t.Errorf("%s %s/%s: %.15f, scikit-learn %.15f", name, r.A, r.B, got, r.ARI)
			}
		}
	}
}

func TestSmallCases(t *testing.T) {
	cases := []struct {
		a, b []int32
		want float64
	}{
		{[]int32{0, 0, 1, 1}, []int32{1, 1, 0, 0}, 1},                               // renaming
		{[]int32{0, 0, 0, 0}, []int32{0, 0, 0, 0}, 1},                               // one cluster each
		{[]int32{0, 1, 2, 3}, []int32{3, 2, 1, 0}, 1},                               // all singletons
		{[]int32{0, 0, 1, 1}, []int32{0, 1, 0, 1}, -0.5},                            // scikit-learn gives -0.5
		{[]int32{0, 0, 0, 1, 1, 1}, []int32{0, 0, 1, 1, 2, 2}, 0.24242424242424243}, // scikit-learn's docs example family
	}
	for i, c := range cases {
		if got := Index(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}
