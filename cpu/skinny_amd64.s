//go:build amd64 && !purego

// Skinny distance kernels: out[i*m+j] = max(0, (xn[i] + yn[j]) − 2·x_i·y_j)
// for up to 8 points y, the shape of Distances during k-means++ (n×m with m
// small), where the data stream from memory once and packing them would cost
// more than the arithmetic.
//
// The rows of x are read in place, one vector of features at a time; y is
// pre-packed by Go as [feature chunk][8 points][vector] (zero padded), so the
// 8 products of a chunk take 8 FMAs with memory operands at fixed offsets.
// Accumulator j holds point j's partial sums, one per vector lane (lane l
// sums the features t ≡ l mod the width); after the row a shuffle tree folds
// the 8 accumulators into one vector of 8 dot products, in a fixed order.
//
// Arguments: x (n rows of d floats), yp (packed points), xn (n row norms),
// yn (8 point norms, zero padded), out (n rows of m floats), aux (constants:
// skinnyAux in Go).

#include "textflag.h"

// func distRowsAVX512(x *float32, n, d int, yp, xn, yn, out *float32, m int, aux *int32)
//
// Registers: Z0–Z7 accumulators, Z8 the feature chunk, Z9–Z17 the fold,
// Z29 the final permutation, Z30 −2, Z31 yn; K1 the lanes of the last
// partial chunk, K2 the m output lanes.
TEXT ·distRowsAVX512(SB), NOSPLIT, $0-72
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), R8
	MOVQ    d+16(FP), R9
	MOVQ    yp+24(FP), DI
	MOVQ    xn+32(FP), R11
	MOVQ    yn+40(FP), R12
	MOVQ    out+48(FP), R13
	MOVQ    m+56(FP), R10
	MOVQ    aux+64(FP), AX
	VMOVDQU32 (AX), Z29
	VMOVUPS (R12), Z31
	MOVL    $0xc0000000, AX
	VPBROADCASTD AX, Z30
	// K1: (1 << d mod 16) − 1; K2: (1 << m) − 1.
	MOVQ    R9, CX
	ANDQ    $15, CX
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K1
	MOVQ    R10, CX
	MOVL    $1, AX
	SHLL    CX, AX
	DECL    AX
	KMOVW   AX, K2
	MOVQ    R9, DX
	ANDQ    $-16, DX
	SHLQ    $2, DX          // bytes of whole chunks
	MOVQ    R9, R14
	SHLQ    $2, R14         // row stride
	SHLQ    $2, R10         // output row stride
	TESTQ   R8, R8
	JLE     done512

row512:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   DI, BX
	XORQ   CX, CX

chunk512:
	CMPQ        CX, DX
	JGE         tail512
	VMOVUPS     (SI)(CX*1), Z8
	VFMADD231PS 0(BX), Z8, Z0
	VFMADD231PS 64(BX), Z8, Z1
	VFMADD231PS 128(BX), Z8, Z2
	VFMADD231PS 192(BX), Z8, Z3
	VFMADD231PS 256(BX), Z8, Z4
	VFMADD231PS 320(BX), Z8, Z5
	VFMADD231PS 384(BX), Z8, Z6
	VFMADD231PS 448(BX), Z8, Z7
	ADDQ        $64, CX
	ADDQ        $512, BX
	JMP         chunk512

tail512:
	CMPQ        CX, R14
	JGE         fold512
	VMOVUPS.Z   (SI)(CX*1), K1, Z8
	VFMADD231PS 0(BX), Z8, Z0
	VFMADD231PS 64(BX), Z8, Z1
	VFMADD231PS 128(BX), Z8, Z2
	VFMADD231PS 192(BX), Z8, Z3
	VFMADD231PS 256(BX), Z8, Z4
	VFMADD231PS 320(BX), Z8, Z5
	VFMADD231PS 384(BX), Z8, Z6
	VFMADD231PS 448(BX), Z8, Z7

fold512:
	// Pairs of accumulators: add the two 256-bit halves (as 128-bit
	// quarters 0+2 and 1+3) of each, two accumulators per register.
	VSHUFF32X4 $0x44, Z1, Z0, Z10
	VSHUFF32X4 $0xee, Z1, Z0, Z11
	VADDPS     Z11, Z10, Z10
	VSHUFF32X4 $0x44, Z3, Z2, Z11
	VSHUFF32X4 $0xee, Z3, Z2, Z12
	VADDPS     Z12, Z11, Z11
	VSHUFF32X4 $0x44, Z5, Z4, Z12
	VSHUFF32X4 $0xee, Z5, Z4, Z13
	VADDPS     Z13, Z12, Z12
	VSHUFF32X4 $0x44, Z7, Z6, Z13
	VSHUFF32X4 $0xee, Z7, Z6, Z14
	VADDPS     Z14, Z13, Z13
	// Quarters 0+1: one accumulator per 128-bit quarter.
	VSHUFF32X4 $0x88, Z11, Z10, Z14
	VSHUFF32X4 $0xdd, Z11, Z10, Z15
	VADDPS     Z15, Z14, Z14
	VSHUFF32X4 $0x88, Z13, Z12, Z15
	VSHUFF32X4 $0xdd, Z13, Z12, Z16
	VADDPS     Z16, Z15, Z15
	// Within quarters: elements 0+2 and 1+3, then the two pairs.
	VUNPCKLPS  Z15, Z14, Z16
	VUNPCKHPS  Z15, Z14, Z17
	VADDPS     Z17, Z16, Z16
	VPERMILPS  $0x4e, Z16, Z17
	VADDPS     Z17, Z16, Z16
	// Quarter q holds point q in element 0 and point 4+q in element 1.
	VPERMPS    Z16, Z29, Z9
	VBROADCASTSS (R11), Z10
	VADDPS     Z31, Z10, Z10
	VFMADD231PS Z30, Z9, Z10
	VPXORD     Z11, Z11, Z11
	VMAXPS     Z11, Z10, Z10
	VMOVUPS    Z10, K2, (R13)
	ADDQ       R14, SI
	ADDQ       $4, R11
	ADDQ       R10, R13
	DECQ       R8
	JNZ        row512

