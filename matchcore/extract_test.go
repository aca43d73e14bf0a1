package matchcore

import (
	"errors"
	"image"
	"image/color"
	"testing"
)

func TestExtractorConfigValidate(t *testing.T) {
	if err := DefaultExtractorConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*ExtractorConfig){
		func(c *ExtractorConfig) { c.Grid = 64 },
		func(c *ExtractorConfig) { c.Orientations = 0 },
		func(c *ExtractorConfig) { c.Wavelength = 1 },
		func(c *ExtractorConfig) { c.FragileFraction = 0.95 },
		func(c *ExtractorConfig) { c.Radius = 0 },
		func(c *ExtractorConfig) { c.WorkSize = 8 },
	}
	for i, f := range bad {
		c := DefaultExtractorConfig()
		f(&c)
		if _, err := NewExtractor(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("case %d: got %v, want ErrBadConfig", i, err)
		}
	}
}

func TestExtractRejectsUnusable(t *testing.T) {
	ex := mustExtractor(t)
	blank := image.NewGray(image.Rect(0, 0, 128, 128))
	for i := range blank.Pix {
		blank.Pix[i] = 200
	}
	cases := []struct {
		name string
		img  image.Image
	}{
		{"blank", blank},
		{"tiny", image.NewGray(image.Rect(0, 0, 16, 16))},
		{"empty", image.NewGray(image.Rect(0, 0, 0, 0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ex.Extract(c.img); !errors.Is(err, ErrNotPalm) {
				t.Fatalf("got %v, want ErrNotPalm", err)
			}
		})
	}
}

func TestExtractAnySizeAndColour(t *testing.T) {
	ex := mustExtractor(t)
	g := synthPalm(4, 3, 0, 1)
	ref := mustExtract(t, ex, g)
	rgba := image.NewRGBA(g.Bounds())
	for y := 0; y < 128; y++ {
		for x := 0; x < 128; x++ {
			v := g.GrayAt(x, y).Y
			rgba.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	big := image.NewGray(image.Rect(10, 20, 10+256, 20+256)) // offset bounds, 2x size
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			big.SetGray(10+x, 20+y, g.GrayAt(x/2, y/2))
		}
	}
	for name, img := range map[string]image.Image{"rgba": rgba, "big-offset": big} {
		t.Run(name, func(t *testing.T) {
			s := Compare(ref, mustExtract(t, ex, img))
			if s < 0.6 {
				t.Fatalf("score %v against the gray original", s)
			}
		})
	}
}

func TestCompareSeparatesPalms(t *testing.T) {
	ex := mustExtractor(t)
	a1 := mustExtract(t, ex, synthPalm(10, 8, 0, 1))
	a2 := mustExtract(t, ex, synthPalm(10, 8, 5, 2)) // same palm, shifted 5 px, new noise
	b := mustExtract(t, ex, synthPalm(11, 8, 0, 1))
	same, diff := Compare(a1, a2), Compare(a1, b)
	if same <= DefaultThreshold || diff >= DefaultThreshold {
		t.Fatalf("same-palm %v, different-palm %v, threshold %v", same, diff, DefaultThreshold)
	}
	if s := Compare(a1, a1); s != 1 {
		t.Fatalf("self score %v", s)
	}
	if d := Compare(a1, a2) - Compare(a2, a1); d > 1e-9 || d < -1e-9 {
		t.Fatalf("asymmetric by %v", d)
	}
	if s := Compare(nil, a1); s != 0 {
		t.Fatalf("nil score %v", s)
	}
}
