package scanner

import (
	"image"
	"image/color"
)

// grayImage is a dense 8-bit gray image with origin (0,0).
type grayImage struct {
	w, h int
	pix  []uint8
}

// toGray converts any image to a dense gray image, taking fast paths for the
// types decoders and drivers produce. It never panics on empty or odd images.
func toGray(img image.Image) grayImage {
	if img == nil {
		return grayImage{}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return grayImage{}
	}
	g := grayImage{w: w, h: h, pix: make([]uint8, w*h)}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], m.Pix[off:off+w])
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*w:(y+1)*w], m.Y[off:off+w])
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				r, gg, bb := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
				g.pix[y*w+x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				r, gg, bb := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
				g.pix[y*w+x] = uint8((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray)
				g.pix[y*w+x] = c.Y
			}
		}
	}
	return g
}

// downsample averages f×f blocks (the last partial block included) into a
// float32 image of size ceil(w/f)×ceil(h/f).
func downsample(g grayImage, f int) (sw, sh int, out []float32) {
	sw, sh = (g.w+f-1)/f, (g.h+f-1)/f
	out = make([]float32, sw*sh)
	cnt := make([]float32, sw*sh)
	for y := 0; y < g.h; y++ {
		sy := y / f
		row := g.pix[y*g.w : (y+1)*g.w]
		o := out[sy*sw : (sy+1)*sw]
		c := cnt[sy*sw : (sy+1)*sw]
		for x, v := range row {
			o[x/f] += float32(v)
			c[x/f]++
		}
	}
	for i := range out {
		out[i] /= cnt[i]
	}
	return sw, sh, out
}

// boxBlur3 blurs a float image with a 3×3 box, replicating edges.
func boxBlur3(w, h int, in []float32) []float32 {
	tmp := make([]float32, w*h)
	out := make([]float32, w*h)
	for y := 0; y < h; y++ {
		r := in[y*w : (y+1)*w]
		t := tmp[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			l, c, rr := r[max(x-1, 0)], r[x], r[min(x+1, w-1)]
			t[x] = (l + c + rr) / 3
		}
	}
	for y := 0; y < h; y++ {
		u := tmp[max(y-1, 0)*w:]
		c := tmp[y*w:]
		d := tmp[min(y+1, h-1)*w:]
		o := out[y*w:]
		for x := 0; x < w; x++ {
			o[x] = (u[x] + c[x] + d[x]) / 3
		}
	}
	return out
}

// otsu returns Otsu's threshold of a float image with values in [0,255] and
// the means of the two classes it separates.
func otsu(v []float32) (thr, lo, hi float64) {
	var hist [256]float64
	for _, x := range v {
		i := int(x)
		if i < 0 {
			i = 0
		} else if i > 255 {
			i = 255
		}
		hist[i]++
	}
	total := float64(len(v))
	var sum float64
	for i, c := range hist {
		sum += float64(i) * c
	}
	var wB, sumB, best float64
	thr = 127
	for t := 0; t < 256; t++ {
		wB += hist[t]
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(t) * hist[t]
		mB := sumB / wB
		mF := (sum - sumB) / wF
		between := wB * wF * (mB - mF) * (mB - mF)
		if between > best {
			best, thr, lo, hi = between, float64(t)+0.5, mB, mF
		}
	}
	return thr, lo, hi
}
