package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"
)

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

func i32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// writeRaw writes b to dir/name.
func writeRaw(dir, name string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, name), b, 0o600)
}

// readF32 reads dir/name, which must hold exactly n float32 values.
func readF32(dir, name string, n int) ([]float32, error) {
	out := make([]float32, n)
	return out, readInto(dir, name, f32Bytes(out))
}

// readI32 reads dir/name, which must hold exactly n int32 values.
func readI32(dir, name string, n int) ([]int32, error) {
	out := make([]int32, n)
	return out, readInto(dir, name, i32Bytes(out))
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
