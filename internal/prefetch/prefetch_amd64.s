//go:build amd64 && !purego

#include "textflag.h"

// func lines(p unsafe.Pointer, bytes int)
TEXT ·lines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ bytes+8(FP), CX
	LEAQ -1(SI)(CX*1), DX // the last byte

loop:
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	CMPQ       SI, DX
	JLE        loop
	PREFETCHT0 (DX)
	RET
