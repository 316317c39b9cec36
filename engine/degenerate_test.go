package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/clusterd/clusterd/engine"
)

// TestDegenerateInputs runs every new algorithm on tiny, duplicate-only and
// one-dimensional data: each must return a labelling of every point, never
// panic.
func TestDegenerateInputs(t *testing.T) {
	dup := make([]float32, 60*3)
	for i := range dup {
		dup[i] = 1
	}
	halfDup := make([]float32, 60*2)
	for i := 0; i < 60; i++ {
		halfDup[2*i], halfDup[2*i+1] = float32(i%2)*10, 0
	}
	line := make([]float32, 90)
	for i := range line {
		line[i] = float32(i * i % 17)
	}
	wide := make([]float32, 8*100)
	for i := range wide {
		wide[i] = float32(i % 7)
	}
	inputs := map[string]engine.Input{
		"two":        {X: []float32{0, 0, 1, 1}, N: 2, D: 2},
		"duplicates": {X: dup, N: 60, D: 3},
		"two_points": {X: halfDup, N: 60, D: 2},
		"line":       {X: line, N: 90, D: 1},
		"wide":       {X: wide, N: 8, D: 100},
	}
	specs := []engine.Spec{
		{Algorithm: engine.HDBSCAN, Params: []byte(`{"min_cluster_size":2}`)},
		{Algorithm: engine.HDBSCAN, Params: []byte(`{"min_cluster_size":2,"allow_single_cluster":true,"cluster_selection_epsilon":0.5}`)},
		{Algorithm: engine.HDBSCAN, Params: []byte(`{"min_cluster_size":3,"cluster_selection_method":"leaf"}`)},
		{Algorithm: engine.DBSCAN, Params: []byte(`{"min_samples":2}`)},
		{Algorithm: engine.DBSCAN, Params: []byte(`{"min_samples":2,"metric":"cosine","eps":0.1}`)},
		{Algorithm: engine.Agglomerative, Params: []byte(`{"n_clusters":2,"linkage":"single"}`)},
		{Algorithm: engine.Agglomerative, Params: []byte(`{"distance_threshold":0.5,"linkage":"average"}`)},
		{Algorithm: engine.Agglomerative, Params: []byte(`{"n_clusters":2}`)},
	}
	for name, in := range inputs {
		for _, spec := range specs {
			t.Run(fmt.Sprintf("%s/%s%s", name, spec.Algorithm, spec.Params), func(t *testing.T) {
				res, err := engine.Fit(context.Background(), in, spec, engine.Options{Backend: backend()})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Labels) != in.N {
					t.Fatalf("%d labels for %d points", len(res.Labels), in.N)
				}
				for _, l := range res.Labels {
					if l < -1 || int(l) >= res.NumClusters {
						t.Fatalf("label %d with %d clusters", l, res.NumClusters)
					}
				}
			})
		}
	}
}
