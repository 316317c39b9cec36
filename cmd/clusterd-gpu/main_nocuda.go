//go:build !cuda && !cudaemu

// Command clusterd-gpu is clusterd's GPU worker process. This build has no
// CUDA support (it was built without the cuda tag), so every invocation
// says so on standard error and exits with status 3
// (dispatch.ExitNotBuilt), which clusterd reports as the reason it uses the
// CPU. Build the real worker with
//
//	go build -tags cuda ./cmd/clusterd-gpu
package main

import (
	"fmt"
	"os"

	"github.com/clusterd/clusterd/dispatch"
	"github.com/clusterd/clusterd/gpu"
)

func main() {
	fmt.Fprintln(os.Stderr, "clusterd-gpu:", gpu.ErrNoCUDA)
	os.Exit(dispatch.ExitNotBuilt)
}
