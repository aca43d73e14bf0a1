//go:build amd64 && !purego

#include "textflag.h"

// func filter8x8(img *float32, offs *[8]int, stride, side int, bank *float32, out *[64]float32)
//
// For each of 8 windows (window j's top-left element at img[offs[j]], rows
// stride elements apart) it accumulates, over the side x side taps in row
// order, the window's pixel times the tap's 8 bank coefficients (bank is
// [tap][8]float32) into 8 lanes, and stores window j's lanes at out[8j:8j+8].
// AVX2 + FMA; one bank load and eight broadcast-FMAs per tap, eight
// independent accumulators to hide the FMA latency.
TEXT ·filter8x8(SB), NOSPLIT, $0-48
	MOVQ img+0(FP), SI
	MOVQ offs+8(FP), DI
	MOVQ 0(DI), R8
	LEAQ (SI)(R8*4), R8
	MOVQ 8(DI), R9
	LEAQ (SI)(R9*4), R9
	MOVQ 16(DI), R10
	LEAQ (SI)(R10*4), R10
	MOVQ 24(DI), R11
	LEAQ (SI)(R11*4), R11
	MOVQ 32(DI), R12
	LEAQ (SI)(R12*4), R12
	MOVQ 40(DI), R13
	LEAQ (SI)(R13*4), R13
	MOVQ 48(DI), R14
	LEAQ (SI)(R14*4), R14
	MOVQ 56(DI), R15
	LEAQ (SI)(R15*4), R15
	MOVQ stride+16(FP), DI
	MOVQ side+24(FP), SI
	SUBQ SI, DI          // DI = stride - side: index step at the end of a row
	MOVQ bank+32(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX          // element index within every window
	MOVQ SI, DX          // rows left

row:
	MOVQ SI, CX          // taps left in this row

tap:
	VMOVUPS (BX), Y8
	VBROADCASTSS (R8)(AX*4), Y9
	VFMADD231PS Y8, Y9, Y0
	VBROADCASTSS (R9)(AX*4), Y10
	VFMADD231PS Y8, Y10, Y1
	VBROADCASTSS (R10)(AX*4), Y11
	VFMADD231PS Y8, Y11, Y2
	VBROADCASTSS (R11)(AX*4), Y12
	VFMADD231PS Y8, Y12, Y3
	VBROADCASTSS (R12)(AX*4), Y9
	VFMADD231PS Y8, Y9, Y4
	VBROADCASTSS (R13)(AX*4), Y10
	VFMADD231PS Y8, Y10, Y5
	VBROADCASTSS (R14)(AX*4), Y11
	VFMADD231PS Y8, Y11, Y6
	VBROADCASTSS (R15)(AX*4), Y12
	VFMADD231PS Y8, Y12, Y7
	ADDQ $32, BX
	INCQ AX
	DECQ CX
	JNZ tap
	ADDQ DI, AX
	DECQ DX
	JNZ row

	MOVQ out+40(FP), AX
	VMOVUPS Y0, 0(AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VMOVUPS Y4, 128(AX)
	VMOVUPS Y5, 160(AX)
	VMOVUPS Y6, 192(AX)
	VMOVUPS Y7, 224(AX)
	VZEROUPPER
	RET
