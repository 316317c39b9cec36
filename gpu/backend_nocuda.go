//go:build !cuda && !cudaemu

package gpu

// Backend is the GPU backend. In this build, without the cuda tag, it has
// no methods and New always fails with ErrNoCUDA.
type Backend struct{}

// New fails with ErrNoCUDA: this binary was built without the cuda tag.
func New(Options) (*Backend, error) { return nil, ErrNoCUDA }

// Devices fails with ErrNoCUDA: this binary was built without the cuda tag.
func Devices() ([]DeviceInfo, error) { return nil, ErrNoCUDA }
