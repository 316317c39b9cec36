package engine

// ExcludedCounts exposes how often the bounds update chose each number of
// excluded centres (tests check that the choice is exercised).
func ExcludedCounts() map[int]int {
	out := map[int]int{}
	for e := range excludedCounts {
		if c := excludedCounts[e].Load(); c > 0 {
			out[e] = int(c)
		}
	}
	return out
}
