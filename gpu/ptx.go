package gpu

import (
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// The PTX is generated from gpu/cuda/*.cu by ptx/generate.sh and committed;
// CI regenerates it and checks that nothing changed (nvcc 11.8 output is
// byte-for-byte reproducible).
//
//go:generate sh ptx/generate.sh

//go:embed ptx/*.ptx
var ptxFiles embed.FS

// ptxModule is one embedded PTX file: gpu/cuda/<name>.cu compiled for
// compute_<arch>.
type ptxModule struct {
	name   string
	arch   int // 70 for compute_70, 80 for compute_80
	source string
}

// Kernel entry points (extern "C" in gpu/cuda/*.cu) and the module of each.
const (
	kRowNorms      = "row_norms"
	kAssign        = "assign_fp32"
	kAssignNarrow  = "assign_fp32_narrow"
	kAssignTF32    = "assign_tf32"
	kLabelDist     = "label_dist"
	kDist          = "dist_fp32"
	kDistNarrow    = "dist_fp32_narrow"
	kKNNSelect     = "knn_select"
	kKNNMeasure    = "knn_measure"
	kKNNSort       = "knn_sort"
	kSumPartial    = "sum_partial"
	kSumCombine    = "sum_combine"
	kClusterDists  = "cluster_dist_sums"
	kFMAPeak       = "fma_peak"
	tensorCoreArch = 80 // the compute capability (×10) assign_tf32 needs
)

var kernelModule = map[string]string{
	kRowNorms:     "assign",
	kAssign:       "assign",
	kAssignNarrow: "assign",
	kLabelDist:    "assign",
	kAssignTF32:   "assign_tc",
	kDist:         "distances",
	kDistNarrow:   "distances",
	kKNNSelect:    "knn",
	kKNNMeasure:   "knn",
	kKNNSort:      "knn",
	kSumPartial:   "reduce",
	kSumCombine:   "reduce",
	kClusterDists: "reduce",
	kFMAPeak:      "peak",
}

// modulesFor returns the embedded modules a device of compute capability
// major.minor loads: every module whose target is not newer than the device
// (the driver JITs PTX for newer chips, never for older ones), ordered by
// file name. Devices older than compute capability 7.0 are not supported.
func modulesFor(major, minor int) ([]ptxModule, error) {
	cc := 10*major + minor
	if cc < 70 {
		return nil, fmt.Errorf("gpu: compute capability %d.%d is older than 7.0, the oldest target of the embedded PTX", major, minor)
	}
	entries, err := ptxFiles.ReadDir("ptx")
	if err != nil {
		return nil, fmt.Errorf("gpu: reading the embedded PTX: %w", err)
	}
	var mods []ptxModule
	for _, e := range entries {
		name, arch, err := parsePTXName(e.Name())
		if err != nil {
			return nil, err
		}
		if arch > cc {
			continue
		}
		src, err := ptxFiles.ReadFile(path.Join("ptx", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("gpu: reading the embedded PTX: %w", err)
		}
		mods = append(mods, ptxModule{name: name, arch: arch, source: string(src)})
	}
	return mods, nil
}

// parsePTXName splits "assign_tc.sm80.ptx" into ("assign_tc", 80).
func parsePTXName(file string) (string, int, error) {
	base, ok := strings.CutSuffix(file, ".ptx")
	dot := strings.LastIndexByte(base, '.')
	if !ok || dot < 0 || !strings.HasPrefix(base[dot+1:], "sm") {
		return "", 0, fmt.Errorf("gpu: embedded PTX %q is not named NAME.smNN.ptx", file)
	}
	arch, err := strconv.Atoi(base[dot+3:])
	if err != nil {
		return "", 0, fmt.Errorf("gpu: embedded PTX %q is not named NAME.smNN.ptx", file)
	}
	return base[:dot], arch, nil
}
