//go:build !amd64 || purego

// Builds without assembly (other architectures, the purego tag): only the
// generic path exists.

package cpu

// simdPaths is empty where there is no assembly: only the generic path.
var simdPaths []*simd
