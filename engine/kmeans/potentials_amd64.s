//go:build amd64 && !purego

#include "textflag.h"

// func potentials8AVX2(p *float64, closest *float32, w *float64, dc *float32, rows int)
//
// For 8 candidates (dc's rows of 8 floats), p[t] += w[i]·float64(min(
// closest[i], dc[8i+t])) row after row (w nil: without the product): each
// lane is one candidate's running sum, added in the scalar code's order
// with its roundings (a product, then a sum; no FMA), so the results are
// the same bits.
TEXT ·potentials8AVX2(SB), NOSPLIT, $0-40
	MOVQ    p+0(FP), DI
	MOVQ    closest+8(FP), SI
	MOVQ    w+16(FP), DX
	MOVQ    dc+24(FP), BX
	MOVQ    rows+32(FP), CX
	VMOVUPD (DI), Y4
	VMOVUPD 32(DI), Y5
	TESTQ   CX, CX
	JZ      store
	TESTQ   DX, DX
	JZ      plain

weighted:
	VBROADCASTSS (SI), Y0
	VMINPS       (BX), Y0, Y1
	VCVTPS2PD    X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD    X3, Y3
	VBROADCASTSD (DX), Y6
	VMULPD       Y6, Y2, Y2
	VMULPD       Y6, Y3, Y3
	VADDPD       Y2, Y4, Y4
	VADDPD       Y3, Y5, Y5
	ADDQ         $4, SI
	ADDQ         $8, DX
	ADDQ         $32, BX
	DECQ         CX
	JNZ          weighted
	JMP          store

plain:
	VBROADCASTSS (SI), Y0
	VMINPS       (BX), Y0, Y1
	VCVTPS2PD    X1, Y2
	VEXTRACTF128 $1, Y1, X3
	VCVTPS2PD    X3, Y3
	VADDPD       Y2, Y4, Y4
	VADDPD       Y3, Y5, Y5
	ADDQ         $4, SI
	ADDQ         $32, BX
	DECQ         CX
	JNZ          plain

store:
	VMOVUPD Y4, (DI)
	VMOVUPD Y5, 32(DI)
	VZEROUPPER
	RET
