//go:build !amd64 || purego

package sqdist

func sameBits(a, b []float32) (float64, float64)  { return 0, 0 }
func sameNormBits(a []float32) (float64, float64) { return 0, 0 }
