//go:build !amd64 || purego

package matchcore

// haveFilter8x8 is false: no assembly kernel on this platform.
const haveFilter8x8 = false

// filter8x8 is never called where haveFilter8x8 is false.
func filter8x8(img *float32, offs *[8]int, stride, side int, bank *float32, out *[64]float32) {
	panic("matchcore: filter8x8 without assembly kernel")
}
