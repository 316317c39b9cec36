package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/clusterd/clusterd/engine/algo"
	"github.com/clusterd/clusterd/params"
	"github.com/clusterd/clusterd/schema"
)

// Pipeline are the steps around an algorithm, applied by Fit in this order:
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

// PipelineError locates a problem of a Pipeline with the data (found when
// the data is known) by its JSON path within the API's vector_config (e.g.
// ["preprocessing_steps", 0, "n_components"]). Problems that need no data
// are schema.Problems.
type PipelineError struct {
	Path []any
	Msg  string
}

func (e *PipelineError) Error() string { return fmt.Sprintf("%v: %s", e.Path, e.Msg) }

// DefaultWhiteningShrinkage regularises ZCA whitening (see
// params.DefaultWhiteningShrinkage).
const DefaultWhiteningShrinkage = params.DefaultWhiteningShrinkage

// step is one parsed preprocessing step.
type step struct {
	Method      string   `json:"method"`
	NComponents *int     `json:"n_components,omitempty"`
	Shrinkage   *float64 `json:"shrinkage,omitempty"`
}

// parseSteps validates every step against params.PreprocessingStep and
// returns them with their defaults, or every problem found (located under
// preprocessing_steps).
func parseSteps(raw []json.RawMessage) ([]step, error) {
	out := make([]step, len(raw))
	var problems schema.Problems
	for i, r := range raw {
		v, ps := params.PreprocessingStep.Decode(r, schema.Path{"preprocessing_steps", i})
		if len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		if err := schema.Into(v, &out[i]); err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// CheckPipeline validates a Pipeline without data; problems are
// schema.Problems located within vector_config.
func CheckPipeline(p Pipeline) error {
	_, err := parseSteps(p.Preprocessing)
	var ps schema.Problems
	if err != nil && !errors.As(err, &ps) {
		return err
	}
	if p.SampleSize < 0 || p.SampleSize == 1 {
		ps = append(ps, schema.Problem{Loc: schema.Path{"sample_size"}, Type: "greater_than_equal", Msg: "Input should be greater than or equal to 2"})
	}
	if p.MaxHierarchyDepth < 0 || p.MaxHierarchyDepth > 10 {
		ps = append(ps, schema.Problem{Loc: schema.Path{"max_hierarchy_depth"}, Type: "value_error", Msg: fmt.Sprintf("Input should be between 1 and 10, got %d", p.MaxHierarchyDepth)})
	}
	switch p.EffectiveFeatureMethod {
	case "", "mean", "median", "medoid":
	default:
		ps = append(ps, schema.Problem{Loc: schema.Path{"effective_feature_method"}, Type: "enum", Msg: "Input should be 'mean', 'median' or 'medoid'"})
	}
	return ps.Err()
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
	// A sample_size of n or more fits on every point (it is clamped, as a
	// sample cannot be larger than the data).
	return nil
}

// CheckData validates spec against the shape of the data it will run on,
// n points of d features, before the data is read: CheckPipelineData, and
// the algorithm's parameters that the shape cannot honour (more clusters
// than the points fitted, initial means of another dimension, a dense
// spectral affinity above its memory limit, …) as a *ParamError naming the
// parameter. The points fitted are the sample when sample_size applies,
// and the dimension is the one after PCA.
func CheckData(spec Spec, n, d int) error {
	if err := CheckPipelineData(spec.Pipeline, n, d); err != nil {
		return err
	}
	m, err := parseAlgorithm(spec.Algorithm, spec.Params, spec.Seed)
	if err != nil {
		return err
	}
	sc, ok := m.(algo.ShapeChecker)
	if !ok {
		return nil
	}
	steps, err := parseSteps(spec.Pipeline.Preprocessing)
	if err != nil {
		return err
	}
	for _, s := range steps {
		if s.Method == "pca" {
			d = *s.NComponents
		}
	}
	if s := spec.Pipeline.SampleSize; s > 0 && s < n {
		n = s
	}
	return sc.CheckShape(n, d)
}
