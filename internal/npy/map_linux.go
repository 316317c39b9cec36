package npy

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// MapMatrixFile maps a 2-D little-endian float32 .npy file read-only into
// memory and returns its values without copying them: the file's pages,
// read ahead in bulk (MAP_POPULATE), are the matrix. release unmaps it; x
// must not be used after. ok is false (and nothing is mapped) for a file
// that is not one to map: another dtype, an empty matrix, or data not
// 4-byte aligned; the caller then reads it with ReadMatrixFile, which also
// reports any format error. Writing to x faults: it is read-only.
//
// The mapping shares the page cache, so loading costs no copy; a file
// truncated while mapped makes reads past its new end fault (SIGBUS).
func MapMatrixFile(path string) (x []float32, rows, cols int, release func() error, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, nil, false, err
	}
	defer f.Close()
	h, err := ReadHeader(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, nil, false, nil // ReadMatrixFile reports it
	}
	rows, cols, err = checkMatrix(h)
	if err != nil || h.ItemSize() != 4 || h.Descr[0] == '>' || rows == 0 || cols == 0 || h.DataOffset%4 != 0 {
		return nil, 0, 0, nil, false, nil
	}
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, nil, false, err
	}
	if h.CheckSize(st.Size()) != nil {
		return nil, 0, 0, nil, false, nil
	}
	end := h.DataOffset + int64(rows)*int64(cols)*4
	if end != int64(int(end)) {
		return nil, 0, 0, nil, false, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(end), syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		return nil, 0, 0, nil, false, fmt.Errorf("%s: mapping: %w", path, err)
	}
	x = unsafe.Slice((*float32)(unsafe.Pointer(&data[h.DataOffset])), rows*cols)
	return x, rows, cols, func() error { return syscall.Munmap(data) }, true, nil
}
