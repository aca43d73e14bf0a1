package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var (
	colGen  = color.RGBA{0, 140, 0, 255}
	colImp  = color.RGBA{200, 0, 0, 255}
	colAxis = color.RGBA{0, 0, 0, 255}
	colGrid = color.RGBA{220, 220, 220, 255}
)

// writePlot draws the genuine and impostor score histograms (left, log
// density) and the DET curve (right, FNMR against FMR on log axes) to a PNG.
func writePlot(path string, st stats) error {
	const W, H, pw = 1000, 440, 440
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	left := image.Rect(50, 30, 50+pw, 30+360)
	right := image.Rect(540, 30, 540+pw, 30+360)

	// Histograms: 100 bins over [0,1], log10 of the density fraction.
	const bins = 100
	hist := func(v []float64) []float64 {
		h := make([]float64, bins)
		for _, x := range v {
			h[min(bins-1, max(0, int(x*bins)))]++
		}
		for i := range h {
			h[i] /= float64(max(1, len(v)))
		}
		return h
	}
	const minLog = -6.0
	ly := func(f float64) int {
		if f <= 0 {
			return left.Max.Y
		}
		l := math.Max(minLog, math.Log10(f))
		return left.Max.Y - int((l-minLog)/(-minLog)*float64(left.Dy()))
	}
	for d := 0; d >= int(minLog); d-- {
		y := ly(math.Pow(10, float64(d)))
		line(img, left.Min.X, y, left.Max.X, y, colGrid)
		label(img, 8, y+4, fmt.Sprintf("1e%d", d))
	}
	for _, s := range []struct {
		v []float64
		c color.RGBA
	}{{st.impostor, colImp}, {st.genuine, colGen}} {
		h := hist(s.v)
		px, py := -1, 0
		for i, f := range h {
			x := left.Min.X + (2*i+1)*left.Dx()/(2*bins)
			y := ly(f)
			if px >= 0 {
				line(img, px, py, x, y, s.c)
			}
			px, py = x, y
		}
	}
	rect(img, left, colAxis)
	for i := 0; i <= 10; i += 2 {
		label(img, left.Min.X+i*left.Dx()/10-8, left.Max.Y+14, fmt.Sprintf("%.1f", float64(i)/10))
	}
	label(img, left.Min.X+10, H-16, "score histograms: genuine (green), impostor (red), log fraction")

	// DET: FMR on x from 1e-6 to 1, FNMR on y from 1e-4 to 1, log scales.
	lx := func(f float64) int {
		l := math.Max(-6, math.Log10(math.Max(f, 1e-12)))
		return right.Min.X + int((l+6)/6*float64(right.Dx()))
	}
	dy := func(f float64) int {
		l := math.Max(-4, math.Log10(math.Max(f, 1e-12)))
		return right.Max.Y - int((l+4)/4*float64(right.Dy()))
	}
	for d := -6; d <= 0; d++ {
		x := lx(math.Pow(10, float64(d)))
		line(img, x, right.Min.Y, x, right.Max.Y, colGrid)
		label(img, x-12, right.Max.Y+14, fmt.Sprintf("1e%d", d))
	}
	for d := -4; d <= 0; d++ {
		y := dy(math.Pow(10, float64(d)))
		line(img, right.Min.X, y, right.Max.X, y, colGrid)
		label(img, right.Min.X-36, y+4, fmt.Sprintf("1e%d", d))
	}
	px, py := -1, 0
	for i := 0; i <= 400; i++ {
		t := float64(i) / 400
		x, y := lx(fracAtOrAbove(st.impostor, t)), dy(fracBelow(st.genuine, t))
		if px >= 0 {
			line(img, px, py, x, y, colImp)
		}
		px, py = x, y
	}
	rect(img, right, colAxis)
	label(img, right.Min.X+10, H-16, fmt.Sprintf("DET: FNMR vs FMR (EER %.3f%%)", 100*st.eer))

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func label(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(colAxis), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func rect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	line(img, r.Min.X, r.Min.Y, r.Max.X, r.Min.Y, c)
	line(img, r.Min.X, r.Max.Y, r.Max.X, r.Max.Y, c)
	line(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y, c)
	line(img, r.Max.X, r.Min.Y, r.Max.X, r.Max.Y, c)
}

// line draws a segment with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
