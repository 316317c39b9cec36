// Package rawbytes views numeric slices as their bytes (little-endian on
// every platform clusterd builds for), for writing and reading raw vector
// files and .npy data without a copy.
package rawbytes

import "unsafe"

// Float32s returns the bytes of v, sharing its memory.
func Float32s(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// Int32s returns the bytes of v, sharing its memory.
func Int32s(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}
