//go:build amd64 && !purego

// AVX-512 micro-kernels of the CPU backend. Every routine here needs
// AVX-512F; the Go side only calls them when golang.org/x/sys/cpu reports it.
//
// panelAVX512 is the distance kernel. It works on one lane panel: 32 rows of
// the dataset packed feature-major by packAVX512 (xt[t*32+r] is feature t of
// row r), so that one 64-byte load fetches feature t of 16 rows. Candidates
// (centroids or other rows) are read in place through a table of row
// pointers, 12 per candidate panel, and broadcast one feature at a time.
//
// Register blocking, per candidate panel:
//
//	Z0–Z23   accumulators: the dot product of candidate c (0..11) with the 16
//	         rows of lane half h (0, 1) lives in Z(2c+h)
//	Z24,Z25  feature t of lanes 0–15 and 16–31
//	Z26,Z27  feature t of a candidate, broadcast (two, so that consecutive
//	         candidates do not wait on one register)
//	AX BX CX DX SI DI R8–R13   the 12 candidate row pointers
//	R14      packed panel cursor (advances 128 bytes per feature)
//	R15      byte offset of feature t within a candidate row
//
// Each feature costs 2 vector loads, 12 broadcasts and 24 FMAs, so the loop
// is bound by the two FMA ports rather than by loads. The feature loop is
// unrolled four times; a one-feature loop handles d mod 4.
//
// Every accumulator lane is one (row, candidate) dot product summed over t
// in increasing order by FMA, whatever the tiling: the value does not depend
// on which panel, task or goroutine computed it.
//
// After the feature loop the epilogue selected by panelArgs.mode turns the
// products g into squared distances e = (‖x‖² + ‖c‖²) − 2g (one FMA, exact
// doubling, one rounding) and then:
//
//	modeAssign  keeps, per lane, the smallest and second-smallest e and the
//	            index of the smallest (ties to the lower index) in a
//	            panelState, so the n×k matrix is never written;
//	modeMask    writes, per candidate, a 32-bit mask of the lanes whose e is
//	            at most the lane's threshold (KNN screening);
//	modeSqrt    writes sqrt(max(e, 0)) and a mask of the lanes where
//	            e < nz·(‖x‖² + ‖c‖²), i.e. too close to zero for the GEMM form
//	            (silhouette sums);
//	modeStore   writes e.

#include "textflag.h"
#include "go_asm.h"

// FEAT512 accumulates one feature: co is the feature's byte offset in the
// candidate rows relative to R15, xo and xo2 the offsets of the two lane
// halves relative to R14.
#define FEAT512(co, xo, xo2) \
	VMOVUPS      xo(R14), Z24;          \
	VMOVUPS      xo2(R14), Z25;         \
	VBROADCASTSS co(AX)(R15*1), Z26;    \
	VFMADD231PS  Z26, Z24, Z0;          \
	VFMADD231PS  Z26, Z25, Z1;          \
	VBROADCASTSS co(BX)(R15*1), Z27;    \
	VFMADD231PS  Z27, Z24, Z2;          \
	VFMADD231PS  Z27, Z25, Z3;          \
	VBROADCASTSS co(CX)(R15*1), Z26;    \
	VFMADD231PS  Z26, Z24, Z4;          \
	VFMADD231PS  Z26, Z25, Z5;          \
	VBROADCASTSS co(DX)(R15*1), Z27;    \
	VFMADD231PS  Z27, Z24, Z6;          \
	VFMADD231PS  Z27, Z25, Z7;          \
	VBROADCASTSS co(SI)(R15*1), Z26;    \
	VFMADD231PS  Z26, Z24, Z8;          \
	VFMADD231PS  Z26, Z25, Z9;          \
	VBROADCASTSS co(DI)(R15*1), Z27;    \
	VFMADD231PS  Z27, Z24, Z10;         \
	VFMADD231PS  Z27, Z25, Z11;         \
	VBROADCASTSS co(R8)(R15*1), Z26;    \
	VFMADD231PS  Z26, Z24, Z12;         \
	VFMADD231PS  Z26, Z25, Z13;         \
	VBROADCASTSS co(R9)(R15*1), Z27;    \
	VFMADD231PS  Z27, Z24, Z14;         \
	VFMADD231PS  Z27, Z25, Z15;         \
	VBROADCASTSS co(R10)(R15*1), Z26;   \
	VFMADD231PS  Z26, Z24, Z16;         \
	VFMADD231PS  Z26, Z25, Z17;         \
	VBROADCASTSS co(R11)(R15*1), Z27;   \
	VFMADD231PS  Z27, Z24, Z18;         \
	VFMADD231PS  Z27, Z25, Z19;         \
	VBROADCASTSS co(R12)(R15*1), Z26;   \
	VFMADD231PS  Z26, Z24, Z20;         \
	VFMADD231PS  Z26, Z25, Z21;         \
	VBROADCASTSS co(R13)(R15*1), Z27;   \
	VFMADD231PS  Z27, Z24, Z22;         \
	VFMADD231PS  Z27, Z25, Z23

