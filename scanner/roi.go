package scanner

import (
	"image"
	"math"
)

// sampleROI cuts a size×size square of side `side` pixels centred on c with
// axes xa, ya (unit vectors) out of g, averaging k×k bilinear samples per
// output pixel when shrinking. It returns the ROI and the fraction of output
// pixels whose centre fell outside the frame (those replicate the edge).
func sampleROI(g grayImage, c, xa, ya vec, side float64, size int) (*image.Gray, float64) {
	out := image.NewGray(image.Rect(0, 0, size, size))
	step := side / float64(size)
	k := int(math.Ceil(step - 0.25))
	k = max(1, min(k, 4))
	sub := step / float64(k)
	outside := 0
	w1, h1 := float64(g.w-1), float64(g.h-1)
	origin := c.sub(xa.scale(side / 2)).sub(ya.scale(side / 2))
	inv := 1 / float64(k*k)
	for i := 0; i < size; i++ {
		for j := 0; j < size; j++ {
			base := origin.add(xa.scale(float64(j) * step)).add(ya.scale(float64(i) * step))
			cc := base.add(xa.scale(step / 2)).add(ya.scale(step / 2))
			if cc.x < 0 || cc.y < 0 || cc.x > w1 || cc.y > h1 {
				outside++
			}
			var acc float64
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					p := base.add(xa.scale((float64(b) + 0.5) * sub)).add(ya.scale((float64(a) + 0.5) * sub))
					acc += bilinear(g, p.x, p.y)
				}
			}
			out.Pix[i*out.Stride+j] = uint8(math.Min(255, acc*inv+0.5))
		}
	}
	return out, float64(outside) / float64(size*size)
}

// bilinear samples g at (x, y), clamping to the frame.
func bilinear(g grayImage, x, y float64) float64 {
	if x < 0 {
		x = 0
	} else if x > float64(g.w-1) {
		x = float64(g.w - 1)
	}
	if y < 0 {
		y = 0
	} else if y > float64(g.h-1) {
		y = float64(g.h - 1)
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.w-1), min(y0+1, g.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	p := g.pix
	a := float64(p[y0*g.w+x0])*(1-fx) + float64(p[y0*g.w+x1])*fx
	b := float64(p[y1*g.w+x0])*(1-fx) + float64(p[y1*g.w+x1])*fx
	return a*(1-fy) + b*fy
}

// roiStats returns the ROI's sharpness, mean gray level, and the fractions
// of saturated (≥250) and black (≤5) pixels. Sharpness is the mean absolute
// Laplacian (spacing 2) of the ROI smoothed by a 3×3 box: the smoothing
// keeps sensor noise from passing for detail, the wider Laplacian still
// sees palm lines and creases, which defocus and motion blur wash out.
func roiStats(r *image.Gray) (focus, mean, sat, dark float64) {
	w, h := r.Rect.Dx(), r.Rect.Dy()
	var sum float64
	var ns, nd int
	sm := make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := r.Pix[y*r.Stride:]
		for x := 0; x < w; x++ {
			v := row[x]
			sum += float64(v)
			if v >= 250 {
				ns++
			} else if v <= 5 {
				nd++
			}
			if x > 0 && y > 0 && x < w-1 && y < h-1 {
				var a int
				for dy := -1; dy <= 1; dy++ {
					q := r.Pix[(y+dy)*r.Stride+x-1:]
					a += int(q[0]) + int(q[1]) + int(q[2])
				}
				sm[y*w+x] = float32(a) / 9
			}
		}
	}
	var lap float64
	cnt := 0
	for y := 3; y < h-3; y++ {
		for x := 3; x < w-3; x++ {
			c := sm[y*w+x]
			l := 4*c - sm[y*w+x-2] - sm[y*w+x+2] - sm[(y-2)*w+x] - sm[(y+2)*w+x]
			if l < 0 {
				l = -l
			}
			lap += float64(l)
			cnt++
		}
	}
	n := float64(w * h)
	if cnt > 0 {
		focus = lap / float64(cnt)
	}
	return focus, sum / n, float64(ns) / n, float64(nd) / n
}
