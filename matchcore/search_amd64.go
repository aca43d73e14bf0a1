//go:build amd64 && !purego

package matchcore

//go:generate sh -c "go run search_asm_gen.go > search_amd64.s"

import "golang.org/x/sys/cpu"

// haveCoarseAsm reports whether coarseBlocks24 can run on this CPU.
var haveCoarseAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPOPCNTDQ && cpu.X86.HasAVX2

// haveCoarseAVX2 reports whether coarseBlocks24AVX2 can run on this CPU
// (used where haveCoarseAsm is false).
var haveCoarseAVX2 = cpu.X86.HasAVX2

// coarseBlocks24AVX2 is coarseBlocks24 with AVX2 only (nibble-table
// popcount). Implemented in search_amd64.s.
//
//go:noescape
func coarseBlocks24AVX2(slab *uint64, nblocks int, pm *uint64, cnt *int32, inv *float32, shifts int, out *float32)

// coarseBlocks24 scores nblocks blocks of the coarse slab (templates of 24
// code words, see coarseQuery.scoreBlocks) against shifts prepared probe
// shifts and writes 8 scores per block to out. Implemented in
// search_amd64.s (AVX-512F, VPOPCNTDQ); the caller guarantees the lengths.
//
//go:noescape
func coarseBlocks24(slab *uint64, nblocks int, pm *uint64, cnt *int32, inv *float32, shifts int, out *float32)

// haveExactAsm reports whether exactSample and shiftedDiff can run on this
// CPU.
var haveExactAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPOPCNTDQ && cpu.X86.HasAVX2

// exactSample is the first search stage of poseSet.score for 7x7 shifts
// (see search_exact.go for the layouts). Implemented in search_amd64.s.
//
//go:noescape
func exactSample(gal *uint64, probe *uint64, poses int, inv *float32, out *float32)

// shiftedDiff is the inner loop of prepared.scoreAt over words words.
// Implemented in search_amd64.s.
//
//go:noescape
func shiftedDiff(ac, am, bc, bm *uint64, words int, shl, shr uint64, colMask uint32) (diff, n int)

// haveExactAVX2 reports whether exactSampleAVX2 can run on this CPU (used
// where haveExactAsm is false).
var haveExactAVX2 = cpu.X86.HasAVX2

// exactSampleAVX2 is exactSample with AVX2 only (nibble-table popcount).
// Implemented in search_amd64.s.
//
//go:noescape
func exactSampleAVX2(gal *uint64, probe *uint64, poses int, inv *float32, out *float32)

// prefetchLines asks the CPU to bring lines cache lines from p into its
// caches (PREFETCHT0). Implemented in search_amd64.s.
//
//go:noescape
func prefetchLines(p *uint64, lines int)
