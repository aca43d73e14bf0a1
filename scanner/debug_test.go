// Development aid: overlays of the hand mask, valley candidates and chosen
// key points, for tuning the pipeline on a new device's frames.

package scanner

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebugOverlay writes, for each image in $PALMTILL_DEBUGIMG (a
// comma-separated list), an overlay of the hand mask, contour defects and
// chosen valleys next to it (suffix .dbg.png). Development aid only.
func TestDebugOverlay(t *testing.T) {
	list := os.Getenv("PALMTILL_DEBUGIMG")
	if list == "" {
		t.Skip("set PALMTILL_DEBUGIMG=a.png,b.jpg to write overlays")
	}
	cfg := DefaultPipelineConfig()
	for _, path := range strings.Split(list, ",") {
		img := loadImage(t, path)
		g := toGray(img)
		fac := (max(g.w, g.h) + cfg.WorkSize - 1) / cfg.WorkSize
		sw, sh, small := downsample(g, fac)
		small = boxBlur3(sw, sh, small)
		thr, lo, hi := otsu(small)
		var loc located
		ths := []float64{(thr + lo) / 2, thr, (thr + hi) / 2}
		if os.Getenv("PALMTILL_TH0") != "" {
			ths = ths[:1]
		}
		for _, tt := range ths {
			loc = locate(small, sw, sh, tt)
			if loc.ok || loc.m == nil {
				break
			}
		}
		if loc.m == nil {
			t.Logf("%s: no hand", path)
			continue
		}
		m, ds, v1, v3, ok, r := *loc.m, loc.defects, loc.v1, loc.v3, loc.ok, loc.palmR
		cx, cy, _ := m.distanceMax()
		c := m.traceContour()
		out := image.NewRGBA(image.Rect(0, 0, sw, sh))
		for i, v := range small {
			q := uint8(v)
			if m.on[i] {
				out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = q/2+60, q/2, q/2, 255
			} else {
				out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = q/2, q/2, q/2+60, 255
			}
		}
		for _, p := range c {
			out.Set(p.x, p.y, color.RGBA{255, 255, 0, 255})
		}
		for _, d := range ds {
			for k := -2; k <= 2; k++ {
				out.Set(int(d.p.x)+k, int(d.p.y), color.RGBA{0, 255, 0, 255})
				out.Set(int(d.p.x), int(d.p.y)+k, color.RGBA{0, 255, 0, 255})
			}
		}
		if ok {
			for _, v := range []vec{v1, v3} {
				for k := -4; k <= 4; k++ {
					out.Set(int(v.x)+k, int(v.y)+k, color.RGBA{255, 0, 0, 255})
					out.Set(int(v.x)+k, int(v.y)-k, color.RGBA{255, 0, 0, 255})
				}
			}
		}
		out.Set(cx, cy, color.RGBA{255, 0, 255, 255})
		t.Logf("%s: thr %.0f lo %.0f hi %.0f r %.1f defects %d ok %v", path, thr, lo, hi, r, len(ds), ok)
		for _, d := range ds {
			t.Logf("  defect at (%.0f,%.0f) depth %.1f open (%.2f,%.2f) angle %.0f", d.p.x, d.p.y, d.depth, d.open.x, d.open.y, d.angle*180/math.Pi)
		}
		f, _ := os.Create(filepath.Join(os.TempDir(), filepath.Base(filepath.Dir(path))+"_"+filepath.Base(path)+".dbg.png"))
		png.Encode(f, out)
		f.Close()
	}
}
