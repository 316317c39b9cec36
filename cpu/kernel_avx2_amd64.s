//go:build amd64 && !purego

// AVX2+FMA micro-kernels of the CPU backend, for CPUs without AVX-512. The
// Go side only calls them when golang.org/x/sys/cpu reports AVX2 and FMA.
//
// panelAVX2 mirrors panelAVX512 (see kernel_avx512_amd64.s) with 16 lanes
// (rows) per panel and 6 candidates per candidate panel:
//
//	Y0–Y11   accumulators: candidate c (0..5), lane half h (0, 1) in Y(2c+h)
//	Y12,Y13  feature t of lanes 0–7 and 8–15 of the packed panel
//	Y14,Y15  feature t of a candidate, broadcast
//	AX BX CX DX SI DI   the 6 candidate row pointers
//	R8       packed panel cursor (advances 64 bytes per feature)
//	R9       byte offset of feature t within a candidate row
//
// Each feature costs 2 vector loads, 6 broadcasts and 12 FMAs; the loop is
// unrolled four times. The epilogues compute e = (‖x‖² + ‖c‖²) − 2g as
// s − (g + g), which rounds exactly like the AVX-512 FMA form, so both
// kernels produce the same e from the same products. modeAssign needs five
// vector registers of state and scratch while the 12 accumulators are live,
// so it parks Y11 in the frame and takes the index vectors it blends in from
// a small table built in the frame.

#include "textflag.h"
#include "go_asm.h"

#define FEAT256(co, xo, xo2) \
	VMOVUPS      xo(R8), Y12;         \
	VMOVUPS      xo2(R8), Y13;        \
	VBROADCASTSS co(AX)(R9*1), Y14;   \
	VFMADD231PS  Y14, Y12, Y0;        \
	VFMADD231PS  Y14, Y13, Y1;        \
	VBROADCASTSS co(BX)(R9*1), Y15;   \
	VFMADD231PS  Y15, Y12, Y2;        \
	VFMADD231PS  Y15, Y13, Y3;        \
	VBROADCASTSS co(CX)(R9*1), Y14;   \
	VFMADD231PS  Y14, Y12, Y4;        \
	VFMADD231PS  Y14, Y13, Y5;        \
	VBROADCASTSS co(DX)(R9*1), Y15;   \
	VFMADD231PS  Y15, Y12, Y6;        \
	VFMADD231PS  Y15, Y13, Y7;        \
	VBROADCASTSS co(SI)(R9*1), Y14;   \
	VFMADD231PS  Y14, Y12, Y8;        \
	VFMADD231PS  Y14, Y13, Y9;        \
	VBROADCASTSS co(DI)(R9*1), Y15;   \
	VFMADD231PS  Y15, Y12, Y10;       \
	VFMADD231PS  Y15, Y13, Y11

// DIST256 turns the product in acc into e = (cn[c] + xn) − 2·acc, with the
// candidate norms at R11 (co = 4c) and the lane norms at xo(R10); s is left
// in Y12.
#define DIST256(acc, co, xo) \
	VBROADCASTSS co(R11), Y12;  \
	VADDPS       xo(R10), Y12, Y12; \
	VADDPS       acc, acc, acc; \
	VSUBPS       acc, Y12, acc

// ASSIGN256 folds one candidate into the running best (Y14), second best
// (Y15) and best index (Y11) of a lane half; jo(SP) holds the candidate's
// index in all 8 lanes.
#define ASSIGN256(acc, co, xo, jo) \
	DIST256(acc, co, xo);           \
	VCMPPS    $1, Y14, acc, Y13;    \
	VBLENDVPS Y13, jo(SP), Y11, Y11; \
	VMAXPS    acc, Y14, Y12;        \
	VMINPS    Y12, Y15, Y15;        \
	VMINPS    acc, Y14, Y14

// MASK256 writes the 8-bit mask of lanes with e ≤ threshold (at xo(R9)) to
// mo(R12) with the move mov (MOVL for the low half, which also clears the
// upper bytes, MOVB for the high half).
#define MASK256(acc, co, xo, mo, mov) \
	DIST256(acc, co, xo);       \
	VCMPPS    $2, xo(R9), acc, acc; \
	VMOVMSKPS acc, AX;          \
	mov       AX, mo(R12)

