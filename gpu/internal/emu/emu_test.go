//go:build cudaemu

package emu

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"
)

// device allocates n elements of T on the model, freed when the test ends.
func device[T any](t *testing.T, n int) uintptr {
	t.Helper()
	var zero T
	p, err := Alloc(int64(n) * int64(unsafe.Sizeof(zero)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Free(p) })
	return p
}

func read[T any](t *testing.T, p uintptr, n int) []T {
	t.Helper()
	out := make([]T, n)
	var zero T
	if err := CopyDtoH(unsafe.Pointer(&out[0]), p, int64(n)*int64(unsafe.Sizeof(zero))); err != nil {
		t.Fatal(err)
	}
	return out
}

func launch1(name string, threads int, args []uint64, types ...string) error {
	return Launch(name, [3]int{1, 1, 1}, [3]int{threads, 1, 1}, args, types)
}

// TestModelChecks runs the probe kernels (kernels_probe.cc), each breaking
// or keeping one rule of the programming model, and checks what the model
// says.
func TestModelChecks(t *testing.T) {
	cases := []struct {
		kernel  string
		threads int
		want    string // in the error; "" for success
	}{
		{"probe_divergent_barrier", 32, "divergent barrier: __syncthreads at"},
		{"probe_exited_lane", 32, "deadlock: 31 threads wait"},
		{"probe_misaligned_vec4", 32, "misaligned 128-bit load"},
		{"probe_shuffle_sum", 64, ""},
	}
	for _, c := range cases {
		t.Run(c.kernel, func(t *testing.T) {
			out := device[int32](t, c.threads)
			err := launch1(c.kernel, c.threads, []uint64{uint64(out)}, ".u64")
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range read[int32](t, out, c.threads) {
					if v != 496 {
						t.Fatalf("lane %d: warp sum %d, want 496", i, v)
					}
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeLaunchFailed || !strings.Contains(e.Msg, c.want) {
				t.Fatalf("error %v, want CUDA_ERROR_LAUNCH_FAILED saying %q", err, c.want)
			}
			t.Log(e.Msg)
		})
	}
}

// TestMissingBarrierShows checks that the scheduling order exposes a read of
// shared memory that no barrier orders after the write: with threads run
// one way, a thread reads its neighbour's slot before the neighbour writes
// it (stale), the other way after.
func TestMissingBarrierShows(t *testing.T) {
	out := device[int32](t, 64)
	const blocks = 2 // block 0 runs ascending, block 1 descending; both write out
	stale := 0
	for b := range blocks {
		if err := Launch("probe_missing_barrier", [3]int{b + 1, 1, 1}, [3]int{64, 1, 1}, []uint64{uint64(out)}, []string{".u64"}); err != nil {
			t.Fatal(err)
		}
		for i, v := range read[int32](t, out, 64) {
			if v != int32((i+1)%64) {
				stale++
			}
		}
	}
	if stale == 0 {
		t.Fatal("every thread read its neighbour's store: the missing barrier went unnoticed")
	}
}

// TestParameterMismatch checks that a launch whose parameter types differ
// from the kernel's signature is refused.
func TestParameterMismatch(t *testing.T) {
	err := launch1("probe_fault", 1, []uint64{0, 0}, ".u64", ".f32")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidValue || !strings.Contains(e.Msg, "do not match") {
		t.Fatalf("error %v, want CUDA_ERROR_INVALID_VALUE about the parameters", err)
	}
	if err := launch1("no_such_kernel", 1, nil); err == nil {
		t.Fatal("unknown kernel launched")
	}
}

// TestCopyBounds checks that copies outside an allocation are refused and
// that memory beyond the model's total is out of memory.
func TestCopyBounds(t *testing.T) {
	p := device[float32](t, 10)
	buf := make([]float32, 11)
	if err := CopyHtoD(p, unsafe.Pointer(&buf[0]), 44); err == nil {
		t.Fatal("copy of 44 bytes into a 40-byte allocation accepted")
	}
	if err := CopyDtoH(unsafe.Pointer(&buf[0]), p+8, 40); err == nil {
		t.Fatal("copy from past the end accepted")
	}
	fresh := read[uint32](t, p, 10)
	if fresh[0] != 0xffffffff {
		t.Fatalf("fresh memory holds %#x, want the 0xff fill", fresh[0])
	}
	prev := SetMemory(1 << 20)
	defer SetMemory(prev)
	var e *Error
	if _, err := Alloc(2 << 20); !errors.As(err, &e) || e.Code != CodeOutOfMemory {
		t.Fatalf("2 MiB of a 1 MiB model: %v, want out of memory", err)
	}
}

// TestFaultReport runs a kernel that writes into the guard page after an
// allocation, in a child process, and checks that the process dies with a
// line naming the kernel, block and thread.
func TestFaultReport(t *testing.T) {
	if os.Getenv("CLUSTERD_EMU_FAULT_CHILD") == "1" {
		p := device[float32](t, 1024) // 4096 bytes: the guard page starts right after
		launch1("probe_fault", 32, []uint64{uint64(p), 1024}, ".u64", ".u32")
		t.Fatal("the write past the end did not fault")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFaultReport$")
	cmd.Env = append(os.Environ(), "CLUSTERD_EMU_FAULT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child exited 0:\n%s", out)
	}
	want := "memory fault (SIGSEGV"
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "in kernel probe_fault, block (0,0,0), thread (0,0,0)") {
		t.Fatalf("child output lacks the fault report:\n%s", out)
	}
}

// TestGoFaultsStillPanic checks that, with the model's fault handler
// installed, a nil dereference in Go code is still a recoverable panic.
func TestGoFaultsStillPanic(t *testing.T) {
	out := device[int32](t, 64)
	if err := launch1("probe_shuffle_sum", 64, []uint64{uint64(out)}, ".u64"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	var p *int
	_ = *p
}
