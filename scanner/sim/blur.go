package sim

import (
	"math"
	"sync"
)

// floatPool recycles frame-sized float buffers between renders.
var floatPool sync.Pool

func getFloats(n int) []float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		b := (*p)[:n]
		clear(b)
		return b
	}
	return make([]float32, n)
}

func putFloats(b []float32) { floatPool.Put(&b) }

// gaussBlur blurs buf in place with a separable Gaussian of the given sigma
// (no-op below 0.3 pixels).
func gaussBlur(buf []float32, W, H int, sigma float64) {
	if sigma < 0.3 {
		return
	}
	rad := int(math.Ceil(2.5 * sigma))
	if sigma < 0.75 {
		rad = 1 // a 3-tap kernel is exact enough for slight defocus
	}
	k := make([]float32, 2*rad+1)
	var sum float32
	for i := -rad; i <= rad; i++ {
		k[i+rad] = float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		sum += k[i+rad]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := getFloats(len(buf))
	defer putFloats(tmp)
	for y := 0; y < H; y++ {
		row, out := buf[y*W:(y+1)*W], tmp[y*W:(y+1)*W]
		for x := 0; x < W; x++ {
			var acc float32
			for j := -rad; j <= rad; j++ {
				xx := min(max(x+j, 0), W-1)
				acc += k[j+rad] * row[xx]
			}
			out[x] = acc
		}
	}
	for y := 0; y < H; y++ {
		out := buf[y*W : (y+1)*W]
		for x := 0; x < W; x++ {
			var acc float32
			for j := -rad; j <= rad; j++ {
				yy := min(max(y+j, 0), H-1)
				acc += k[j+rad] * tmp[yy*W+x]
			}
			out[x] = acc
		}
	}
}

// motionBlur averages buf along a direction over length pixels.
func motionBlur(buf []float32, W, H int, length, ang float64) {
	n := int(math.Ceil(length))
	dx, dy := math.Cos(ang), math.Sin(ang)
	src := getFloats(len(buf))
	defer putFloats(src)
	copy(src, buf)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			var acc float32
			for s := 0; s <= n; s++ {
				t := float64(s) - float64(n)/2
				xx := min(max(x+int(math.Round(t*dx)), 0), W-1)
				yy := min(max(y+int(math.Round(t*dy)), 0), H-1)
				acc += src[yy*W+xx]
			}
			buf[y*W+x] = acc / float32(n+1)
		}
	}
}
