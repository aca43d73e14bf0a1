package main

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// perturbSpec is the size of the random pose change applied to each probe.
type perturbSpec struct {
	rot, scale, shift float64 // degrees, fraction, fraction of the side
}

func (p perturbSpec) zero() bool { return p.rot == 0 && p.scale == 0 && p.shift == 0 }

// parsePerturb parses "rot=DEG,scale=FRAC,shift=FRAC" (any subset).
func parsePerturb(s string) (perturbSpec, error) {
	var p perturbSpec
	if s == "" {
		return p, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("perturb %q: want key=value", kv)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return p, fmt.Errorf("perturb %q: bad value", kv)
		}
		switch k {
		case "rot":
			p.rot = f
		case "scale":
			p.scale = f
		case "shift":
			p.shift = f
		default:
			return p, fmt.Errorf("perturb: unknown key %q", k)
		}
	}
	return p, nil
}

// apply returns img warped by a random rotation, scaling and shift about
// its centre, each uniform within the spec, sampled bilinearly with the
// borders extended.
func (p perturbSpec) apply(img image.Image, rng *rand.Rand) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	src := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			src.Pix[y*src.Stride+x] = uint8((299*r + 587*g + 114*bb) / 1000 >> 8)
		}
	}
	uni := func(a float64) float64 { return (2*rng.Float64() - 1) * a }
	th := uni(p.rot) * math.Pi / 180
	sc := 1 + uni(p.scale)
	tx, ty := uni(p.shift)*float64(w), uni(p.shift)*float64(h)
	cx, cy := float64(w-1)/2, float64(h-1)/2
	ct, st := math.Cos(th), math.Sin(th)
	dst := image.NewGray(image.Rect(0, 0, w, h))
	at := func(x, y int) float64 {
		x = min(max(x, 0), w-1)
		y = min(max(y, 0), h-1)
		return float64(src.Pix[y*src.Stride+x])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// inverse map: destination -> source
			dx, dy := float64(x)-cx-tx, float64(y)-cy-ty
			sx := (ct*dx+st*dy)/sc + cx
			sy := (-st*dx+ct*dy)/sc + cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			v := (1-fy)*((1-fx)*at(x0, y0)+fx*at(x0+1, y0)) + fy*((1-fx)*at(x0, y0+1)+fx*at(x0+1, y0+1))
			dst.Pix[y*dst.Stride+x] = uint8(math.Round(min(max(v, 0), 255)))
		}
	}
	return dst
}
