//go:build !amd64 || purego

package quality

func addRootsAVX2(acc *float64, e *float32, n int) { panic("quality: no AVX2") }

const rootsAVX2 = false
