//go:build amd64 && !purego

// Exact squared distances in float64: the differences are taken after
// widening float32 to float64, so they are exact, and the squares are
// summed with FMA in a fixed order that does not depend on the caller.

#include "textflag.h"

// ZERO512 and ZERO256 clear the accumulators FOLD512 and FOLD256 add up.
#define ZERO512 \
	VPXORQ Z0, Z0, Z0; \
	VPXORQ Z1, Z1, Z1; \
	VPXORQ Z2, Z2, Z2; \
	VPXORQ Z3, Z3, Z3

#define ZERO256 \
	VXORPD Y0, Y0, Y0; \
	VXORPD Y1, Y1, Y1; \
	VXORPD Y2, Y2, Y2; \
	VXORPD Y3, Y3, Y3; \
	VXORPD Y4, Y4, Y4; \
	VXORPD Y5, Y5, Y5; \
	VXORPD Y6, Y6, Y6; \
	VXORPD Y7, Y7, Y7

// FOLD512 adds the accumulators Z0–Z3 (8 lanes each) into X0's low lane,
// in a fixed tree.
#define FOLD512 \
	VADDPD        Z2, Z0, Z0; \
	VADDPD        Z3, Z1, Z1; \
	VADDPD        Z1, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPD        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VUNPCKHPD     X0, X0, X1; \
	VADDSD        X1, X0, X0

// FOLD256 is FOLD512 for Y0–Y7 (4 lanes each; Y(2z) and Y(2z+1) the halves
// of Zz), in the same tree, so both give the same bits.
#define FOLD256 \
	VADDPD       Y4, Y0, Y0; \
	VADDPD       Y5, Y1, Y1; \
	VADDPD       Y6, Y2, Y2; \
	VADDPD       Y7, Y3, Y3; \
	VADDPD       Y2, Y0, Y0; \
	VADDPD       Y3, Y1, Y1; \
	VADDPD       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPD       X1, X0, X0; \
	VUNPCKHPD    X0, X0, X1; \
	VADDSD       X1, X0, X0

// SQ16AVX2 adds the squared differences of the 16 floats at o(SI) and o(DI)
// to the accumulators y0–y3 (4 lanes each).
#define SQ16AVX2(o, y0, y1, y2, y3) \
	VCVTPS2PD   o(SI), Y8;     \
	VCVTPS2PD   o+16(SI), Y9;  \
	VCVTPS2PD   o+32(SI), Y10; \
	VCVTPS2PD   o+48(SI), Y11; \
	VCVTPS2PD   o(DI), Y12;    \
	VCVTPS2PD   o+16(DI), Y13; \
	VCVTPS2PD   o+32(DI), Y14; \
	VCVTPS2PD   o+48(DI), Y15; \
	VSUBPD      Y12, Y8, Y8;   \
	VSUBPD      Y13, Y9, Y9;   \
	VSUBPD      Y14, Y10, Y10; \
	VSUBPD      Y15, Y11, Y11; \
	VFMADD231PD Y8, Y8, y0;    \
	VFMADD231PD Y9, Y9, y1;    \
	VFMADD231PD Y10, Y10, y2;  \
	VFMADD231PD Y11, Y11, y3

// func AVX512(a, b *float32, n int) float64
//
// Σ (a_t − b_t)² over t < n (n a multiple of 16) in float64: differences
// are taken after widening, so they are exact; four accumulators of 8
// lanes, folded in a fixed order at the end.
TEXT ·AVX512(SB), NOSPLIT, $0-32
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	ZERO512
	CMPQ   CX, $32
	JLT    sd512one

