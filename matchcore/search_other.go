//go:build !amd64 || purego

package matchcore

// haveCoarseAsm is false: no assembly kernel on this platform.
const haveCoarseAsm = false

// coarseBlocks24 is never called where haveCoarseAsm is false.
func coarseBlocks24(slab *uint64, nblocks int, pm *uint64, cnt *int32, inv *float32, shifts int, out *float32) {
	panic("matchcore: coarseBlocks24 without assembly kernel")
}
