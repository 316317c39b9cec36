//go:build amd64 && !purego

#include "textflag.h"

// func addRootsAVX2(acc *float64, e *float32, n int)
//
// acc[j] += sqrt(float64(e[j])) for j < n, n a multiple of 8: the widening,
// the square root and the sum are the scalar code's, lane by lane, so the
// results are the same bits.
TEXT ·addRootsAVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ e+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VSQRTPD   Y0, Y0
	VSQRTPD   Y1, Y1
	VADDPD    (DI), Y0, Y0
	VADDPD    32(DI), Y1, Y1
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET
