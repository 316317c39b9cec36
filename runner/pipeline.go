package runner

import (
	"github.com/clusterd/clusterd/engine"
	"github.com/clusterd/clusterd/model"
)

// PipelineOf returns the engine pipeline of a vector config: its
// preprocessing steps, sample size, hierarchy and effective centroids.
func PipelineOf(v *model.VectorConfig) engine.Pipeline {
	p := engine.Pipeline{Preprocessing: v.PreprocessingSteps, Hierarchical: v.Hierarchical,
		MaxHierarchyDepth: v.MaxHierarchyDepth, EffectiveFeatureMethod: v.EffectiveFeatureMethod}
	if v.SampleSize != nil {
		p.SampleSize = *v.SampleSize
	}
	return p
}
