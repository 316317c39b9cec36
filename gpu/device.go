package gpu

import "fmt"

// DeviceInfo describes a CUDA device as Devices reports it.
type DeviceInfo struct {
	Index        int    // CUDA device ordinal
	Name         string // e.g. "NVIDIA H100 80GB HBM3"
	Major, Minor int    // compute capability
	TotalMemory  int64  // bytes
	FreeMemory   int64  // bytes, when Devices (or New) ran
	// DriverVersion is cuDriverGetVersion's value, e.g. 12040 for 12.4.
	DriverVersion int
}

// ComputeCapability formats the compute capability as "9.0".
func (d DeviceInfo) ComputeCapability() string { return fmt.Sprintf("%d.%d", d.Major, d.Minor) }

// Driver formats the driver's CUDA version as "12.4".
func (d DeviceInfo) Driver() string {
	return fmt.Sprintf("%d.%d", d.DriverVersion/1000, d.DriverVersion%1000/10)
}

// Supported reports why the backend cannot use the device (its compute
// capability is older than the oldest embedded PTX target, 7.0), or nil.
func (d DeviceInfo) Supported() error {
	_, err := modulesFor(d.Major, d.Minor)
	return err
}
