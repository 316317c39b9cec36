package gpu

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestModulesFor(t *testing.T) {
	cases := []struct {
		major, minor int
		want         []string // module names, in order
	}{
		{6, 1, nil},
		{7, 0, []string{"assign", "distances", "knn", "peak", "reduce"}},
		{7, 5, []string{"assign", "distances", "knn", "peak", "reduce"}},
		{8, 0, []string{"assign", "assign_tc", "distances", "knn", "peak", "reduce"}},
		{8, 6, []string{"assign", "assign_tc", "distances", "knn", "peak", "reduce"}},
		{9, 0, []string{"assign", "assign_tc", "distances", "knn", "peak", "reduce"}},
		{12, 0, []string{"assign", "assign_tc", "distances", "knn", "peak", "reduce"}},
	}
	for _, c := range cases {
		mods, err := modulesFor(c.major, c.minor)
		if c.want == nil {
			if err == nil {
				t.Errorf("%d.%d: no error", c.major, c.minor)
			}
			if (DeviceInfo{Major: c.major, Minor: c.minor}).Supported() == nil {
				t.Errorf("%d.%d: Supported() = nil", c.major, c.minor)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d.%d: %v", c.major, c.minor, err)
		}
		var names []string
		for _, m := range mods {
			names = append(names, m.name)
			if !strings.Contains(m.source, ".target sm_"+strconv.Itoa(m.arch)+"\n") {
				t.Errorf("%s: PTX does not target sm_%d", m.name, m.arch)
			}
		}
		if strings.Join(names, ",") != strings.Join(c.want, ",") {
			t.Errorf("%d.%d: modules %v, want %v", c.major, c.minor, names, c.want)
		}
	}
}

// TestKernelEntries checks that every kernel the backend looks up is an
// entry point of the module it is looked up in, and that the tensor-core
// kernel is only in a module that pre-sm_80 devices do not load.
func TestKernelEntries(t *testing.T) {
	mods, err := modulesFor(9, 0)
	if err != nil {
		t.Fatal(err)
	}
	entry := regexp.MustCompile(`(?m)^\.visible \.entry (\w+)\(`)
	entries := map[string]map[string]bool{}
	for _, m := range mods {
		entries[m.name] = map[string]bool{}
		for _, e := range entry.FindAllStringSubmatch(m.source, -1) {
			entries[m.name][e[1]] = true
		}
	}
	for name, mod := range kernelModule {
		if !entries[mod][name] {
			t.Errorf("kernel %s: no entry in module %s (entries %v)", name, mod, entries[mod])
		}
	}
	old, _ := modulesFor(7, 0)
	for _, m := range old {
		if m.name == kernelModule[kAssignTF32] || m.arch > 70 {
			t.Errorf("compute capability 7.0 loads %s (compute_%d)", m.name, m.arch)
		}
	}
	if m := mods[1]; m.name != kernelModule[kAssignTF32] || m.arch != tensorCoreArch {
		t.Errorf("tensor-core module %s targets compute_%d, want %d", m.name, m.arch, tensorCoreArch)
	}
}

// TestPTXSize keeps the embedded PTX, part of every clusterd-gpu binary
// and JIT-compiled when a worker starts (the driver caches the result),
// within a few hundred KB. The 128-bit-load copies of the wide fp32 tile
// loops took it from 332 to 411 KiB; ptxas -arch=sm_90 on all of it went
// from 0.7 to 1.0 s on the 2-core CI machine.
func TestPTXSize(t *testing.T) {
	total := 0
	mods, _ := modulesFor(9, 0)
	for _, m := range mods {
		total += len(m.source)
	}
	if total > 448<<10 {
		t.Errorf("embedded PTX is %d KiB", total>>10)
	}
}

// TestPTXUpToDate regenerates the PTX (when nvcc is installed) and checks
// that the committed files are byte-identical: the check CI runs, also
// showing that nvcc's output is reproducible.
func TestPTXUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating PTX takes several seconds")
	}
	if _, err := exec.LookPath("nvcc"); err != nil {
		t.Skip("nvcc not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("sh", "ptx/generate.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("ptx/generate.sh: %v\n%s", err, out)
	}
	fresh, _ := filepath.Glob(filepath.Join(dir, "*.ptx"))
	committed, _ := filepath.Glob("ptx/*.ptx")
	if len(fresh) != len(committed) {
		t.Fatalf("generate.sh made %d files, %d committed", len(fresh), len(committed))
	}
	for _, f := range fresh {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("ptx", filepath.Base(f)))
		if err != nil {
			t.Fatalf("%s is not committed: %v", filepath.Base(f), err)
		}
		if string(got) != string(want) {
			t.Errorf("ptx/%s is stale: run go generate ./gpu", filepath.Base(f))
		}
	}
}

func TestParsePTXName(t *testing.T) {
	for file, want := range map[string]struct {
		name string
		arch int
		ok   bool
	}{
		"assign.sm70.ptx":    {"assign", 70, true},
		"assign_tc.sm80.ptx": {"assign_tc", 80, true},
		"a.b.sm90.ptx":       {"a.b", 90, true},
		"assign.ptx":         {ok: false},
		"assign.sm.ptx":      {ok: false},
		"assign.sm70.cubin":  {ok: false},
	} {
		name, arch, err := parsePTXName(file)
		if (err == nil) != want.ok || name != want.name || arch != want.arch {
			t.Errorf("parsePTXName(%q) = %q, %d, %v", file, name, arch, err)
		}
	}
}
