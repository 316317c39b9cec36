package gpu

import "fmt"

// Precisions of Assign (Options.Precision).
const (
	// PrecisionAuto uses tf32 tensor cores where the device has them
	// (compute capability ≥ 8.0) and fp32 otherwise. Results meet the
	// kernels.Backend tolerances either way, and labels equal the fp32
	// path's (near ties are re-checked exactly; see the package doc).
	PrecisionAuto = "auto"
	// PrecisionFP32 always uses the exact fp32 kernel.
	PrecisionFP32 = "fp32"
	// PrecisionTF32 requires tensor cores: New fails on older devices.
	PrecisionTF32 = "tf32"
)

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
