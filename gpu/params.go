package gpu

import "math"

// kernelArgs are a kernel's parameters, each in its own 8-byte slot, with
// the PTX type of each (which TestKernelSignatures compares with the
// embedded PTX). gorgonia.org/cu's Launch copies 8 bytes from behind every
// parameter pointer, and cuLaunchKernel then reads sizeof(parameter) bytes
// from the start of each slot; on the little-endian 64-bit targets CUDA
// supports, a 4-byte int or float in the low half of a zeroed slot reads back
// exactly. Keeping every value in a uint64 means cu never reads past a Go
// variable.
type kernelArgs struct {
	vals  []uint64
	types []string // ".u64", ".u32" or ".f32", as PTX declares the parameter
}

func (a kernelArgs) add(v uint64, typ string) kernelArgs {
	a.vals, a.types = append(a.vals, v), append(a.types, typ)
	return a
}

// ptr appends a device pointer (0 for a null pointer).
func (a kernelArgs) ptr(p uintptr) kernelArgs { return a.add(uint64(p), ".u64") }

// i32 appends an int parameter; callers have checked that v fits.
func (a kernelArgs) i32(v int) kernelArgs { return a.add(uint64(uint32(int32(v))), ".u32") }

// i64 appends a long long parameter.
func (a kernelArgs) i64(v int64) kernelArgs { return a.add(uint64(v), ".u64") }

// f32 appends a float parameter.
func (a kernelArgs) f32(v float32) kernelArgs { return a.add(uint64(math.Float32bits(v)), ".f32") }

// The parameter lists of the kernels, in the order of their CUDA
// signatures (gpu/cuda/*.cu); device pointers are uintptr, 0 for null.

func rowNormsArgs(x uintptr, d, n int, out uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).i32(d).i32(n).ptr(out)
}

func assignArgs(x, xn uintptr, d int, rows uintptr, m int, c, cn uintptr, k int, scatter bool, labels, dist2, second2 uintptr) kernelArgs {
	sc := 0
	if scatter {
		sc = 1
	}
	return kernelArgs{}.ptr(x).ptr(xn).i32(d).ptr(rows).i32(m).ptr(c).ptr(cn).i32(k).i32(sc).ptr(labels).ptr(dist2).ptr(second2)
}

func assignTF32Args(x, xn uintptr, d, n int, c, cn uintptr, k int, cmax float32, labels, dist2, alt, flags uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).ptr(xn).i32(d).i32(n).ptr(c).ptr(cn).i32(k).f32(cmax).ptr(labels).ptr(dist2).ptr(alt).ptr(flags)
}

func labelDistArgs(x uintptr, d, n int, c, labels, alt, out uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).i32(d).i32(n).ptr(c).ptr(labels).ptr(alt).ptr(out)
}

func distArgs(x, xn uintptr, d, r0, rn int, y, yn uintptr, m int, out uintptr, ldo int) kernelArgs {
	return kernelArgs{}.ptr(x).ptr(xn).i32(d).i64(int64(r0)).i32(rn).ptr(y).ptr(yn).i32(m).ptr(out).i64(int64(ldo))
}

func knnSelectArgs(dist uintptr, ldd, n, k int, idx uintptr) kernelArgs {
	return kernelArgs{}.ptr(dist).i64(int64(ldd)).i32(n).i32(k).ptr(idx)
}

func knnMeasureArgs(x uintptr, d, r0, rows, k int, idx, dist uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).i32(d).i64(int64(r0)).i32(rows).i32(k).ptr(idx).ptr(dist)
}

func knnSortArgs(k int, idx, dist uintptr) kernelArgs { return kernelArgs{}.i32(k).ptr(idx).ptr(dist) }

func sumPartialArgs(x uintptr, d int, order, pieces, partial uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).i32(d).ptr(order).ptr(pieces).ptr(partial)
}

func sumCombineArgs(partial, first uintptr, k, d int, sums uintptr) kernelArgs {
	return kernelArgs{}.ptr(partial).ptr(first).i32(k).i32(d).ptr(sums)
}

func clusterDistsArgs(x uintptr, d, end, r0 int, order, start uintptr, k, l0 int, out uintptr) kernelArgs {
	return kernelArgs{}.ptr(x).i32(d).i32(end).i64(int64(r0)).ptr(order).ptr(start).i32(k).i32(l0).ptr(out)
}

func fmaPeakArgs(out uintptr, iters int, a, b float32) kernelArgs {
	return kernelArgs{}.ptr(out).i32(iters).f32(a).f32(b)
}
