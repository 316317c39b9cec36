package cpu

import (
	"testing"

	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/kernels/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(testing.TB) kernels.Backend { return New(Options{}) })
}
