package gpu

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestGeometryMatchesSources reads the #defines of gpu/cuda/*.cu(h) and
// checks the Go constants the launches are computed from.
func TestGeometryMatchesSources(t *testing.T) {
	want := map[string]int{
		"CLUSTERD_TILE_M":             tileM,
		"CLUSTERD_TILE_N":             tileN,
		"CLUSTERD_TILE_N_NARROW":      tileNNarrow,
		"CLUSTERD_TILE_THREADS":       tileThreads,
		"CLUSTERD_TF32_M":             tf32Tile,
		"CLUSTERD_TF32_N":             tf32Tile,
		"CLUSTERD_TF32_THREADS":       tf32Threads,
		"CLUSTERD_SUM_CHUNK":          sumChunk,
		"CLUSTERD_SUM_FEATURES":       sumFeatures,
		"CLUSTERD_SUM_LANES":          sumLanes,
		"CLUSTERD_CDS_TILE":           cdsTile,
		"CLUSTERD_CDS_THREADS":        cdsThreads,
		"CLUSTERD_KNN_SORT_MAX":       KNNSortMax,
		"CLUSTERD_KNN_SELECT_THREADS": knnSelectThreads,
		"CLUSTERD_KNN_SORT_THREADS":   knnSortThreads,
		"CLUSTERD_PEAK_CHAINS":        peakChains,
	}
	files, err := filepath.Glob("cuda/*.cu*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CUDA sources in ../kernels: %v", err)
	}
	define := regexp.MustCompile(`(?m)^#define (CLUSTERD_\w+) (\d+)\s*$`)
	got := map[string]int{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range define.FindAllStringSubmatch(string(src), -1) {
			v, _ := strconv.Atoi(m[2])
			got[m[1]] = v
		}
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s: sources say %d (defined: %v), Go says %d", name, g, ok, w)
		}
	}
}

// TestTileMapping mirrors tile_row and tile_col (gpu/cuda/common.cuh): the
// 256 threads' accumulators cover each tile exactly once, and every
// thread's columns ascend, which the lower-index tie rule relies on.
func TestTileMapping(t *testing.T) {
	tileRow := func(ty, i int) int {
		if i < 4 {
			return ty*4 + i
		}
		return tileM/2 + ty*4 + i - 4
	}
	for _, bn := range []int{tileN, tileNNarrow} {
		half := bn / 32
		tileCol := func(tx, j int) int {
			if j < half {
				return tx*half + j
			}
			return bn/2 + tx*half + j - half
		}
		seen := make([]int, tileM*bn)
		for tid := range tileThreads {
			tx, ty := tid&15, tid>>4
			for j := range bn / 16 {
				if j > 0 && tileCol(tx, j) <= tileCol(tx, j-1) {
					t.Fatalf("BN=%d thread %d: columns not ascending at %d", bn, tid, j)
				}
				for i := range 8 {
					seen[tileRow(ty, i)*bn+tileCol(tx, j)]++
				}
			}
		}
		for e, c := range seen {
			if c != 1 {
				t.Fatalf("BN=%d: output (%d,%d) computed %d times", bn, e/bn, e%bn, c)
			}
		}
	}
}

func TestLaunchGeometry(t *testing.T) {
	cases := []struct {
		name  string
		l     launch
		grid  [3]int
		block [3]int
		ok    bool
	}{
		{"norms n=1", normsLaunch(1), [3]int{1, 1, 1}, [3]int{32, 32, 1}, true},
		{"norms n=65", normsLaunch(65), [3]int{3, 1, 1}, [3]int{32, 32, 1}, true},
		{"assign m=128", assignLaunch(128), [3]int{1, 1, 1}, [3]int{256, 1, 1}, true},
		{"assign m=1e6", assignLaunch(1_000_000), [3]int{7813, 1, 1}, [3]int{256, 1, 1}, true},
		{"assign m=0", assignLaunch(0), [3]int{0, 1, 1}, [3]int{256, 1, 1}, false},
		{"tf32 n=5003", tf32Launch(5003), [3]int{40, 1, 1}, [3]int{256, 1, 1}, true},
		{"warp per row 9", warpPerRowLaunch(9), [3]int{2, 1, 1}, [3]int{256, 1, 1}, true},
		{"dist 300×9 narrow", distLaunch(300, 9, true), [3]int{1, 3, 1}, [3]int{256, 1, 1}, true},
		{"dist 5003×5003", distLaunch(5003, 5003, false), [3]int{40, 40, 1}, [3]int{256, 1, 1}, true},
		{"dist too many row tiles", distLaunch(maxGridYZ*tileM+1, 1, false), [3]int{1, maxGridYZ + 1, 1}, [3]int{256, 1, 1}, false},
		{"sum partial", sumPartialLaunch(4000, 768), [3]int{4000, 24, 1}, [3]int{32, 8, 1}, true},
		{"sum partial d=3", sumPartialLaunch(1, 3), [3]int{1, 1, 1}, [3]int{32, 8, 1}, true},
		{"sum combine", sumCombineLaunch(257, 131), [3]int{132, 1, 1}, [3]int{256, 1, 1}, true},
		{"knn select", knnSelectLaunch(777), [3]int{777, 1, 1}, [3]int{256, 1, 1}, true},
		{"knn sort", knnSortLaunch(3), [3]int{3, 1, 1}, [3]int{512, 1, 1}, true},
		{"cds", cdsLaunch(2100, 40), [3]int{33, 40, 1}, [3]int{256, 1, 1}, true},
		{"cds too many clusters", cdsLaunch(64, maxGridYZ+1), [3]int{1, maxGridYZ + 1, 1}, [3]int{256, 1, 1}, false},
		{"peak H100", peakLaunch(132), [3]int{1056, 1, 1}, [3]int{256, 1, 1}, true},
	}
	for _, c := range cases {
		if c.l.grid != c.grid || c.l.block != c.block {
			t.Errorf("%s: grid %v block %v, want %v %v", c.name, c.l.grid, c.l.block, c.grid, c.block)
		}
		if err := c.l.check(); (err == nil) != c.ok {
			t.Errorf("%s: check() = %v, want ok=%v", c.name, err, c.ok)
		}
		if threads := c.l.block[0] * c.l.block[1] * c.l.block[2]; threads > 1024 {
			t.Errorf("%s: %d threads per block", c.name, threads)
		}
	}
}

func TestAssignNarrow(t *testing.T) {
	for k, want := range map[int]bool{1: true, 8: true, 32: true, 33: false, 1000: false} {
		if got := assignNarrow(k); got != want {
			t.Errorf("assignNarrow(%d) = %v", k, got)
		}
	}
}
