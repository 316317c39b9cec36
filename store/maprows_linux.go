package store

import (
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// mapRows maps rows [first, first+n) of a local segment file of dimension
// d as a private, writable mapping, read ahead in bulk (MAP_POPULATE): the
// file's cached pages are the rows, shared with the page cache and with
// other mappings, and a write to one makes a private copy of its page
// (copy on write), never a change to the file. release unmaps them (once,
// however often it is called); the rows must not be used after. A
// segment is append-only and never cut back below a committed row, so the
// mapped rows cannot vanish under it (a deleted file stays mapped).
func mapRows(f *os.File, first int64, n, d int) (x []float32, release func() error, err error) {
	off := first * int64(d) * 4
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	length := off - start + int64(n)*int64(d)*4
	if length != int64(int(length)) {
		return nil, nil, nil // beyond the address space: read instead
	}
	// Populated read-only, then made writable: populating a writable
	// private mapping would copy every page up front (it pre-faults for
	// writing), while a page of this one is copied when first written.
	data, err := syscall.Mmap(int(f.Fd()), start, int(length), syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Mprotect(data, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		syscall.Munmap(data)
		return nil, nil, err
	}
	x = unsafe.Slice((*float32)(unsafe.Pointer(&data[off-start])), n*d)
	var once sync.Once
	return x, func() error {
		once.Do(func() { err = syscall.Munmap(data) })
		return err
	}, nil
}