// DIST512 turns the product in acc into e = (xn + cn[c]) − 2·acc, with the
// lane norms in Z24, the candidate norms at R11 (co = 4c) and −2 in Z30;
// s = xn + cn[c] is left in Z25.
#define DIST512(acc, co) \
	VADDPS.BCST co(R11), Z24, Z25; \
	VFMADD213PS Z25, Z30, acc

// ASSIGN512 folds candidate DX's distances into the running best (Z28),
// second best (Z29) and best index (Z31) of one lane half. A strict < keeps
// the lower index on ties, since candidates arrive in increasing order.
#define ASSIGN512(acc, co) \
	DIST512(acc, co);             \
	VCMPPS       $1, Z28, acc, K1; \
	VMAXPS       acc, Z28, Z26;    \
	VMINPS       Z26, Z29, Z29;    \
	VMINPS       acc, Z28, Z28;    \
	VPBROADCASTD DX, K1, Z31;      \
	INCQ         DX

// MASK512 stores the 16-bit mask of lanes with e ≤ threshold (Z28) at mo(R12).
#define MASK512(acc, co, mo) \
	DIST512(acc, co);             \
	VCMPPS $2, Z28, acc, K1;       \
	KMOVW  K1, AX;                 \
	MOVW   AX, mo(R12)

// SQRT512 stores the near-zero mask at mo(R12) and sqrt(max(e, 0)) at R13,
// then moves R13 to the next candidate row (R9 bytes on). Z27 holds nz and
// Z26 zero.
#define SQRT512(acc, co, mo) \
	DIST512(acc, co);             \
	VMULPS  Z27, Z25, Z25;         \
	VCMPPS  $1, Z25, acc, K1;      \
	KMOVW   K1, AX;                \
	MOVW    AX, mo(R12);           \
	VMAXPS  Z26, acc, acc;         \
	VSQRTPS acc, acc;              \
	VMOVUPS acc, (R13);            \
	ADDQ    R9, R13

// STORE512 stores e at R13 and moves R13 to the next candidate row.
#define STORE512(acc, co) \
	DIST512(acc, co);   \
	VMOVUPS acc, (R13); \
	ADDQ    R9, R13

// func panelAVX512(a *panelArgs)
//
// Frame: 0(SP) a, 8(SP) panel index p, 16(SP) 4d, 24(SP) 4·(d − d mod 4).
TEXT ·panelAVX512(SB), NOSPLIT, $32-8
	MOVQ a+0(FP), AX
	MOVQ AX, 0(SP)
	MOVQ panelArgs_d(AX), BX
	SHLQ $2, BX
	MOVQ BX, 16(SP)
	ANDQ $-16, BX
	MOVQ BX, 24(SP)
	MOVQ $0, 8(SP)
	CMPQ panelArgs_np(AX), $0
	JLE  done