sd512two:
	VCVTPS2PD   0(SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   64(SI), Z6
	VCVTPS2PD   96(SI), Z7
	VCVTPS2PD   0(DI), Z8
	VCVTPS2PD   32(DI), Z9
	VCVTPS2PD   64(DI), Z10
	VCVTPS2PD   96(DI), Z11
	VSUBPD      Z8, Z4, Z4
	VSUBPD      Z9, Z5, Z5
	VSUBPD      Z10, Z6, Z6
	VSUBPD      Z11, Z7, Z7
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JGE         sd512two

sd512one:
	CMPQ        CX, $16
	JLT         sd512sum
	VCVTPS2PD   0(SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   0(DI), Z8
	VCVTPS2PD   32(DI), Z9
	VSUBPD      Z8, Z4, Z4
	VSUBPD      Z9, Z5, Z5
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1

sd512sum:
	FOLD512
	VMOVSD        X0, ret+24(FP)
	VZEROUPPER
	RET

// func AVX2(a, b *float32, n int) float64
//
// AVX512 on 4-lane registers, n a multiple of 16: Y(2z) and Y(2z+1)
// play the low and high halves of Zz there, and the fold follows the same
// tree, so both return the same bits.
TEXT ·AVX2(SB), NOSPLIT, $0-32
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	ZERO256
	CMPQ   CX, $32
	JLT    sd256one

sd256two:
	SQ16AVX2(0, Y0, Y1, Y2, Y3)
	SQ16AVX2(64, Y4, Y5, Y6, Y7)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  sd256two

sd256one:
	CMPQ CX, $16
	JLT  sd256sum
	SQ16AVX2(0, Y0, Y1, Y2, Y3)

sd256sum:
	FOLD256
	VMOVSD       X0, ret+24(FP)
	VZEROUPPER
	RET

// NORM16AVX2 adds the squares of the 16 floats at o(SI) to the
// accumulators y0–y3 (4 lanes each).
#define NORM16AVX2(o, y0, y1, y2, y3) \
	VCVTPS2PD   o(SI), Y8;     \
	VCVTPS2PD   o+16(SI), Y9;  \
	VCVTPS2PD   o+32(SI), Y10; \
	VCVTPS2PD   o+48(SI), Y11; \
	VFMADD231PD Y8, Y8, y0;    \
	VFMADD231PD Y9, Y9, y1;    \
	VFMADD231PD Y10, Y10, y2;  \
	VFMADD231PD Y11, Y11, y3

// func NormAVX512(a *float32, n int) float64
//
// Σ a_t² over t < n (n a multiple of 16) in float64: AVX512 with b = 0,
// the same accumulators and fold.
TEXT ·NormAVX512(SB), NOSPLIT, $0-24
	MOVQ   a+0(FP), SI
	MOVQ   n+8(FP), CX
	ZERO512
	CMPQ   CX, $32
	JLT    nm512one

nm512two:
	VCVTPS2PD   0(SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   64(SI), Z6
	VCVTPS2PD   96(SI), Z7
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, SI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JGE         nm512two

nm512one:
	CMPQ        CX, $16
	JLT         nm512sum
	VCVTPS2PD   0(SI), Z4
	VCVTPS2PD   32(SI), Z5
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1

nm512sum:
	FOLD512
	VMOVSD        X0, ret+16(FP)
	VZEROUPPER
	RET

// func NormAVX2(a *float32, n int) float64
//
// NormAVX512 on 4-lane registers, folded in the same tree (see AVX2).
TEXT ·NormAVX2(SB), NOSPLIT, $0-24
	MOVQ   a+0(FP), SI
	MOVQ   n+8(FP), CX
	ZERO256
	CMPQ   CX, $32
	JLT    nm256one

nm256two:
	NORM16AVX2(0, Y0, Y1, Y2, Y3)
	NORM16AVX2(64, Y4, Y5, Y6, Y7)
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  nm256two

nm256one:
	CMPQ CX, $16
	JLT  nm256sum
	NORM16AVX2(0, Y0, Y1, Y2, Y3)

nm256sum:
	FOLD256
	VMOVSD       X0, ret+16(FP)
	VZEROUPPER
	RET
