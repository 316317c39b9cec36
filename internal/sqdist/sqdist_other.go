//go:build !amd64 || purego

package sqdist

func bestRoutine() func(a, b *float32, n int) float64 { return nil }

func bestNormRoutine() func(a *float32, n int) float64 { return nil }
