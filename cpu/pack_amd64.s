//go:build amd64 && !purego

// Lane-panel packing for the panel kernels: a block of rows, given by a
// table of row pointers, is transposed into feature-major order,
// dst[t*L+r] = row_r[t], so that the kernels load feature t of L rows with
// full-width vector loads. Only whole blocks of 16 (AVX-512) or 8 (AVX2)
// features are packed here; packLanes in Go copies the last d mod 16 (or 8)
// features.

#include "textflag.h"

// LOADROW512 loads 16 features of the row whose pointer is at ro(SI),
// starting at byte offset DX, into reg.
#define LOADROW512(ro, reg) \
	MOVQ    ro(SI), AX; \
	VMOVUPS (AX)(DX*1), reg

// TRANSPOSE16 transposes the 16×16 block in Z0–Z15 (Z_r = row r) so that Z_c
// holds column c, using Z16–Z31 as scratch: unpack single and double words
// within 128-bit lanes, then exchange 128-bit lanes twice.
#define TRANSPOSE16 \
	VUNPCKLPS  Z1, Z0, Z16;    \
	VUNPCKHPS  Z1, Z0, Z17;    \
	VUNPCKLPS  Z3, Z2, Z18;    \
	VUNPCKHPS  Z3, Z2, Z19;    \
	VUNPCKLPS  Z5, Z4, Z20;    \
	VUNPCKHPS  Z5, Z4, Z21;    \
	VUNPCKLPS  Z7, Z6, Z22;    \
	VUNPCKHPS  Z7, Z6, Z23;    \
	VUNPCKLPS  Z9, Z8, Z24;    \
	VUNPCKHPS  Z9, Z8, Z25;    \
	VUNPCKLPS  Z11, Z10, Z26;  \
	VUNPCKHPS  Z11, Z10, Z27;  \
	VUNPCKLPS  Z13, Z12, Z28;  \
	VUNPCKHPS  Z13, Z12, Z29;  \
	VUNPCKLPS  Z15, Z14, Z30;  \
	VUNPCKHPS  Z15, Z14, Z31;  \
	VUNPCKLPD  Z18, Z16, Z0;   \
	VUNPCKHPD  Z18, Z16, Z1;   \
	VUNPCKLPD  Z19, Z17, Z2;   \
	VUNPCKHPD  Z19, Z17, Z3;   \
	VUNPCKLPD  Z22, Z20, Z4;   \
	VUNPCKHPD  Z22, Z20, Z5;   \
	VUNPCKLPD  Z23, Z21, Z6;   \
	VUNPCKHPD  Z23, Z21, Z7;   \
	VUNPCKLPD  Z26, Z24, Z8;   \
	VUNPCKHPD  Z26, Z24, Z9;   \
	VUNPCKLPD  Z27, Z25, Z10;  \
	VUNPCKHPD  Z27, Z25, Z11;  \
	VUNPCKLPD  Z30, Z28, Z12;  \
	VUNPCKHPD  Z30, Z28, Z13;  \
	VUNPCKLPD  Z31, Z29, Z14;  \
	VUNPCKHPD  Z31, Z29, Z15;  \
	VSHUFF32X4 $0x44, Z4, Z0, Z16;  \
	VSHUFF32X4 $0xee, Z4, Z0, Z17;  \
	VSHUFF32X4 $0x44, Z12, Z8, Z18; \
	VSHUFF32X4 $0xee, Z12, Z8, Z19; \
	VSHUFF32X4 $0x44, Z5, Z1, Z20;  \
	VSHUFF32X4 $0xee, Z5, Z1, Z21;  \
	VSHUFF32X4 $0x44, Z13, Z9, Z22; \
	VSHUFF32X4 $0xee, Z13, Z9, Z23; \
	VSHUFF32X4 $0x44, Z6, Z2, Z24;  \
	VSHUFF32X4 $0xee, Z6, Z2, Z25;  \
	VSHUFF32X4 $0x44, Z14, Z10, Z26; \
	VSHUFF32X4 $0xee, Z14, Z10, Z27; \
	VSHUFF32X4 $0x44, Z7, Z3, Z28;  \
	VSHUFF32X4 $0xee, Z7, Z3, Z29;  \
	VSHUFF32X4 $0x44, Z15, Z11, Z30; \
	VSHUFF32X4 $0xee, Z15, Z11, Z31; \
	VSHUFF32X4 $0x88, Z18, Z16, Z0;  \
	VSHUFF32X4 $0xdd, Z18, Z16, Z4;  \
	VSHUFF32X4 $0x88, Z19, Z17, Z8;  \
	VSHUFF32X4 $0xdd, Z19, Z17, Z12; \
	VSHUFF32X4 $0x88, Z22, Z20, Z1;  \
	VSHUFF32X4 $0xdd, Z22, Z20, Z5;  \
	VSHUFF32X4 $0x88, Z23, Z21, Z9;  \
	VSHUFF32X4 $0xdd, Z23, Z21, Z13; \
	VSHUFF32X4 $0x88, Z26, Z24, Z2;  \
	VSHUFF32X4 $0xdd, Z26, Z24, Z6;  \
	VSHUFF32X4 $0x88, Z27, Z25, Z10; \
	VSHUFF32X4 $0xdd, Z27, Z25, Z14; \
	VSHUFF32X4 $0x88, Z30, Z28, Z3;  \
	VSHUFF32X4 $0xdd, Z30, Z28, Z7;  \
	VSHUFF32X4 $0x88, Z31, Z29, Z11; \
	VSHUFF32X4 $0xdd, Z31, Z29, Z15

