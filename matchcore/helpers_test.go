package matchcore

import (
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// synthPalm draws a 128x128 gray texture of random line segments: the same
// seed gives the same "palm"; noise adds per-capture pixel noise and shift
// moves the whole pattern by that many pixels.
func synthPalm(seed uint64, noise float64, shift int, capture uint64) *image.Gray {
	const n = 128
	rng := rand.New(rand.NewPCG(seed, 7))
	f := make([]float64, n*n)
	for i := range f {
		f[i] = 128
	}
	for k := 0; k < 60; k++ {
		x0, y0 := rng.Float64()*n, rng.Float64()*n
		th := rng.Float64() * math.Pi
		l := 10 + rng.Float64()*40
		w := 1 + rng.Float64()*2
		d := 30 + rng.Float64()*40
		for s := -l / 2; s < l/2; s += 0.5 {
			cx, cy := x0+s*math.Cos(th), y0+s*math.Sin(th)
			for dy := -3.0; dy <= 3; dy++ {
				for dx := -3.0; dx <= 3; dx++ {
					x, y := int(cx+dx), int(cy+dy)
					if x < 0 || y < 0 || x >= n || y >= n || dx*dx+dy*dy > w*w {
						continue
					}
					f[y*n+x] = 128 - d
				}
			}
		}
	}
	img := image.NewGray(image.Rect(0, 0, n, n))
	nr := rand.New(rand.NewPCG(seed, capture))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			sx, sy := min(max(x-shift, 0), n-1), min(max(y-shift, 0), n-1)
			v := f[sy*n+sx] + nr.NormFloat64()*noise
			img.Pix[y*img.Stride+x] = uint8(min(max(v, 0), 255))
		}
	}
	return img
}

func mustExtractor(t testing.TB) *Extractor {
	t.Helper()
	ex, err := NewExtractor(DefaultExtractorConfig())
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// synthTemplate extracts synthPalm(seed, 6, shift, capture) with the
// default extractor, caching the result across tests (extraction is slow
// under -race).
func synthTemplate(t testing.TB, seed uint64, shift int, capture uint64) *Template {
	t.Helper()
	key := [3]uint64{seed, uint64(shift), capture}
	if v, ok := synthCache.Load(key); ok {
		return v.(*Template)
	}
	tp := mustExtract(t, mustExtractor(t), synthPalm(seed, 6, shift, capture))
	synthCache.Store(key, tp)
	return tp
}

var synthCache sync.Map

func mustExtract(t testing.TB, ex *Extractor, img image.Image) *Template {
	t.Helper()
	tp, err := ex.Extract(img)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// dataDir finds the shared palm data: $PALMTILL_DATA, or ../shared/data
// beside the repository root found by walking up from the package dir.
// Tests that need it skip when it is absent.
func dataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PALMTILL_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Skip("no working directory")
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(filepath.Join(d, "tongji-dev")); err != nil {
				t.Skipf("palm data not found at %s (set PALMTILL_DATA): skipping real-data test", d)
			}
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found: skipping real-data test")
		}
		dir = parent
	}
}
