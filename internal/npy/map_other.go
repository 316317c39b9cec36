//go:build !linux

package npy

// MapMatrixFile maps nothing on this system (ok is false): the caller reads
// the file with ReadMatrixFile.
func MapMatrixFile(path string) (x []float32, rows, cols int, release func() error, ok bool, err error) {
	return nil, 0, 0, nil, false, nil
}
