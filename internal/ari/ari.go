// Package ari computes the adjusted Rand index between two labelings, the
// chance-corrected agreement measure (Hubert and Arabie, 1985) that
// scikit-learn's adjusted_rand_score implements: 1 for identical partitions
// up to renaming, about 0 for independent ones.
package ari

// Index returns the adjusted Rand index of labelings a and b (same length).
// Every label value, −1 included, is a cluster of its own, as in
// scikit-learn. Two trivial partitions (both one cluster, or both all
// singletons) score 1.
func Index(a, b []int32) float64 {
	if len(a) != len(b) {
		panic("ari: labelings of different lengths")
	}
	n := len(a)
	type pair struct{ x, y int32 }
	joint := map[pair]int{}
	ra, rb := map[int32]int{}, map[int32]int{}
	for i := range a {
		joint[pair{a[i], b[i]}]++
		ra[a[i]]++
		rb[b[i]]++
	}
	c2 := func(v int) float64 { return float64(v) * float64(v-1) / 2 }
	var sumJ, sumA, sumB float64
	for _, v := range joint {
		sumJ += c2(v)
	}
	for _, v := range ra {
		sumA += c2(v)
	}
	for _, v := range rb {
		sumB += c2(v)
	}
	total := c2(n)
	if total == 0 {
		return 1
	}
	expected := sumA * sumB / total
	maxIdx := (sumA + sumB) / 2
	if maxIdx == expected {
		return 1
	}
	return (sumJ - expected) / (maxIdx - expected)
}