done512:
	VZEROUPPER
	RET

// func distRowsAVX2(x *float32, n, d int, yp, xn, yn, out *float32, m int, aux *int32)
//
// As distRowsAVX512 with 8-float chunks: Y0–Y7 accumulators, Y8 the chunk,
// Y9–Y14 the fold, Y15 the output mask, R15 the address of the tail mask;
// VMASKMOVPS reads the last partial chunk and writes the m outputs.
TEXT ·distRowsAVX2(SB), NOSPLIT, $0-72
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), R8
	MOVQ    d+16(FP), R9
	MOVQ    yp+24(FP), DI
	MOVQ    xn+32(FP), R11
	MOVQ    yn+40(FP), R12
	MOVQ    out+48(FP), R13
	MOVQ    m+56(FP), R10
	MOVQ    aux+64(FP), AX
	// Masks: aux[24:32] are all ones and aux[32:40] zeros, so the 8 lanes
	// at aux[32−r:] have the first r set.
	MOVQ    R9, CX
	ANDQ    $7, CX
	NEGQ    CX
	LEAQ    128(AX)(CX*4), R15 // tail mask
	MOVQ    R10, CX
	NEGQ    CX
	LEAQ    128(AX)(CX*4), CX
	VMOVDQU (CX), Y15        // output mask
	LEAQ    64(AX), AX       // aux[16:24], the fold permutation
	MOVQ    R9, DX
	ANDQ    $-8, DX
	SHLQ    $2, DX
	MOVQ    R9, R14
	SHLQ    $2, R14
	SHLQ    $2, R10
	TESTQ   R8, R8
	JLE     done256

row256:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   DI, BX
	XORQ   CX, CX

chunk256:
	CMPQ        CX, DX
	JGE         tail256
	VMOVUPS     (SI)(CX*1), Y8
	VFMADD231PS 0(BX), Y8, Y0
	VFMADD231PS 32(BX), Y8, Y1
	VFMADD231PS 64(BX), Y8, Y2
	VFMADD231PS 96(BX), Y8, Y3
	VFMADD231PS 128(BX), Y8, Y4
	VFMADD231PS 160(BX), Y8, Y5
	VFMADD231PS 192(BX), Y8, Y6
	VFMADD231PS 224(BX), Y8, Y7
	ADDQ        $32, CX
	ADDQ        $256, BX
	JMP         chunk256

tail256:
	CMPQ        CX, R14
	JGE         fold256
	VMOVDQU     (R15), Y9
	VMASKMOVPS  (SI)(CX*1), Y9, Y8
	VFMADD231PS 0(BX), Y8, Y0
	VFMADD231PS 32(BX), Y8, Y1
	VFMADD231PS 64(BX), Y8, Y2
	VFMADD231PS 96(BX), Y8, Y3
	VFMADD231PS 128(BX), Y8, Y4
	VFMADD231PS 160(BX), Y8, Y5
	VFMADD231PS 192(BX), Y8, Y6
	VFMADD231PS 224(BX), Y8, Y7

fold256:
	// Pairs: add the 128-bit halves, two accumulators per register.
	VPERM2F128 $0x20, Y1, Y0, Y9
	VPERM2F128 $0x31, Y1, Y0, Y10
	VADDPS     Y10, Y9, Y9
	VPERM2F128 $0x20, Y3, Y2, Y10
	VPERM2F128 $0x31, Y3, Y2, Y11
	VADDPS     Y11, Y10, Y10
	VPERM2F128 $0x20, Y5, Y4, Y11
	VPERM2F128 $0x31, Y5, Y4, Y12
	VADDPS     Y12, Y11, Y11
	VPERM2F128 $0x20, Y7, Y6, Y12
	VPERM2F128 $0x31, Y7, Y6, Y13
	VADDPS     Y13, Y12, Y12
	// Elements 0+2, 1+3 within halves, then 0+1.
	VUNPCKLPS  Y10, Y9, Y13
	VUNPCKHPS  Y10, Y9, Y14
	VADDPS     Y14, Y13, Y13
	VUNPCKLPS  Y12, Y11, Y9
	VUNPCKHPS  Y12, Y11, Y14
	VADDPS     Y14, Y9, Y9
	VUNPCKLPD  Y9, Y13, Y10
	VUNPCKHPD  Y9, Y13, Y11
	VADDPS     Y11, Y10, Y10
	// Half h holds points h, 2+h, 4+h, 6+h.
	VMOVDQU    (AX), Y11
	VPERMPS    Y10, Y11, Y9
	VBROADCASTSS (R11), Y10
	VADDPS     (R12), Y10, Y10
	VADDPS     Y9, Y9, Y9
	VSUBPS     Y9, Y10, Y10
	VXORPS     Y11, Y11, Y11
	VMAXPS     Y11, Y10, Y10
	VMASKMOVPS Y10, Y15, (R13)
	ADDQ       R14, SI
	ADDQ       $4, R11
	ADDQ       R10, R13
	DECQ       R8
	JNZ        row256

done256:
	VZEROUPPER
	RET
