//go:build amd64 && !purego

package matchcore

import "golang.org/x/sys/cpu"

// haveFilter8x8 reports whether filter8x8 can run on this CPU.
var haveFilter8x8 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// filter8x8 correlates 8 windows of img (top-left elements at offs, rows
// stride apart) with a side x side bank of 8 interleaved filters and writes
// window j's 8 responses to out[8j:8j+8]. The caller guarantees every
// window lies inside img. Implemented in filter_amd64.s (AVX2, FMA).
//
//go:noescape
func filter8x8(img *float32, offs *[8]int, stride, side int, bank *float32, out *[64]float32)
