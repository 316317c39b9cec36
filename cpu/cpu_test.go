package cpu

import (
	"testing"

	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/kernels/conformance"
)

// TestConformance runs the shared suite once per kernel path this CPU
// supports.
func TestConformance(t *testing.T) {
	for _, name := range Kernels() {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, func(tb testing.TB) kernels.Backend {
				b, err := NewChecked(Options{Kernel: name})
				if err != nil {
					tb.Fatal(err)
				}
				return b
			})
		})
	}
}