// SQRT256 writes the near-zero mask and sqrt(max(e, 0)) (at R13, then moves
// R13 on by R9 bytes); 288(SP) holds nz in all lanes.
#define SQRT256(acc, co, xo, mo, mov) \
	DIST256(acc, co, xo);       \
	VMULPS    288(SP), Y12, Y12; \
	VCMPPS    $1, Y12, acc, Y12; \
	VMOVMSKPS Y12, AX;          \
	mov       AX, mo(R12);      \
	VXORPS    Y12, Y12, Y12;    \
	VMAXPS    Y12, acc, acc;    \
	VSQRTPS   acc, acc;         \
	VMOVUPS   acc, (R13);       \
	ADDQ      R9, R13

#define STORE256(acc, co, xo) \
	DIST256(acc, co, xo); \
	VMOVUPS acc, (R13);   \
	ADDQ    R9, R13

// func panelAVX2(a *panelArgs)
//
// Frame: 0(SP) a, 8(SP) panel index p, 16(SP) 4d, 24(SP) 4·(d − d mod 4),
// 32(SP) the parked Y11, 64(SP)–255(SP) six index vectors, 288(SP) nz.
TEXT ·panelAVX2(SB), NOSPLIT, $320-8
	MOVQ         a+0(FP), AX
	MOVQ         AX, 0(SP)
	MOVQ         panelArgs_d(AX), BX
	SHLQ         $2, BX
	MOVQ         BX, 16(SP)
	ANDQ         $-16, BX
	MOVQ         BX, 24(SP)
	MOVQ         $0, 8(SP)
	VBROADCASTSS panelArgs_nz(AX), Y0
	VMOVUPS      Y0, 288(SP)
	CMPQ         panelArgs_np(AX), $0
	JLE          done

panel:
	MOVQ   0(SP), R8
	MOVQ   8(SP), R9
	IMULQ  $48, R9
	ADDQ   panelArgs_cands(R8), R9
	MOVQ   0(R9), AX
	MOVQ   8(R9), BX
	MOVQ   16(R9), CX
	MOVQ   24(R9), DX
	MOVQ   32(R9), SI
	MOVQ   40(R9), DI
	MOVQ   panelArgs_xt(R8), R8
	XORQ   R9, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	CMPQ   R9, 24(SP)
	JGE    tail

loop4:
	FEAT256(0, 0, 32)
	FEAT256(4, 64, 96)
	FEAT256(8, 128, 160)
	FEAT256(12, 192, 224)
	ADDQ $16, R9
	ADDQ $256, R8
	CMPQ R9, 24(SP)
	JLT  loop4

tail:
	CMPQ R9, 16(SP)
	JGE  epilogue
	FEAT256(0, 0, 32)
	ADDQ $4, R9
	ADDQ $64, R8
	JMP  tail

epilogue:
	// R8 a, CX p, R11 this panel's candidate norms, R12 its masks, R10 the
	// lane norms.
	MOVQ  0(SP), R8
	MOVQ  8(SP), CX
	MOVQ  CX, DX
	IMULQ $24, DX
	MOVQ  panelArgs_cn(R8), R11
	ADDQ  DX, R11
	MOVQ  panelArgs_mask(R8), R12
	ADDQ  DX, R12
	MOVQ  panelArgs_xn(R8), R10
	MOVQ  panelArgs_mode(R8), AX
	CMPQ  AX, $const_modeAssign
	JEQ   assign
	CMPQ  AX, $const_modeMask
	JEQ   mask
	MOVQ  panelArgs_ldo(R8), R9
	MOVQ  R9, R13
	IMULQ CX, R13
	IMULQ $6, R13
	ADDQ  panelArgs_out(R8), R13
	CMPQ  AX, $const_modeSqrt
	JEQ   sqrt

	// modeStore
	MOVQ     R13, BX
	STORE256(Y0, 0, 0)
	STORE256(Y2, 4, 0)
	STORE256(Y4, 8, 0)
	STORE256(Y6, 12, 0)
	STORE256(Y8, 16, 0)
	STORE256(Y10, 20, 0)
	LEAQ     32(BX), R13
	STORE256(Y1, 0, 32)
	STORE256(Y3, 4, 32)
	STORE256(Y5, 8, 32)
	STORE256(Y7, 12, 32)
	STORE256(Y9, 16, 32)
	STORE256(Y11, 20, 32)
	JMP      next

