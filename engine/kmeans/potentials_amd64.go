//go:build amd64 && !purego

package kmeans

import "golang.org/x/sys/cpu"

// potentials8AVX2 adds the rows' terms of 8 candidates' potentials to
// p[0:8] (see potentialsRows); w may be nil.
//
//go:noescape
func potentials8AVX2(p *float64, closest *float32, w *float64, dc *float32, rows int)

var potentialsAVX2 = cpu.X86.HasAVX2
