package emu

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelSourcesSum checks that kernels_sum.h lists the current
// SHA-256 of every gpu/cuda/*.cu and *.cuh, so that an edit to a kernel
// changes this package's files and the build cache compiles the model
// again.
func TestKernelSourcesSum(t *testing.T) {
	var want strings.Builder
	for _, pattern := range []string{"*.cu", "*.cuh"} {
		files, err := filepath.Glob(filepath.Join("..", "..", "cuda", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&want, "// %x  %s\n", sha256.Sum256(b), filepath.Base(f))
		}
	}
	got, err := os.ReadFile("kernels_sum.h")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Fatalf("kernels_sum.h is stale: run go generate ./gpu/internal/emu\nhave:\n%s\nwant:\n%s", got, want.String())
	}
}
