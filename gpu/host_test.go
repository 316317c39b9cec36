package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/clusterd/clusterd/kernels"
	"github.com/clusterd/clusterd/worker"
)

func TestKernelArgs(t *testing.T) {
	a := kernelArgs{}.ptr(0x7f0012345678).i32(-1).i32(768).i64(-2).f32(1.5).ptr(0)
	want := []uint64{0x7f0012345678, 0xffffffff, 768, 0xfffffffffffffffe, uint64(math.Float32bits(1.5)), 0}
	types := []string{".u64", ".u32", ".u32", ".u64", ".f32", ".u64"}
	if !slices.Equal(a.vals, want) || !slices.Equal(a.types, types) {
		t.Errorf("args %#x %v, want %#x %v", a.vals, a.types, want, types)
	}
}

// TestKernelSignatures checks every argument list the backend builds
// against the parameters of the kernel in the embedded PTX: their number
// and, slot by slot, their PTX type (a pointer or long long is .u64, an int
// .u32, a float .f32).
func TestKernelSignatures(t *testing.T) {
	built := map[string]kernelArgs{
		kRowNorms:     rowNormsArgs(1, 2, 3, 4),
		kAssign:       assignArgs(1, 2, 3, 4, 5, 6, 7, 8, true, 9, 10, 11),
		kAssignNarrow: assignArgs(1, 2, 3, 0, 5, 6, 7, 8, false, 9, 10, 0),
		kAssignTF32:   assignTF32Args(1, 2, 3, 4, 5, 6, 7, 0.5, 10, 11, 12, 13),
		kLabelDist:    labelDistArgs(1, 2, 3, 4, 5, 0, 7),
		kDist:         distArgs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
		kDistNarrow:   distArgs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
		kKNNSelect:    knnSelectArgs(1, 2, 3, 4, 5),
		kKNNMeasure:   knnMeasureArgs(1, 2, 3, 4, 5, 6, 7),
		kKNNSort:      knnSortArgs(1, 2, 3),
		kSumPartial:   sumPartialArgs(1, 2, 3, 4, 5),
		kSumCombine:   sumCombineArgs(1, 2, 3, 4, 5),
		kClusterDists: clusterDistsArgs(1, 2, 3, 4, 5, 6, 7, 8, 9),
		kFMAPeak:      fmaPeakArgs(1, 2, 3, 4),
	}
	mods, err := modulesFor(9, 0)
	if err != nil {
		t.Fatal(err)
	}
	entry := regexp.MustCompile(`(?s)\.entry (\w+)\((.*?)\)`)
	param := regexp.MustCompile(`\.param (\.\w+) `)
	params := map[string][]string{}
	for _, m := range mods {
		for _, e := range entry.FindAllStringSubmatch(m.source, -1) {
			for _, p := range param.FindAllStringSubmatch(e[2], -1) {
				params[e[1]] = append(params[e[1]], p[1])
			}
		}
	}
	for name := range kernelModule {
		args, ok := built[name]
		if !ok {
			t.Errorf("%s: no argument list in this test", name)
			continue
		}
		if !slices.Equal(args.types, params[name]) {
			t.Errorf("%s: arguments %v, PTX parameters %v", name, args.types, params[name])
		}
	}
}

func TestClassify(t *testing.T) {
	oom := &DriverError{Op: "cuMemAlloc 1 B for test", Code: cudaErrorOutOfMemory, Err: errors.New("OutOfMemory")}
	fault := &DriverError{Op: "cuCtxSynchronize after assign_fp32", Code: 700, Err: errors.New("IllegalAddress")}
	cases := []struct {
		err  error
		want string
	}{
		{oom, worker.KindOutOfMemory},
		{fmt.Errorf("assign: %w", oom), worker.KindOutOfMemory},
		{unsupported("uploading 1×1 float32", oom), worker.KindOutOfMemory},
		{fmt.Errorf("%w: one row needs 4 GB", kernels.ErrUnsupported), worker.KindOutOfMemory},
		{fault, worker.KindDevice},
		{fmt.Errorf("knn: %w", fault), worker.KindDevice},
		{ErrClosed, worker.KindDevice},
		{fmt.Errorf("%w: k = 0", kernels.ErrShape), ""},
		{context.Canceled, ""},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if err := unsupported("x", oom); !errors.Is(err, kernels.ErrUnsupported) || !errors.Is(err, oom) {
		t.Errorf("unsupported() loses a cause: %v", err)
	}
	if msg := fault.Error(); msg != "gpu: cuCtxSynchronize after assign_fp32: IllegalAddress (CUresult 700)" {
		t.Errorf("DriverError.Error() = %q", msg)
	}
}

func TestUseTF32(t *testing.T) {
	cases := []struct {
		precision string
		major     int
		want, ok  bool
	}{
		{"", 9, true, true},
		{PrecisionAuto, 8, true, true},
		{PrecisionAuto, 7, false, true},
		{PrecisionFP32, 9, false, true},
		{PrecisionTF32, 8, true, true},
		{PrecisionTF32, 7, false, false},
		{"bf16", 9, false, false},
	}
	for _, c := range cases {
		got, err := useTF32(c.precision, c.major)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("useTF32(%q, %d) = %v, %v", c.precision, c.major, got, err)
		}
	}
}

func TestDeviceInfo(t *testing.T) {
	d := DeviceInfo{Major: 9, Minor: 0, DriverVersion: 12040}
	if d.ComputeCapability() != "9.0" || d.Driver() != "12.4" || d.Supported() != nil {
		t.Errorf("%s %s %v", d.ComputeCapability(), d.Driver(), d.Supported())
	}
	if d := (DeviceInfo{Major: 12, Minor: 1, DriverVersion: 12080}); d.ComputeCapability() != "12.1" || d.Driver() != "12.8" {
		t.Errorf("%s %s", d.ComputeCapability(), d.Driver())
	}
	if (DeviceInfo{Major: 6, Minor: 1}).Supported() == nil {
		t.Error("compute capability 6.1 supported")
	}
}

// TestOwner checks the context-owning goroutine: every closure runs on the
// same OS thread, one at a time, panics come back as errors, and after
// shutdown calls fail with ErrClosed.
func TestOwner(t *testing.T) {
	var tid int
	o, err := startOwner(func() error { tid = syscall.Gettid(); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	running := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := o.do(func() error {
				running++ // unsynchronised on purpose: the race detector checks exclusion
				defer func() { running-- }()
				if running != 1 {
					return errors.New("closures overlap")
				}
				if got := syscall.Gettid(); got != tid {
					return fmt.Errorf("ran on thread %d, context is on %d", got, tid)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := o.do(func() error { panic("injected") }); err == nil {
		t.Error("panic not reported")
	}
	if err := o.do(func() error { return nil }); err != nil {
		t.Errorf("owner dead after a panic: %v", err)
	}
	torn := false
	if err := o.shutdown(func() error { torn = true; return nil }); err != nil || !torn {
		t.Errorf("shutdown: %v, teardown ran: %v", err, torn)
	}
	if err := o.do(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("do after shutdown: %v", err)
	}
	if err := o.shutdown(func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("second shutdown: %v", err)
	}
	if _, err := startOwner(func() error { return errors.New("no device") }); err == nil {
		t.Error("failed setup not reported")
	}
}
