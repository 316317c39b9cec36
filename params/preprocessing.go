package params

import "github.com/clusterd/clusterd/schema"

// DefaultWhiteningShrinkage regularises ZCA whitening: the covariance's
// eigenvalues λ become λ + shrinkage·mean(λ) before the inverse square
// root, so directions with (almost) no variance are not blown up.
const DefaultWhiteningShrinkage = 1e-3

// NormalizeStep L2-normalises every row.
var NormalizeStep = schema.Model("NormalizeStep", "L2-normalise every row.",
	schema.F("method", schema.Literal("normalize")).Req())

// PCAStep projects the rows on their first principal axes.
var PCAStep = schema.Model("PCAStep", "Project on the first principal axes (fitted on a seeded sample of 10,000 rows).",
	schema.F("method", schema.Literal("pca")).Req(),
	schema.F("n_components", schema.Int().Min(1)).Req().Describe("Number of axes kept; at most the dimension"))

// WhiteningStep whitens the rows (ZCA).
var WhiteningStep = schema.Model("WhiteningStep", "ZCA whitening with shrinkage.",
	schema.F("method", schema.Literal("whitening")).Req(),
	schema.F("shrinkage", schema.Num().Min(0).Max(1)).Def(DefaultWhiteningShrinkage).
		Describe("Eigenvalues λ become λ + shrinkage·mean(λ) before the inverse square root"))

// PreprocessingStep is one step of vector_config.preprocessing_steps,
// chosen by its method.
var PreprocessingStep = &schema.Schema{
	OneOf:         []*schema.Schema{NormalizeStep, PCAStep, WhiteningStep},
	Discriminator: "method",
	Doc:           "A preprocessing step, chosen by method: normalize, pca or whitening.",
}
