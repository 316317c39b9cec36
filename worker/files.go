package worker

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/clusterd/clusterd/internal/rawbytes"
)

// writeRaw writes b to dir/name.
func writeRaw(dir, name string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, name), b, 0o600)
}

// readF32 reads dir/name, which must hold exactly n float32 values.
func readF32(dir, name string, n int) ([]float32, error) {
	out := make([]float32, n)
	return out, readInto(dir, name, rawbytes.Float32s(out))
}

// readI32 reads dir/name, which must hold exactly n int32 values.
func readI32(dir, name string, n int) ([]int32, error) {
	out := make([]int32, n)
	return out, readInto(dir, name, rawbytes.Int32s(out))
}

func readInto(dir, name string, dst []byte) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != int64(len(dst)) {
		return fmt.Errorf("worker: %s has %d bytes, want %d", name, st.Size(), len(dst))
	}
	_, err = f.ReadAt(dst, 0)
	return err
}