panel:
	// Load the candidate panel's 12 row pointers, clear the accumulators.
	MOVQ  0(SP), R14
	MOVQ  8(SP), R15
	IMULQ $96, R15
	ADDQ  panelArgs_cands(R14), R15
	MOVQ  0(R15), AX
	MOVQ  8(R15), BX
	MOVQ  16(R15), CX
	MOVQ  24(R15), DX
	MOVQ  32(R15), SI
	MOVQ  40(R15), DI
	MOVQ  48(R15), R8
	MOVQ  56(R15), R9
	MOVQ  64(R15), R10
	MOVQ  72(R15), R11
	MOVQ  80(R15), R12
	MOVQ  88(R15), R13
	MOVQ  panelArgs_xt(R14), R14
	XORQ  R15, R15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	CMPQ  R15, 24(SP)
	JGE   tail

loop4:
	FEAT512(0, 0, 64)
	FEAT512(4, 128, 192)
	FEAT512(8, 256, 320)
	FEAT512(12, 384, 448)
	ADDQ $16, R15
	ADDQ $512, R14
	CMPQ R15, 24(SP)
	JLT  loop4

tail:
	CMPQ R15, 16(SP)
	JGE  epilogue
	FEAT512(0, 0, 64)
	ADDQ $4, R15
	ADDQ $128, R14
	JMP  tail

epilogue:
	// Common setup: R8 a, R11 this panel's candidate norms, R12 its masks,
	// R10 the lane norms, CX p, Z30 = −2.
	MOVQ         0(SP), R8
	MOVQ         8(SP), CX
	MOVQ         CX, DX
	IMULQ        $48, DX
	MOVQ         panelArgs_cn(R8), R11
	ADDQ         DX, R11
	MOVQ         panelArgs_mask(R8), R12
	ADDQ         DX, R12
	MOVQ         panelArgs_xn(R8), R10
	MOVL         $0xc0000000, AX
	VPBROADCASTD AX, Z30
	MOVQ         panelArgs_mode(R8), AX
	CMPQ         AX, $const_modeAssign
	JEQ          assign
	CMPQ         AX, $const_modeMask
	JEQ          mask
	// modeSqrt and modeStore write rows of R9 = ldo bytes from
	// R13 = out + 12·p·ldo.
	MOVQ         panelArgs_ldo(R8), R9
	MOVQ         R9, R13
	IMULQ        CX, R13
	IMULQ        $12, R13
	ADDQ         panelArgs_out(R8), R13
	CMPQ         AX, $const_modeSqrt
	JEQ          sqrt

	// modeStore
	VMOVUPS  0(R10), Z24
	MOVQ     R13, BX
	STORE512(Z0, 0)
	STORE512(Z2, 4)
	STORE512(Z4, 8)
	STORE512(Z6, 12)
	STORE512(Z8, 16)
	STORE512(Z10, 20)
	STORE512(Z12, 24)
	STORE512(Z14, 28)
	STORE512(Z16, 32)
	STORE512(Z18, 36)
	STORE512(Z20, 40)
	STORE512(Z22, 44)
	VMOVUPS  64(R10), Z24
	LEAQ     64(BX), R13
	STORE512(Z1, 0)
	STORE512(Z3, 4)
	STORE512(Z5, 8)
	STORE512(Z7, 12)
	STORE512(Z9, 16)
	STORE512(Z11, 20)
	STORE512(Z13, 24)
	STORE512(Z15, 28)
	STORE512(Z17, 32)
	STORE512(Z19, 36)
	STORE512(Z21, 40)
	STORE512(Z23, 44)
	JMP      next

sqrt:
	VBROADCASTSS panelArgs_nz(R8), Z27
	VPXORD       Z26, Z26, Z26
	VMOVUPS      0(R10), Z24
	MOVQ         R13, BX
	SQRT512(Z0, 0, 0)
	SQRT512(Z2, 4, 4)
	SQRT512(Z4, 8, 8)
	SQRT512(Z6, 12, 12)
	SQRT512(Z8, 16, 16)
	SQRT512(Z10, 20, 20)
	SQRT512(Z12, 24, 24)
	SQRT512(Z14, 28, 28)
	SQRT512(Z16, 32, 32)
	SQRT512(Z18, 36, 36)
	SQRT512(Z20, 40, 40)
	SQRT512(Z22, 44, 44)
	VMOVUPS      64(R10), Z24
	LEAQ         64(BX), R13
	SQRT512(Z1, 0, 2)
	SQRT512(Z3, 4, 6)
	SQRT512(Z5, 8, 10)
	SQRT512(Z7, 12, 14)
	SQRT512(Z9, 16, 18)
	SQRT512(Z11, 20, 22)
	SQRT512(Z13, 24, 26)
	SQRT512(Z15, 28, 30)
	SQRT512(Z17, 32, 34)
	SQRT512(Z19, 36, 38)
	SQRT512(Z21, 40, 42)
	SQRT512(Z23, 44, 46)
	JMP          next

