//go:build !amd64 || purego

package matchcore

// haveCoarseAsm is false: no assembly kernel on this platform.
const haveCoarseAsm = false

// coarseBlocks24 is never called where haveCoarseAsm is false.
func coarseBlocks24(slab *uint64, nblocks int, pm *uint64, cnt *int32, inv *float32, shifts int, out *float32) {
	panic("matchcore: coarseBlocks24 without assembly kernel")
}

// haveExactAsm is false: no assembly kernel on this platform.
const haveExactAsm = false

// exactSample is never called where haveExactAsm is false.
func exactSample(gal *uint64, probe *uint64, poses int, inv *float32, out *float32) {
	panic("matchcore: exactSample without assembly kernel")
}

// shiftedDiff is never called where haveExactAsm is false.
func shiftedDiff(ac, am, bc, bm *uint64, words int, shl, shr uint64, colMask uint32) (diff, n int) {
	panic("matchcore: shiftedDiff without assembly kernel")
}

// haveCoarseAVX2 is false: no assembly kernel on this platform.
const haveCoarseAVX2 = false

// coarseBlocks24AVX2 is never called where haveCoarseAVX2 is false.
func coarseBlocks24AVX2(slab *uint64, nblocks int, pm *uint64, cnt *int32, inv *float32, shifts int, out *float32) {
	panic("matchcore: coarseBlocks24AVX2 without assembly kernel")
}

// haveExactAVX2 is false: no assembly kernel on this platform.
const haveExactAVX2 = false

// exactSampleAVX2 is never called where haveExactAVX2 is false.
func exactSampleAVX2(gal *uint64, probe *uint64, poses int, inv *float32, out *float32) {
	panic("matchcore: exactSampleAVX2 without assembly kernel")
}

// prefetchLines does nothing on this platform.
func prefetchLines(p *uint64, lines int) {}
