package bench

import (
	"os"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/kernels"
)

// BenchmarkCPU runs the grid on the CPU backend:
//
//	go test ./bench -run '^$' -bench CPU -benchtime 3x
//
// The environment variable CLUSTERD_CPU_KERNEL forces a kernel path
// ("avx512", "avx2", "generic"; default: the fastest this CPU supports, see
// cpu.Kernels); an unsupported path fails the benchmark.
func BenchmarkCPU(b *testing.B) {
	opts := cpu.Options{Kernel: os.Getenv("CLUSTERD_CPU_KERNEL")}
	if _, err := cpu.NewChecked(opts); err != nil {
		b.Fatal(err)
	}
	Kernels(b, func() kernels.Backend { return cpu.New(opts) })
}