mask:
	MOVQ    panelArgs_thr(R8), R9
	VMOVUPS 0(R10), Z24
	VMOVUPS 0(R9), Z28
	MASK512(Z0, 0, 0)
	MASK512(Z2, 4, 4)
	MASK512(Z4, 8, 8)
	MASK512(Z6, 12, 12)
	MASK512(Z8, 16, 16)
	MASK512(Z10, 20, 20)
	MASK512(Z12, 24, 24)
	MASK512(Z14, 28, 28)
	MASK512(Z16, 32, 32)
	MASK512(Z18, 36, 36)
	MASK512(Z20, 40, 40)
	MASK512(Z22, 44, 44)
	VMOVUPS 64(R10), Z24
	VMOVUPS 64(R9), Z28
	MASK512(Z1, 0, 2)
	MASK512(Z3, 4, 6)
	MASK512(Z5, 8, 10)
	MASK512(Z7, 12, 14)
	MASK512(Z9, 16, 18)
	MASK512(Z11, 20, 22)
	MASK512(Z13, 24, 26)
	MASK512(Z15, 28, 30)
	MASK512(Z17, 32, 34)
	MASK512(Z19, 36, 38)
	MASK512(Z21, 40, 42)
	MASK512(Z23, 44, 46)
	JMP     next

assign:
	// R9 the panelState, BX the index of candidate 0 of this panel.
	MOVQ    panelArgs_out(R8), R9
	MOVQ    panelArgs_j0(R8), BX
	IMULQ   $12, CX
	ADDQ    CX, BX
	VMOVUPS 0(R10), Z24
	VMOVUPS panelState_best(R9), Z28
	VMOVUPS panelState_second(R9), Z29
	VMOVUPS panelState_idx(R9), Z31
	MOVQ    BX, DX
	ASSIGN512(Z0, 0)
	ASSIGN512(Z2, 4)
	ASSIGN512(Z4, 8)
	ASSIGN512(Z6, 12)
	ASSIGN512(Z8, 16)
	ASSIGN512(Z10, 20)
	ASSIGN512(Z12, 24)
	ASSIGN512(Z14, 28)
	ASSIGN512(Z16, 32)
	ASSIGN512(Z18, 36)
	ASSIGN512(Z20, 40)
	ASSIGN512(Z22, 44)
	VMOVUPS Z28, panelState_best(R9)
	VMOVUPS Z29, panelState_second(R9)
	VMOVUPS Z31, panelState_idx(R9)
	VMOVUPS 64(R10), Z24
	VMOVUPS panelState_best+64(R9), Z28
	VMOVUPS panelState_second+64(R9), Z29
	VMOVUPS panelState_idx+64(R9), Z31
	MOVQ    BX, DX
	ASSIGN512(Z1, 0)
	ASSIGN512(Z3, 4)
	ASSIGN512(Z5, 8)
	ASSIGN512(Z7, 12)
	ASSIGN512(Z9, 16)
	ASSIGN512(Z11, 20)
	ASSIGN512(Z13, 24)
	ASSIGN512(Z15, 28)
	ASSIGN512(Z17, 32)
	ASSIGN512(Z19, 36)
	ASSIGN512(Z21, 40)
	ASSIGN512(Z23, 44)
	VMOVUPS Z28, panelState_best+64(R9)
	VMOVUPS Z29, panelState_second+64(R9)
	VMOVUPS Z31, panelState_idx+64(R9)

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
