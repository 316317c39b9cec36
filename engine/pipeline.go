package engine

import (
	"encoding/json"
	"fmt"
	"math"
)

// Pipeline are the steps around an algorithm, applied by Run in this order:
// preprocessing, fitting on a sample (then assigning every other point),
// hierarchical sub-clustering, and the effective centroid of each cluster.
type Pipeline struct {
	// Preprocessing steps, each a JSON object with a "method":
	//   {"method": "normalize"}                      L2-normalise every row
	//   {"method": "pca", "n_components": 50}        project on the first principal axes
	//   {"method": "whitening", "shrinkage": 0.001}  ZCA whitening (see Whiten)
	Preprocessing []json.RawMessage
	// SampleSize > 0 fits the algorithm on a seeded uniform sample of that
	// many points and assigns the rest (nearest centroid for centroid
	// methods, nearest core point within reach or noise for density ones).
	SampleSize int
	// Hierarchical re-clusters every large enough cluster, down to
	// MaxHierarchyDepth levels (default 3); see SplitRule.
	Hierarchical      bool
	MaxHierarchyDepth int
	// EffectiveFeatureMethod is how a cluster's reported centroid is made
	// from its members: "mean" (default), "median" (per feature) or
	// "medoid" (the member with the least total distance to the others).
	EffectiveFeatureMethod string
}

// PipelineError locates a problem in a Pipeline by its JSON path within
// the API's vector_config (e.g. ["preprocessing_steps", 0, "n_components"]).
type PipelineError struct {
	Path []any
	Msg  string
}

func (e *PipelineError) Error() string { return fmt.Sprintf("%v: %s", e.Path, e.Msg) }

// DefaultWhiteningShrinkage regularises ZCA whitening: the covariance's
// eigenvalues λ are replaced by λ + shrinkage·mean(λ) before the inverse
// square root, so directions with (almost) no variance are not blown up.
const DefaultWhiteningShrinkage = 1e-3

// step is one parsed preprocessing step.
type step struct {
	Method      string   `json:"method"`
	NComponents *int     `json:"n_components,omitempty"`
	Shrinkage   *float64 `json:"shrinkage,omitempty"`
}

func parseSteps(raw []json.RawMessage) ([]step, error) {
	out := make([]step, len(raw))
	for i, r := range raw {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(r, &fields); err != nil {
			return nil, &PipelineError{Path: []any{"preprocessing_steps", i}, Msg: "each step must be an object like {\"method\": \"normalize\"}"}
		}
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, &PipelineError{Path: []any{"preprocessing_steps", i}, Msg: "invalid step: " + err.Error()}
		}
		allowed := map[string][]string{"normalize": {"method"}, "pca": {"method", "n_components"}, "whitening": {"method", "shrinkage"}}
		keys, ok := allowed[out[i].Method]
		if !ok {
			return nil, &PipelineError{Path: []any{"preprocessing_steps", i, "method"}, Msg: fmt.Sprintf("unknown preprocessing method %q (normalize, pca, whitening)", out[i].Method)}
		}
		for k := range fields {
			known := false
			for _, a := range keys {
				known = known || a == k
			}
			if !known {
				return nil, &PipelineError{Path: []any{"preprocessing_steps", i, k}, Msg: fmt.Sprintf("unknown field for %s", out[i].Method)}
			}
		}
		switch out[i].Method {
		case "pca":
			if out[i].NComponents == nil {
				return nil, &PipelineError{Path: []any{"preprocessing_steps", i, "n_components"}, Msg: "Field required"}
			}
			if *out[i].NComponents < 1 {
				return nil, &PipelineError{Path: []any{"preprocessing_steps", i, "n_components"}, Msg: fmt.Sprintf("must be ≥ 1, got %d", *out[i].NComponents)}
			}
		case "whitening":
			if s := out[i].Shrinkage; s != nil && (*s < 0 || math.IsNaN(*s) || *s > 1) {
				return nil, &PipelineError{Path: []any{"preprocessing_steps", i, "shrinkage"}, Msg: fmt.Sprintf("must be between 0 and 1, got %g", *s)}
			}
		}
	}
	return out, nil
}

// CheckPipeline validates a Pipeline without data.
func CheckPipeline(p Pipeline) error {
	if _, err := parseSteps(p.Preprocessing); err != nil {
		return err
	}
	if p.SampleSize < 0 || p.SampleSize == 1 {
		return &PipelineError{Path: []any{"sample_size"}, Msg: fmt.Sprintf("must be ≥ 2, got %d", p.SampleSize)}
	}
	if p.MaxHierarchyDepth < 0 || p.MaxHierarchyDepth > 10 {
		return &PipelineError{Path: []any{"max_hierarchy_depth"}, Msg: fmt.Sprintf("must be between 1 and 10, got %d", p.MaxHierarchyDepth)}
	}
	switch p.EffectiveFeatureMethod {
	case "", "mean", "median", "medoid":
	default:
		return &PipelineError{Path: []any{"effective_feature_method"}, Msg: fmt.Sprintf("must be mean, median or medoid, got %q", p.EffectiveFeatureMethod)}
	}
	return nil
}

// CheckPipelineData validates a Pipeline against the data's shape: PCA
// components within the dimension, the sample within the number of points.
func CheckPipelineData(p Pipeline, n, d int) error {
	steps, err := parseSteps(p.Preprocessing)
	if err != nil {
		return err
	}
	dim := d
	for i, s := range steps {
		if s.Method == "pca" {
			if *s.NComponents > dim {
				return &PipelineError{Path: []any{"preprocessing_steps", i, "n_components"},
					Msg: fmt.Sprintf("n_components = %d is more than the %d dimensions of the vectors", *s.NComponents, dim)}
			}
			dim = *s.NComponents
		}
	}
	if p.SampleSize > n {
		return &PipelineError{Path: []any{"sample_size"}, Msg: fmt.Sprintf("sample_size = %d is more than the %d points to cluster", p.SampleSize, n)}
	}
	return nil
}
