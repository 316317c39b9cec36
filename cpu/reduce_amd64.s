//go:build amd64 && !purego

// Vector helpers of the CPU backend that accumulate in float64:
// per-cluster sums and the segment sums of the silhouette reduction (the
// exact squared distance is package sqdist's). Each loop visits its
// elements in a fixed order, so results never depend on the caller's
// tiling or on the core count. The float64 arithmetic is what keeps these
// precise; they are memory-bound, so the AVX2 versions serve the AVX-512
// path too.

#include "textflag.h"

// func addRowsAVX2(sums *float64, x *float32, labels *int32, n, d, lo, hi int)
//
// For every row i < n with lo ≤ labels[i] < hi, in increasing i:
// sums[labels[i]*d + t] += float64(x[i*d + t]) for t < d. Each sum sees its
// terms in row order, exactly as the scalar loop would.
TEXT ·addRowsAVX2(SB), NOSPLIT, $0-56
	MOVQ  sums+0(FP), DI
	MOVQ  x+8(FP), SI
	MOVQ  labels+16(FP), R8
	MOVQ  n+24(FP), R9
	MOVQ  d+32(FP), R10
	MOVQ  lo+40(FP), R11
	MOVQ  hi+48(FP), R12
	MOVQ  R10, R13
	SHLQ  $2, R13         // row stride of x in bytes
	MOVQ  R10, R14
	ANDQ  $-8, R14        // features done 8 at a time
	TESTQ R9, R9
	JLE   arDone

arRow:
	MOVLQSX (R8), AX
	CMPQ    AX, R11
	JL      arNext
	CMPQ    AX, R12
	JGE     arNext
	IMULQ   R10, AX
	LEAQ    (DI)(AX*8), BX // this cluster's sums
	XORQ    CX, CX
	CMPQ    R14, $0
	JEQ     arScalar

arVec:
	VCVTPS2PD 0(SI)(CX*4), Y0
	VCVTPS2PD 16(SI)(CX*4), Y1
	VADDPD    0(BX)(CX*8), Y0, Y0
	VADDPD    32(BX)(CX*8), Y1, Y1
	VMOVUPD   Y0, 0(BX)(CX*8)
	VMOVUPD   Y1, 32(BX)(CX*8)
	ADDQ      $8, CX
	CMPQ      CX, R14
	JLT       arVec

arScalar:
	CMPQ      CX, R10
	JGE       arNext
	VCVTSS2SD (SI)(CX*4), X0, X0
	VADDSD    (BX)(CX*8), X0, X0
	VMOVSD    X0, (BX)(CX*8)
	INCQ      CX
	JMP       arScalar

arNext:
	ADDQ $4, R8
	ADDQ R13, SI
	DECQ R9
	JNZ  arRow

arDone:
	VZEROUPPER
	RET

// func sumRowsAVX2(dst *float64, src *float32, rows, ld, w int)
//
// dst[u] = Σ_{r<rows} float64(src[r*ld + u]) for u < w (w a multiple of
// 8), adding rows in increasing r: the row side of a silhouette tile, where
// src rows are candidates and columns are lanes. ld is in floats.
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ ld+24(FP), R9
	MOVQ w+32(FP), R10
	SHLQ $2, R9           // ld in bytes
	XORQ CX, CX           // lane

srChunk:
	CMPQ   CX, R10
	JGE    srDone
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	LEAQ   (SI)(CX*4), AX
	MOVQ   R8, DX
	TESTQ  DX, DX
	JLE    srStore

srRow:
	VCVTPS2PD 0(AX), Y2
	VCVTPS2PD 16(AX), Y3
	VADDPD    Y2, Y0, Y0
	VADDPD    Y3, Y1, Y1
	ADDQ      R9, AX
	DECQ      DX
	JNZ       srRow

srStore:
	VMOVUPD Y0, 0(DI)(CX*8)
	VMOVUPD Y1, 32(DI)(CX*8)
	ADDQ    $8, CX
	JMP     srChunk

srDone:
	VZEROUPPER
	RET

// func segSumAVX2(dst *float64, src *float32, rows, ld, a, b int)
//
// dst[r] = Σ_{a≤u<b} float64(src[r*ld + u]) for r < rows: the column side
// of a silhouette tile, one segment of same-label lanes per call. Four lanes
// at a time into one accumulator, the last b−a mod 4 one by one, folded in
// a fixed order.
TEXT ·segSumAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ ld+24(FP), R9
	MOVQ a+32(FP), R10
	MOVQ b+40(FP), R11
	SHLQ $2, R9
	LEAQ (SI)(R10*4), SI  // src + a
	SUBQ R10, R11         // segment length
	MOVQ R11, R12
	ANDQ $-4, R12
	TESTQ R8, R8
	JLE  ssDone

ssRow:
	VXORPD Y0, Y0, Y0
	VXORPD X1, X1, X1
	XORQ   CX, CX

ssVec:
	CMPQ      CX, R12
	JGE       ssScalar
	VCVTPS2PD (SI)(CX*4), Y2
	VADDPD    Y2, Y0, Y0
	ADDQ      $4, CX
	JMP       ssVec

ssScalar:
	CMPQ      CX, R11
	JGE       ssFold
	VCVTSS2SD (SI)(CX*4), X2, X2
	VADDSD    X2, X1, X1
	INCQ      CX
	JMP       ssScalar

ssFold:
	VEXTRACTF128 $1, Y0, X2
	VADDPD       X2, X0, X0
	VUNPCKHPD    X0, X0, X2
	VADDSD       X2, X0, X0
	VADDSD       X1, X0, X0
	VMOVSD       X0, (DI)
	ADDQ         $8, DI
	ADDQ         R9, SI
	DECQ         R8
	JNZ          ssRow

ssDone:
	VZEROUPPER
	RET
