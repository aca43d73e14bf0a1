package scanner

import (
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// perturb returns img rotated by rot (radians) about its centre, scaled by
// scale, shifted by (dx, dy) pixels, optionally mirrored, with gain and
// gamma applied; uncovered pixels are dark.
func perturb(img image.Image, rot, scale, dx, dy, gain, gamma float64, mirror bool) *image.Gray {
	g := toGray(img)
	out := image.NewGray(image.Rect(0, 0, g.w, g.h))
	cx, cy := float64(g.w)/2, float64(g.h)/2
	c, s := math.Cos(rot), math.Sin(rot)
	var lut [256]uint8
	for i := range lut {
		lut[i] = uint8(math.Min(255, 255*math.Pow(float64(i)/255, gamma)*gain))
	}
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			u, v := (float64(x)-cx-dx)/scale, (float64(y)-cy-dy)/scale
			if mirror {
				u = -u
			}
			sx, sy := c*u+s*v+cx, -s*u+c*v+cy
			val := 8.0
			if sx >= 0 && sy >= 0 && sx <= float64(g.w-1) && sy <= float64(g.h-1) {
				val = bilinear(g, sx, sy)
			}
			out.Pix[y*out.Stride+x] = lut[int(val)]
		}
	}
	return out
}

// mirrored reports whether a palm's images are mirrored (made into the
// other hand): decided per palm folder, since a mirrored palm is another
// palm and must not be compared with the original.
func mirrored(path string) bool {
	h := 0
	for _, c := range filepath.Base(filepath.Dir(path)) {
		h = h*31 + int(c)
	}
	return h%2 == 1
}

// TestRealHandsPerturbed stands in for "whole-hand frames the project has
// never seen": every 3rd real whole-hand image, rotated by up to ±25°,
// scaled ±15%, shifted ±4%, with gain ±30% and gamma ±20%; half the palms
// are mirrored (left hands). Failures to extract must stay at most 2%.
func TestRealHandsPerturbed(t *testing.T) {
	root := dataDir(t)
	p, _ := NewPipeline(DefaultPipelineConfig())
	r := rand.New(rand.NewPCG(1, 2))
	var paths []string
	for _, set := range []string{"polyu-nir-hand-dev", "tongji-hand-samples"} {
		filepath.WalkDir(filepath.Join(root, set), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".png")) {
				paths = append(paths, path)
			}
			return nil
		})
	}
	if len(paths) == 0 {
		t.Skip("no whole-hand images")
	}
	step := 3
	if testing.Short() || raceEnabled {
		step = 24
	}
	// PALMTILL_PERTURB_OUT=dir writes every perturbed image (step 1) in the
	// data set layout, for palmeval --input hand.
	out := os.Getenv("PALMTILL_PERTURB_OUT")
	if out != "" {
		step = 1
	}
	n, fails := 0, 0
	for i := 0; i < len(paths); i += step {
		img := loadImage(t, paths[i])
		b := img.Bounds()
		pimg := perturb(img, (r.Float64()*2-1)*25*math.Pi/180, 1+(r.Float64()*2-1)*0.15,
			(r.Float64()*2-1)*0.04*float64(b.Dx()), (r.Float64()*2-1)*0.04*float64(b.Dy()),
			1+(r.Float64()*2-1)*0.3, 1+(r.Float64()*2-1)*0.2, mirrored(paths[i]))
		n++
		if out != "" {
			rel, _ := filepath.Rel(root, paths[i])
			dst := filepath.Join(out, strings.TrimSuffix(rel, filepath.Ext(rel))+".png")
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if f, err := os.Create(dst); err == nil {
				png.Encode(f, pimg)
				f.Close()
			}
		}
		if _, err := p.Process(Frame{Image: pimg}); err != nil {
			fails++
			t.Logf("%s: %v", paths[i], err)
		}
	}
	rate := float64(fails) / float64(n)
	t.Logf("perturbed whole hands: %d/%d failures to extract (%.2f%%)", fails, n, 100*rate)
	if rate > 0.02 {
		t.Errorf("failure to extract %.2f%% > 2%%", 100*rate)
	}
}
