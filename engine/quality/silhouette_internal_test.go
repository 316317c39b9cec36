package quality

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/clusterd/clusterd/engine/algo"

	"github.com/clusterd/clusterd/cpu"
	"github.com/clusterd/clusterd/internal/npy"
)

// TestSilhouetteBlocked: the blocked silhouette (for many clusters, see
// silhouetteSumsBytes) gives scikit-learn's silhouette_score on the
// reference data (1e-4 relative, as the unblocked one), with blocks of
// every size from one row to all of them.
func TestSilhouetteBlocked(t *testing.T) {
	for _, name := range []string{"blobs", "digits"} {
		x, n, d, err := npy.ReadMatrixFile("../testdata/" + name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		labels, err := npy.ReadInt32File("../testdata/" + name + ".noisy.npy")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile("../testdata/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var ref struct {
			Metrics map[string]struct {
				Silhouette float64 `json:"silhouette"`
			} `json:"metrics"`
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatal(err)
		}
		want := ref.Metrics["noisy"].Silhouette
		sub := algo.Input{X: append([]float32(nil), x...), N: n, D: d}
		center(sub)
		be := cpu.New(cpu.Options{})
		ds, err := be.Upload(sub.X, n, d)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, l := range labels {
			k = max(k, int(l)+1)
		}
		count := make([]float64, k)
		for _, l := range labels {
			count[l]++
		}
		for _, blockBytes := range []int{4 * n, 4 * n * 7, 4 * n * n} { // blocks of 1, 7 and all rows
			got, err := silhouetteBlockedWith(context.Background(), be, ds, sub, labels, k, count, blockBytes)
			if err != nil {
				t.Fatal(err)
			}
			if e := math.Abs(got-want) / math.Abs(want); e > 1e-4 {
				t.Errorf("%s, blocks of %d rows: silhouette %.9g, scikit-learn %.9g (relative error %.2g)", name, blockBytes/(4*n), got, want, e)
			}
		}
		ds.Close()
	}
}
