package matchcore

import (
	"image"
	"image/color"
	"math"
)

// grayFloat converts any image to row-major float32 gray levels in 0..255.
func grayFloat(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[(y)*m.Stride : y*m.Stride+w]
			for x, v := range row {
				out[y*w+x] = float32(v)
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = float32(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g := color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				out[y*w+x] = float32(g.Y) / 257
			}
		}
	}
	return out
}

// meanStd returns the mean and standard deviation of v.
func meanStd(v []float32) (mean, sd float64) {
	var s, s2 float64
	for _, x := range v {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(v))
	mean = s / n
	return mean, math.Sqrt(math.Max(0, s2/n-mean*mean))
}

// resample resizes a w x h image to nw x nh with separable area (box)
// weights when shrinking and linear interpolation when enlarging.
func resample(src []float32, w, h, nw, nh int) []float32 {
	if w == nw && h == nh {
		out := make([]float32, len(src))
		copy(out, src)
		return out
	}
	tmp := make([]float32, nw*h)
	hw := axisWeights(w, nw)
	for y := 0; y < h; y++ {
		row := src[y*w : (y+1)*w]
		for x, ws := range hw {
			var s float32
			for _, t := range ws {
				s += row[t.i] * t.w
			}
			tmp[y*nw+x] = s
		}
	}
	out := make([]float32, nw*nh)
	vw := axisWeights(h, nh)
	for y, ws := range vw {
		o := out[y*nw : (y+1)*nw]
		for _, t := range ws {
			r := tmp[t.i*nw : (t.i+1)*nw]
			for x := range o {
				o[x] += r[x] * t.w
			}
		}
	}
	return out
}

type tap struct {
	i int
	w float32
}

// axisWeights returns, for each of the n output samples, the input taps that
// form it from an axis of m samples.
func axisWeights(m, n int) [][]tap {
	out := make([][]tap, n)
	scale := float64(m) / float64(n)
	for j := range out {
		if scale >= 1 { // box over [j*scale, (j+1)*scale)
			a, b := float64(j)*scale, float64(j+1)*scale
			for i := int(a); i < m && float64(i) < b; i++ {
				lo, hi := math.Max(a, float64(i)), math.Min(b, float64(i+1))
				if hi > lo {
					out[j] = append(out[j], tap{i, float32((hi - lo) / scale)})
				}
			}
			continue
		}
		c := (float64(j)+0.5)*scale - 0.5 // linear interpolation
		i0 := int(math.Floor(c))
		f := c - float64(i0)
		i1 := i0 + 1
		i0, i1 = min(max(i0, 0), m-1), min(max(i1, 0), m-1)
		out[j] = []tap{{i0, float32(1 - f)}, {i1, float32(f)}}
	}
	return out
}
