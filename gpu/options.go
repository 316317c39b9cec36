package gpu

import "fmt"

// Precisions of Assign (Options.Precision).
const (
	// PrecisionAuto uses tf32 tensor cores where the device has them
	// (compute capability ≥ 8.0) and fp32 otherwise. Results meet the
	// kernels.Backend tolerances either way, and labels equal the fp32
	// path's (see TF32TieBound).
	PrecisionAuto = "auto"
	// PrecisionFP32 always uses the exact fp32 kernel.
	PrecisionFP32 = "fp32"
	// PrecisionTF32 requires tensor cores: New fails on older devices.
	PrecisionTF32 = "tf32"
)

// TF32TieBound is the relative gap under which a tf32 assignment is
// re-checked in fp32: a row is re-assigned exactly when its best and
// second-best tf32 distances differ by at most
// TF32TieBound·(‖x‖² + max_j ‖c_j‖²).
//
// tf32 keeps 10 mantissa bits and rounds to nearest (unit roundoff
// u = 2⁻¹¹), so rounding x and c perturbs x·c_j by at most 2u‖x‖‖c_j‖ and
// a distance by at most 2u(‖x‖² + ‖c_j‖²); two distances can swap order
// only when their gap is below 4u(‖x‖² + max_j ‖c_j‖²) = 2⁻⁹(…). The bound
// doubles that for the fp32 accumulation error and the rounding of the
// norms, which are orders of magnitude smaller.
const TF32TieBound = 1.0 / 256

// tf32MinK is the smallest k that goes to the tensor cores: below it the
// narrow fp32 kernel wastes less of its tile than the 128-wide tf32 kernel.
const tf32MinK = tileNNarrow + 1

// Options configure New. The zero value uses device 0 with PrecisionAuto.
type Options struct {
	// Device is the CUDA device ordinal.
	Device int
	// Precision of Assign: PrecisionAuto (""), PrecisionFP32 or
	// PrecisionTF32.
	Precision string
}

// useTF32 decides, for a device of compute capability major.x, whether
// Assign may use the tensor-core kernel.
func useTF32(precision string, major int) (bool, error) {
	switch precision {
	case "", PrecisionAuto:
		return major >= 8, nil
	case PrecisionFP32:
		return false, nil
	case PrecisionTF32:
		if major < 8 {
			return false, fmt.Errorf("gpu: precision tf32 needs compute capability 8.0 or newer, device has %d.x", major)
		}
		return true, nil
	}
	return false, fmt.Errorf("gpu: precision must be %s, %s or %s, got %q", PrecisionAuto, PrecisionFP32, PrecisionTF32, precision)
}
