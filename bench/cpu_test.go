package bench

import (
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/kernels"
)

// BenchmarkCPU runs the grid on the CPU backend:
//
//	go test ./bench -run '^$' -bench CPU -benchtime 3x
func BenchmarkCPU(b *testing.B) {
	Kernels(b, func() kernels.Backend { return cpu.New(cpu.Options{}) })
}