sqrt:
	MOVQ    R13, BX
	SQRT256(Y0, 0, 0, 0, MOVL)
	SQRT256(Y2, 4, 0, 4, MOVL)
	SQRT256(Y4, 8, 0, 8, MOVL)
	SQRT256(Y6, 12, 0, 12, MOVL)
	SQRT256(Y8, 16, 0, 16, MOVL)
	SQRT256(Y10, 20, 0, 20, MOVL)
	LEAQ    32(BX), R13
	SQRT256(Y1, 0, 32, 1, MOVB)
	SQRT256(Y3, 4, 32, 5, MOVB)
	SQRT256(Y5, 8, 32, 9, MOVB)
	SQRT256(Y7, 12, 32, 13, MOVB)
	SQRT256(Y9, 16, 32, 17, MOVB)
	SQRT256(Y11, 20, 32, 21, MOVB)
	JMP     next

mask:
	MOVQ    panelArgs_thr(R8), R9
	MASK256(Y0, 0, 0, 0, MOVL)
	MASK256(Y2, 4, 0, 4, MOVL)
	MASK256(Y4, 8, 0, 8, MOVL)
	MASK256(Y6, 12, 0, 12, MOVL)
	MASK256(Y8, 16, 0, 16, MOVL)
	MASK256(Y10, 20, 0, 20, MOVL)
	MASK256(Y1, 0, 32, 1, MOVB)
	MASK256(Y3, 4, 32, 5, MOVB)
	MASK256(Y5, 8, 32, 9, MOVB)
	MASK256(Y7, 12, 32, 13, MOVB)
	MASK256(Y9, 16, 32, 17, MOVB)
	MASK256(Y11, 20, 32, 21, MOVB)
	JMP     next

assign:
	// Park Y11, build the six index vectors j0+6p+c at 64(SP)+32c.
	VMOVUPS      Y11, 32(SP)
	MOVQ         panelArgs_j0(R8), BX
	IMULQ        $6, CX
	ADDQ         CX, BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 64(SP)
	INCQ         BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 96(SP)
	INCQ         BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 128(SP)
	INCQ         BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 160(SP)
	INCQ         BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 192(SP)
	INCQ         BX
	VMOVQ        BX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU      Y12, 224(SP)
	MOVQ         panelArgs_out(R8), R9
	VMOVUPS      panelState_best(R9), Y14
	VMOVUPS      panelState_second(R9), Y15
	VMOVUPS      panelState_idx(R9), Y11
	ASSIGN256(Y0, 0, 0, 64)
	ASSIGN256(Y2, 4, 0, 96)
	ASSIGN256(Y4, 8, 0, 128)
	ASSIGN256(Y6, 12, 0, 160)
	ASSIGN256(Y8, 16, 0, 192)
	ASSIGN256(Y10, 20, 0, 224)
	VMOVUPS      Y14, panelState_best(R9)
	VMOVUPS      Y15, panelState_second(R9)
	VMOVUPS      Y11, panelState_idx(R9)
	VMOVUPS      32(SP), Y0
	VMOVUPS      panelState_best+32(R9), Y14
	VMOVUPS      panelState_second+32(R9), Y15
	VMOVUPS      panelState_idx+32(R9), Y11
	ASSIGN256(Y1, 0, 32, 64)
	ASSIGN256(Y3, 4, 32, 96)
	ASSIGN256(Y5, 8, 32, 128)
	ASSIGN256(Y7, 12, 32, 160)
	ASSIGN256(Y9, 16, 32, 192)
	ASSIGN256(Y0, 20, 32, 224)
	VMOVUPS      Y14, panelState_best+32(R9)
	VMOVUPS      Y15, panelState_second+32(R9)
	VMOVUPS      Y11, panelState_idx+32(R9)

next:
	MOVQ 8(SP), AX
	INCQ AX
	MOVQ AX, 8(SP)
	MOVQ 0(SP), R8
	CMPQ AX, panelArgs_np(R8)
	JLT  panel

done:
	VZEROUPPER
	RET
