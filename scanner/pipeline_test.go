package scanner

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestPipelineConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*PipelineConfig)
		ok   bool
	}{
		{"default", func(*PipelineConfig) {}, true},
		{"tiny roi", func(c *PipelineConfig) { c.ROISize = 4 }, false},
		{"palm bounds swapped", func(c *PipelineConfig) { c.MinPalm, c.MaxPalm = 0.5, 0.2 }, false},
		{"focus bounds swapped", func(c *PipelineConfig) { c.FocusLow, c.FocusHigh = 3, 1 }, false},
		{"quality swapped", func(c *PipelineConfig) { c.MinQuality, c.GoodQuality = 0.8, 0.5 }, false},
		{"zero scale", func(c *PipelineConfig) { c.ROIScale = 0 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultPipelineConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if _, err := NewPipeline(c); (err == nil) != tc.ok {
				t.Fatalf("NewPipeline = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// drawHand paints a crude open hand (palm disc, four finger bars, a thumb)
// on a dark background, rotated by ang around the frame centre.
func drawHand(w, h int, ang float64) *image.Gray { return drawHandAt(w, h, ang, 0) }

// drawHandAt is drawHand shifted right by dx pixels.
func drawHandAt(w, h int, ang, dx float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy := float64(w)/2+dx, float64(h)*0.62
	s := float64(h) / 480
	c, sn := math.Cos(ang), math.Sin(ang)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			u, v := (c*dx+sn*dy)/s, (-sn*dx+c*dy)/s // hand coordinates
			in := u*u/(110*110)+v*v/(120*120) <= 1 || (v > 0 && math.Abs(u) < 90)
			for i := 0; i < 4; i++ {
				fx := -82 + 55*float64(i)
				if math.Abs(u-fx) < 21 && v < -60 && v > -260+20*math.Abs(float64(i)-1.5) {
					in = true
				}
			}
			if u < -60 && u > -190 && v > -20 && v < 40 && (u+60)*(u+60)/(130*130)+(v-10)*(v-10)/(30*30) < 1 {
				in = true
			}
			val := 20 + (x*7+y*13)%5
			if in {
				val = 130 + int(uint32(x*2654435761^y*40503)>>27)*2 // textured skin
			}
			img.Pix[y*img.Stride+x] = uint8(val)
		}
	}
	return img
}

func TestProcessSynthetic(t *testing.T) {
	p, err := NewPipeline(DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, ang := range []float64{0, 0.3, -0.3} {
		res, err := p.Process(Frame{Image: drawHand(640, 480, ang)})
		if err != nil {
			t.Fatalf("angle %.1f: %v (guidance %q)", ang, err, res.Guidance)
		}
		if res.ROI == nil || res.ROI.Rect.Dx() != 128 || res.ROI.Rect.Dy() != 128 {
			t.Fatalf("angle %.1f: bad ROI %v", ang, res.ROI)
		}
		// The valley line must follow the hand's rotation.
		d := res.Valleys[1].Sub(res.Valleys[0])
		got := math.Atan2(float64(d.Y), float64(d.X))
		if got > math.Pi/2 {
			got -= math.Pi
		} else if got < -math.Pi/2 {
			got += math.Pi
		}
		if math.Abs(got-ang) > 0.15 {
			t.Errorf("angle %.2f: valley line at %.2f", ang, got)
		}
	}
}

func TestProcessNoPalm(t *testing.T) {
	p, _ := NewPipeline(DefaultPipelineConfig())
	uniform := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range uniform.Pix {
		uniform.Pix[i] = 30
	}
	blob := image.NewGray(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			if (x-320)*(x-320)+(y-240)*(y-240) < 150*150 {
				blob.Pix[y*640+x] = 160
			}
		}
	}
	tests := []struct {
		name string
		img  image.Image
		want Guidance
	}{
		{"nil image", nil, GuidanceNoHand},
		{"empty image", image.NewGray(image.Rect(0, 0, 0, 0)), GuidanceNoHand},
		{"tiny", image.NewGray(image.Rect(0, 0, 3, 3)), GuidanceNoHand},
		{"uniform", uniform, GuidanceNoHand},
		{"fist", blob, GuidanceSpreadFingers},
		{"odd bounds", image.NewRGBA(image.Rect(-5, 7, 60, 90)), GuidanceNoHand},
		{"paletted", image.NewPaletted(image.Rect(0, 0, 50, 50), color.Palette{color.Black}), GuidanceNoHand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Process(Frame{Image: tc.img})
			if !errors.Is(err, ErrNoPalm) {
				t.Fatalf("err = %v, want ErrNoPalm", err)
			}
			if res.Guidance != tc.want || res.ROI != nil {
				t.Fatalf("guidance %q ROI %v, want %q and nil", res.Guidance, res.ROI != nil, tc.want)
			}
		})
	}
}

// fakeDriver returns a fixed sequence of frames.
type fakeDriver struct {
	frames []image.Image
	n      int
	err    error
}

func (d *fakeDriver) Open(context.Context) error { return nil }
func (d *fakeDriver) Close() error               { return nil }
func (d *fakeDriver) Capture(ctx context.Context) (Frame, error) {
	if d.err != nil {
		return Frame{}, d.err
	}
	img := d.frames[d.n%len(d.frames)]
	d.n++
	return Frame{Image: img, Seq: uint64(d.n)}, nil
}

func TestCapture(t *testing.T) {
	p, _ := NewPipeline(DefaultPipelineConfig())
	ctx := context.Background()
	empty := image.NewGray(image.Rect(0, 0, 640, 480))
	hand := drawHand(640, 480, 0.1)

	t.Run("finds the hand after empty frames", func(t *testing.T) {
		d := &fakeDriver{frames: []image.Image{empty, empty, hand}}
		res, err := p.Capture(ctx, d, 5)
		if err != nil {
			t.Fatalf("Capture: %v", err)
		}
		if res.ROI == nil || res.Frame.Seq != 3 {
			t.Fatalf("got frame %d, ROI %v", res.Frame.Seq, res.ROI != nil)
		}
	})
	t.Run("no hand", func(t *testing.T) {
		d := &fakeDriver{frames: []image.Image{empty}}
		res, err := p.Capture(ctx, d, 3)
		if !errors.Is(err, ErrNoPalm) || res.Guidance != GuidanceNoHand || d.n != 3 {
			t.Fatalf("err %v guidance %q frames %d", err, res.Guidance, d.n)
		}
	})
	t.Run("driver error passes through", func(t *testing.T) {
		d := &fakeDriver{err: ErrDisconnected}
		if _, err := p.Capture(ctx, d, 3); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		d := &fakeDriver{frames: []image.Image{hand}}
		if _, err := p.Capture(cctx, d, 3); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

// FuzzProcess feeds arbitrary gray images to the pipeline: it must never
// panic, and must return either an ROI or an ErrNoPalm error.
func FuzzProcess(f *testing.F) {
	f.Add(uint16(64), uint16(48), []byte{0, 255, 0, 255})
	f.Add(uint16(320), uint16(240), []byte{10, 200, 200, 10, 200, 10})
	f.Add(uint16(17), uint16(300), []byte{1})
	p, _ := NewPipeline(DefaultPipelineConfig())
	f.Fuzz(func(t *testing.T, w, h uint16, pattern []byte) {
		W, H := int(w%700), int(h%700)
		img := image.NewGray(image.Rect(0, 0, W, H))
		if len(pattern) > 0 {
			for i := range img.Pix {
				img.Pix[i] = pattern[(i/max(1, W/7+1))%len(pattern)]
			}
		}
		res, err := p.Process(Frame{Image: img})
		if err != nil && !errors.Is(err, ErrNoPalm) {
			t.Fatalf("err %v", err)
		}
		if err == nil && res.ROI == nil {
			t.Fatal("nil ROI without error")
		}
	})
}

// TestCaptureMotion checks that a hand jumping between frames lowers the
// quality of the later frame, without making a sharp frame unusable.
func TestCaptureMotion(t *testing.T) {
	p, _ := NewPipeline(DefaultPipelineConfig())
	a, b := drawHand(640, 480, 0), drawHandAt(640, 480, 0, 60)
	still, _, err := p.process(Frame{Image: a}, track{})
	if err != nil {
		t.Fatal(err)
	}
	_, prev, _ := p.process(Frame{Image: b}, track{})
	moved, _, err := p.process(Frame{Image: a}, prev)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Scores.Motion >= 1 || moved.Quality >= still.Quality {
		t.Fatalf("motion %.2f, quality %.2f after a jump vs %.2f still", moved.Scores.Motion, moved.Quality, still.Quality)
	}
	if moved.Quality < p.cfg.MinQuality {
		t.Fatalf("a sharp frame of a moving hand was made unusable: %.2f", moved.Quality)
	}
}
