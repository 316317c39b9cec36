package engine

// ExcludedCounts exposes how often the bounds update chose each number of
// excluded centres (tests check that the choice is exercised).
func ExcludedCounts() map[int]int {
	out := map[int]int{}
	for i, e := range excludedChoices {
		if c := excludedCounts[i].Load(); c > 0 {
			out[e] = int(c)
		}
	}
	return out
}
