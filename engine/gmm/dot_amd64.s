//go:build amd64 && !purego

#include "textflag.h"

// func dot4x2AVX2(a *float64, lda int, b *float64, ldb int, n int, out *float64)
//
// For rows a0…a3 (a, a+lda, …) and b0, b1 (b, b+ldb), each n doubles with
// n a multiple of 4, writes 8 vectors of 4 partial sums to out (32 doubles):
// vector 2i+j holds the lanes of a_i·b_j. Y0–Y7 accumulate, Y8–Y11 hold
// four doubles of a0…a3, Y12 and Y13 four of b0 and b1.
TEXT ·dot4x2AVX2(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), BX
	SHLQ $3, BX
	MOVQ b+16(FP), CX
	MOVQ ldb+24(FP), DX
	SHLQ $3, DX
	MOVQ n+32(FP), R8
	SHLQ $3, R8
	MOVQ out+40(FP), DI
	LEAQ (AX)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (R10)(BX*1), R11
	LEAQ (CX)(DX*1), R12
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	XORQ SI, SI

loop:
	CMPQ SI, R8
	JGE  done
	VMOVUPD     (CX)(SI*1), Y12
	VMOVUPD     (R12)(SI*1), Y13
	VMOVUPD     (AX)(SI*1), Y8
	VFMADD231PD Y12, Y8, Y0
	VFMADD231PD Y13, Y8, Y1
	VMOVUPD     (R9)(SI*1), Y9
	VFMADD231PD Y12, Y9, Y2
	VFMADD231PD Y13, Y9, Y3
	VMOVUPD     (R10)(SI*1), Y10
	VFMADD231PD Y12, Y10, Y4
	VFMADD231PD Y13, Y10, Y5
	VMOVUPD     (R11)(SI*1), Y11
	VFMADD231PD Y12, Y11, Y6
	VFMADD231PD Y13, Y11, Y7
	ADDQ        $32, SI
	JMP         loop

done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VMOVUPD Y4, 128(DI)
	VMOVUPD Y5, 160(DI)
	VMOVUPD Y6, 192(DI)
	VMOVUPD Y7, 224(DI)
	VZEROUPPER
	RET
