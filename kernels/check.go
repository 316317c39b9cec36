package kernels

import "fmt"

// The argument checks of the Backend contract, one per method, shared by
// every implementation so that they all reject the same calls with the
// same ErrShape messages. n and d are the dataset's rows and features.

// CheckPoints returns ErrShape unless k ≥ 1 and c holds k rows of d
// features; what names c in the message.
func CheckPoints(what string, c []float32, k, d int) error {
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", ErrShape, k)
	}
	return CheckLen(what, len(c), k*d)
}

// CheckLabels returns ErrShape for the first label ≥ k. Negative labels
// (unlabelled rows, noise) are allowed.
func CheckLabels(labels []int32, k int) error {
	for i, l := range labels {
		if int(l) >= k {
			return fmt.Errorf("%w: labels[%d] = %d, need < k = %d", ErrShape, i, l, k)
		}
	}
	return nil
}

// CheckAssign checks the arguments of Backend.Assign.
func CheckAssign(n, d int, c []float32, k int, labels []int32, dist2 []float32) error {
	if err := CheckPoints("centroids", c, k, d); err != nil {
		return err
	}
	if err := CheckLen("labels", len(labels), n); err != nil {
		return err
	}
	return CheckLen("dist2", len(dist2), n)
}

// CheckAssignSubset checks the arguments of SubsetAssigner.AssignSubset,
// row indices included.
func CheckAssignSubset(n, d int, rows []int32, c []float32, k int, labels []int32, dist2, second2 []float32) error {
	if err := CheckPoints("centroids", c, k, d); err != nil {
		return err
	}
	for _, out := range []struct {
		name string
		n    int
	}{{"labels", len(labels)}, {"dist2", len(dist2)}, {"second2", len(second2)}} {
		if err := CheckLen(out.name, out.n, len(rows)); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if r < 0 || int(r) >= n {
			return fmt.Errorf("%w: row %d out of [0,%d)", ErrShape, r, n)
		}
	}
	return nil
}

// CheckDistances checks the arguments of Backend.Distances.
func CheckDistances(n, d int, y []float32, m int, out []float32) error {
	if err := CheckPoints("points", y, m, d); err != nil {
		return err
	}
	return CheckLen("out", len(out), n*m)
}

// CheckLabelDistances checks the arguments of Backend.LabelDistances,
// labels included.
func CheckLabelDistances(n, d int, c []float32, k int, labels []int32, out []float32) error {
	if err := CheckPoints("centroids", c, k, d); err != nil {
		return err
	}
	if err := CheckLen("labels", len(labels), n); err != nil {
		return err
	}
	if err := CheckLen("out", len(out), n); err != nil {
		return err
	}
	return CheckLabels(labels, k)
}

// CheckSumByLabel checks the arguments of Backend.SumByLabel, labels
// included.
func CheckSumByLabel(n, d int, labels []int32, k int, sums []float64, counts []int64) error {
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", ErrShape, k)
	}
	if err := CheckLen("labels", len(labels), n); err != nil {
		return err
	}
	if err := CheckLen("sums", len(sums), k*d); err != nil {
		return err
	}
	if err := CheckLen("counts", len(counts), k); err != nil {
		return err
	}
	return CheckLabels(labels, k)
}

// CheckKNN checks the arguments of Backend.KNN.
func CheckKNN(n, k int, idx []int32, dist2 []float32) error {
	if k < 1 || k > n {
		return fmt.Errorf("%w: k = %d, need 1 ≤ k ≤ n = %d", ErrShape, k, n)
	}
	if err := CheckLen("idx", len(idx), n*k); err != nil {
		return err
	}
	return CheckLen("dist2", len(dist2), n*k)
}

// CheckClusterDistanceSums checks the arguments of
// Backend.ClusterDistanceSums, labels included.
func CheckClusterDistanceSums(n int, labels []int32, k int, out []float64) error {
	if k < 1 {
		return fmt.Errorf("%w: k = %d, need k ≥ 1", ErrShape, k)
	}
	if err := CheckLen("labels", len(labels), n); err != nil {
		return err
	}
	if err := CheckLen("out", len(out), n*k); err != nil {
		return err
	}
	return CheckLabels(labels, k)
}

// GroupByLabel counting-sorts the labelled rows: order lists them by label,
// ascending row index within a label, and cluster l's rows are
// order[start[l]:start[l+1]]; start has k+1 entries. Negative labels
// (unlabelled rows, noise) are left out. Every label must be < k, as the
// method's check (CheckSumByLabel, CheckClusterDistanceSums) has verified.
func GroupByLabel(labels []int32, k int) (order, start []int32) {
	start = make([]int32, k+1)
	for _, l := range labels {
		if l >= 0 {
			start[l+1]++
		}
	}
	for l := range k {
		start[l+1] += start[l]
	}
	order = make([]int32, start[k])
	next := append([]int32(nil), start[:k]...)
	for i, l := range labels {
		if l >= 0 {
			order[next[l]] = int32(i)
			next[l]++
		}
	}
	return order, start
}