// STORECOLS512 stores column c (Z_c) at ho + 128c bytes from DI.
#define STORECOLS512(ho) \
	VMOVUPS Z0, ho(DI);       \
	VMOVUPS Z1, ho+128(DI);   \
	VMOVUPS Z2, ho+256(DI);   \
	VMOVUPS Z3, ho+384(DI);   \
	VMOVUPS Z4, ho+512(DI);   \
	VMOVUPS Z5, ho+640(DI);   \
	VMOVUPS Z6, ho+768(DI);   \
	VMOVUPS Z7, ho+896(DI);   \
	VMOVUPS Z8, ho+1024(DI);  \
	VMOVUPS Z9, ho+1152(DI);  \
	VMOVUPS Z10, ho+1280(DI); \
	VMOVUPS Z11, ho+1408(DI); \
	VMOVUPS Z12, ho+1536(DI); \
	VMOVUPS Z13, ho+1664(DI); \
	VMOVUPS Z14, ho+1792(DI); \
	VMOVUPS Z15, ho+1920(DI)

// LOADHALF512 loads 16 features of the 16 rows whose pointers start at
// ro(SI).
#define LOADHALF512(ro) \
	LOADROW512(ro, Z0);      \
	LOADROW512(ro+8, Z1);    \
	LOADROW512(ro+16, Z2);   \
	LOADROW512(ro+24, Z3);   \
	LOADROW512(ro+32, Z4);   \
	LOADROW512(ro+40, Z5);   \
	LOADROW512(ro+48, Z6);   \
	LOADROW512(ro+56, Z7);   \
	LOADROW512(ro+64, Z8);   \
	LOADROW512(ro+72, Z9);   \
	LOADROW512(ro+80, Z10);  \
	LOADROW512(ro+88, Z11);  \
	LOADROW512(ro+96, Z12);  \
	LOADROW512(ro+104, Z13); \
	LOADROW512(ro+112, Z14); \
	LOADROW512(ro+120, Z15)

// func packAVX512(dst *float32, rows **float32, d int)
//
// Packs features [0, d − d mod 16) of the 32 rows into dst (32 floats per
// feature): each block of 16 features is two 16×16 transposes.
TEXT ·packAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ d+16(FP), CX
	SHRQ $4, CX
	JZ   done512
	XORQ DX, DX

block512:
	LOADHALF512(0)
	TRANSPOSE16
	STORECOLS512(0)
	LOADHALF512(128)
	TRANSPOSE16
	STORECOLS512(64)
	ADDQ $64, DX
	ADDQ $2048, DI
	DECQ CX
	JNZ  block512

done512:
	VZEROUPPER
	RET

#define LOADROW256(ro, reg) \
	MOVQ    ro(SI), AX; \
	VMOVUPS (AX)(DX*1), reg

// TRANSPOSE8 transposes the 8×8 block in Y0–Y7 (Y_r = row r) into Y8–Y15
// (Y(8+c) = column c).
#define TRANSPOSE8 \
	VUNPCKLPS  Y1, Y0, Y8;         \
	VUNPCKHPS  Y1, Y0, Y9;         \
	VUNPCKLPS  Y3, Y2, Y10;        \
	VUNPCKHPS  Y3, Y2, Y11;        \
	VUNPCKLPS  Y5, Y4, Y12;        \
	VUNPCKHPS  Y5, Y4, Y13;        \
	VUNPCKLPS  Y7, Y6, Y14;        \
	VUNPCKHPS  Y7, Y6, Y15;        \
	VSHUFPS    $0x44, Y10, Y8, Y0; \
	VSHUFPS    $0xee, Y10, Y8, Y1; \
	VSHUFPS    $0x44, Y11, Y9, Y2; \
	VSHUFPS    $0xee, Y11, Y9, Y3; \
	VSHUFPS    $0x44, Y14, Y12, Y4; \
	VSHUFPS    $0xee, Y14, Y12, Y5; \
	VSHUFPS    $0x44, Y15, Y13, Y6; \
	VSHUFPS    $0xee, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8;  \
	VPERM2F128 $0x20, Y5, Y1, Y9;  \
	VPERM2F128 $0x20, Y6, Y2, Y10; \
	VPERM2F128 $0x20, Y7, Y3, Y11; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VPERM2F128 $0x31, Y7, Y3, Y15

#define LOADHALF256(ro) \
	LOADROW256(ro, Y0);    \
	LOADROW256(ro+8, Y1);  \
	LOADROW256(ro+16, Y2); \
	LOADROW256(ro+24, Y3); \
	LOADROW256(ro+32, Y4); \
	LOADROW256(ro+40, Y5); \
	LOADROW256(ro+48, Y6); \
	LOADROW256(ro+56, Y7)

// STORECOLS256 stores column c (Y(8+c)) at ho + 64c bytes from DI.
#define STORECOLS256(ho) \
	VMOVUPS Y8, ho(DI);      \
	VMOVUPS Y9, ho+64(DI);   \
	VMOVUPS Y10, ho+128(DI); \
	VMOVUPS Y11, ho+192(DI); \
	VMOVUPS Y12, ho+256(DI); \
	VMOVUPS Y13, ho+320(DI); \
	VMOVUPS Y14, ho+384(DI); \
	VMOVUPS Y15, ho+448(DI)

// func packAVX2(dst *float32, rows **float32, d int)
//
// Packs features [0, d − d mod 8) of the 16 rows into dst (16 floats per
// feature): each block of 8 features is two 8×8 transposes.
TEXT ·packAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ d+16(FP), CX
	SHRQ $3, CX
	JZ   done256
	XORQ DX, DX

block256:
	LOADHALF256(0)
	TRANSPOSE8
	STORECOLS256(0)
	LOADHALF256(64)
	TRANSPOSE8
	STORECOLS256(32)
	ADDQ $32, DX
	ADDQ $512, DI
	DECQ CX
	JNZ  block256

done256:
	VZEROUPPER
	RET
