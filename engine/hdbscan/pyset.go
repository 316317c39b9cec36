package hdbscan

// pySetOrder returns keys (distinct non-negative integers) in the order
// CPython ≥ 3.7 iterates set(keys): the order of their slots in the set's
// open-addressing table, which grows from 8 slots to the smallest power of
// two above 4× the size (2× past 50,000 keys) whenever it is 60% full. The
// reference HDBSCAN walks a Python set of clusters when it applies
// cluster_selection_epsilon, and in rare nested cases the walk's order
// decides which clusters it keeps.
func pySetOrder(keys []int) []int {
	const linearProbes, perturbShift = 9, 5
	table := make([]int, 8)
	for i := range table {
		table[i] = -1
	}
	insert := func(table []int, key int) {
		mask := len(table) - 1
		i, perturb := key&mask, uint(key)
		for {
			if table[i] < 0 {
				table[i] = key
				return
			}
			if i+linearProbes <= mask {
				for j := 1; j <= linearProbes; j++ {
					if table[i+j] < 0 {
						table[i+j] = key
						return
					}
				}
			}
			perturb >>= perturbShift
			i = (i*5 + 1 + int(perturb)) & mask
		}
	}
	used := 0
	for _, k := range keys {
		insert(table, k)
		used++
		if mask := len(table) - 1; used*5 >= mask*3 {
			grow := 4
			if used > 50000 {
				grow = 2
			}
			size := 8
			for size <= used*grow {
				size <<= 1
			}
			grown := make([]int, size)
			for i := range grown {
				grown[i] = -1
			}
			for _, old := range table {
				if old >= 0 {
					insert(grown, old)
				}
			}
			table = grown
		}
	}
	out := make([]int, 0, len(keys))
	for _, k := range table {
		if k >= 0 {
			out = append(out, k)
		}
	}
	return out
}
