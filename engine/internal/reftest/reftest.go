// Package reftest helps the engine's algorithm tests and benchmarks: it
// loads the reference files they compare against (.npy arrays, optionally
// gzip-compressed as .npy.gz to keep the committed test data small) and
// generates and configures benchmark data.
package reftest

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/internal/npy"
	"github.com/clusterd/clusterd/kernels"
)

// Matrix loads a 2-D float32 or float64 array as float32 (n×d row-major).
func Matrix(t testing.TB, path string) (x []float32, n, d int) {
	t.Helper()
	x, n, d, err := npy.ReadMatrixFile(plain(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return x, n, d
}

// Int32s loads a 1-D int32 or int64 array.
func Int32s(t testing.TB, path string) []int32 {
	t.Helper()
	v, err := npy.ReadInt32File(plain(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Float64s widens a float32 matrix, as the reference implementations do
// before computing anything.
func Float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// plain returns path itself, or for a .gz file the path of a decompressed
// copy in the test's temporary directory.
func plain(t testing.TB, path string) string {
	t.Helper()
	if !strings.HasSuffix(path, ".gz") {
		return path
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".gz"))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Blobs returns n points in d dimensions (row-major) drawn around k
// Gaussian centres (coordinates ~ N(0, 4²), unit noise), the shape of
// bench/peers.py's gen, from a seeded generator.
func Blobs(n, d, k int, seed uint64) []float32 {
	x, _ := BlobsWithLabels(n, d, k, seed)
	return x
}

// BlobsWithLabels is Blobs with each point's centre.
func BlobsWithLabels(n, d, k int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	labels := make([]int32, n)
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = 4 * rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(k)
		labels[i] = int32(c)
		for t := 0; t < d; t++ {
			x[i*d+t] = float32(centres[c*d+t] + rng.NormFloat64())
		}
	}
	return x, labels
}

// EnvFloat returns the environment variable name as a number, or def when
// it is unset.
func EnvFloat(t testing.TB, name string, def float64) float64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// SaveLabels writes labels as a 1-D int32 .npy file at the path named by
// the environment variable name, when it is set, so a benchmark's result
// can be compared with another implementation's.
func SaveLabels(t testing.TB, name string, labels []int32) {
	t.Helper()
	path := os.Getenv(name)
	if path == "" {
		return
	}
	if err := npy.WriteFile(path, func(w io.Writer) error { return npy.WriteInt32(w, labels) }); err != nil {
		t.Fatal(err)
	}
}

// Fitted is what BenchFit needs from one fit.
type Fitted struct {
	Labels          []int32
	Clusters, Noise int
}

// BenchFit times fit on x (n×d) uploaded once to the CPU backend, reports
// the clusters and noise points found, and saves the labels to the .npy
// file named by the environment variable outEnv, when set.
func BenchFit(b *testing.B, x []float32, n, d int, outEnv string, fit func(context.Context, kernels.Backend, kernels.Dataset, []float32) (Fitted, error)) {
	be := cpu.New(cpu.Options{})
	ds, err := be.Upload(x, n, d)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	b.ResetTimer()
	for b.Loop() {
		f, err := fit(context.Background(), be, ds, x)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(f.Clusters), "clusters")
		b.ReportMetric(float64(f.Noise), "noise")
		SaveLabels(b, outEnv, f.Labels)
	}
}

// Float64File loads a float64 array of any shape ('<f8', C order) as a
// flat slice, for references kept at full precision.
func Float64File(t testing.TB, path string) []float64 {
	t.Helper()
	f, err := os.Open(plain(t, path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := npy.ReadHeader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := f.Seek(h.DataOffset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if h.Descr != "<f8" || h.FortranOrder {
		t.Fatalf("%s: %s array (fortran %v), want <f8 in C order", path, h.Descr, h.FortranOrder)
	}
	count := 1
	for _, s := range h.Shape {
		count *= s
	}
	buf := make([]byte, 8*count)
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := make([]float64, count)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
	}
	return out
}
