package sim

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"github.com/palmtill/palmtill/scanner"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"tiny", func(c *Config) { c.Width = 10 }, false},
		{"band", func(c *Config) { c.Band = 7 }, false},
		{"variation", func(c *Config) { c.Variation = -1 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

func TestDriverLifecycle(t *testing.T) {
	ctx := context.Background()
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrNotOpen) {
		t.Fatalf("Capture before Open = %v", err)
	}
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := d.Capture(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := f.Image.Bounds(); b.Dx() != 640 || b.Dy() != 480 || f.Seq != 1 || f.Timestamp.IsZero() {
		t.Fatalf("frame %v seq %d", b, f.Seq)
	}
	d.Disconnect()
	if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrDisconnected) {
		t.Fatalf("Capture after Disconnect = %v", err)
	}
	if err := d.Open(ctx); !errors.Is(err, scanner.ErrNoDevice) {
		t.Fatalf("Open while disconnected = %v", err)
	}
	d.Reconnect()
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := d.Capture(ctx); !errors.Is(err, scanner.ErrNotOpen) {
		t.Fatalf("Capture after Close = %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	a, b := RenderHand(42, 3, cfg), RenderHand(42, 3, cfg)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same identity and capture rendered differently")
	}
	if c := RenderHand(42, 4, cfg); bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("two captures rendered identically")
	}
	cfg.Seed = 99
	if c := RenderHand(42, 3, cfg); bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("capture seed has no effect")
	}
	r1, r2 := RenderROI(42, 1, 64), RenderROI(42, 1, 64)
	if !bytes.Equal(r1.Pix, r2.Pix) || r1.Rect.Dx() != 64 {
		t.Fatal("RenderROI not deterministic or wrong size")
	}
}

// TestPipelineOnSim checks that the pipeline finds the palm in nearly every
// simulated capture, in both bands, and that an empty scene and a withdrawn
// hand give "no hand".
func TestPipelineOnSim(t *testing.T) {
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, band := range []scanner.Band{scanner.BandVisible, scanner.BandNIR} {
		t.Run(band.String(), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Band = band
			fails, n := 0, 0
			ids := uint64(15)
			if raceEnabled {
				ids = 4
			}
			for id := uint64(1); id <= ids; id++ {
				for c := 0; c < 3; c++ {
					n++
					res, err := p.Process(scanner.Frame{Image: RenderHand(id, c, cfg)})
					if err != nil {
						fails++
						t.Logf("identity %d capture %d: %v", id, c, err)
						continue
					}
					if res.ROI == nil || res.Quality <= 0 {
						t.Errorf("identity %d capture %d: ROI %v quality %.2f", id, c, res.ROI != nil, res.Quality)
					}
				}
			}
			if fails > n/20 {
				t.Errorf("%d of %d captures failed", fails, n)
			}
		})
	}
	ctx := context.Background()
	d, _ := New(DefaultConfig())
	d.Open(ctx)
	defer d.Close()
	d.Present(5)
	d.Withdraw()
	res, err := p.Capture(ctx, d, 2)
	if !errors.Is(err, scanner.ErrNoPalm) || res.Guidance != scanner.GuidanceNoHand {
		t.Fatalf("withdrawn hand: err %v guidance %q", err, res.Guidance)
	}
}

// TestGuidance checks the pipeline's advice on simulated captures that are
// too far, too close, blurred, or empty.
func TestGuidance(t *testing.T) {
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []scanner.Guidance
	}{
		{"normal", func(*Config) {}, []scanner.Guidance{scanner.GuidanceOK}},
		{"far", func(c *Config) { c.Scale = 0.4 }, []scanner.Guidance{scanner.GuidanceMoveCloser}},
		{"close", func(c *Config) { c.Scale = 3.5 }, []scanner.Guidance{scanner.GuidanceMoveAway, scanner.GuidanceCentre}},
		{"blurred", func(c *Config) { c.Blur = 6 }, []scanner.Guidance{scanner.GuidanceHoldStill}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			hits := 0
			n := 6
			if raceEnabled {
				n = 3
			}
			var got []scanner.Guidance
			for c := 0; c < n; c++ {
				res, _ := p.Process(scanner.Frame{Image: RenderHand(77, c, cfg)})
				got = append(got, res.Guidance)
				for _, w := range tc.want {
					if res.Guidance == w {
						hits++
						break
					}
				}
			}
			if hits < n-n/3 {
				t.Errorf("guidance %q, want mostly %q", got, tc.want)
			}
		})
	}
}

// TestPresentationAttack checks that a printed photo over the scanner still
// yields a palm (liveness is a later stage's job) and that, in the NIR
// band, it lacks the vein pattern a live hand shows: the ROI's coarse
// structure (8-pixel blocks) varies less.
func TestPresentationAttack(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Band = scanner.BandNIR
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.Open(ctx)
	defer d.Close()
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	var live, photo float64
	people := 6
	if raceEnabled {
		people = 2
	}
	for id := uint64(1); id <= uint64(people); id++ {
		d.Present(id)
		rl, err := p.Capture(ctx, d, 5)
		if err != nil {
			t.Fatalf("live %d: %v", id, err)
		}
		d.PresentPhoto(id)
		rp, err := p.Capture(ctx, d, 5)
		if err != nil {
			t.Fatalf("photo %d: %v", id, err)
		}
		live += coarseVar(rl.ROI)
		photo += coarseVar(rp.ROI)
	}
	t.Logf("coarse variance: live %.1f, photo %.1f", live/float64(people), photo/float64(people))
	if photo >= live {
		t.Errorf("photo's coarse structure (%.1f) not weaker than a live hand's (%.1f)", photo/float64(people), live/float64(people))
	}
}

// coarseVar is the variance of 8×8 block means after removing each block
// row's and column's trend (illumination), i.e. vein-sized structure.
func coarseVar(g *image.Gray) float64 {
	const b = 8
	n := g.Rect.Dx() / b
	m := make([]float64, n*n)
	for by := 0; by < n; by++ {
		for bx := 0; bx < n; bx++ {
			var s float64
			for y := 0; y < b; y++ {
				for x := 0; x < b; x++ {
					s += float64(g.Pix[(by*b+y)*g.Stride+bx*b+x])
				}
			}
			m[by*n+bx] = s / (b * b)
		}
	}
	var v float64
	for by := 1; by < n-1; by++ {
		for bx := 1; bx < n-1; bx++ {
			l := 4*m[by*n+bx] - m[by*n+bx-1] - m[by*n+bx+1] - m[(by-1)*n+bx] - m[(by+1)*n+bx]
			v += l * l
		}
	}
	return v / float64((n-2)*(n-2))
}

// TestDriverConcurrent captures from several goroutines at once (small
// frames), for the race detector.
func TestDriverConcurrent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Width, cfg.Height = 96, 72
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d.Open(ctx)
	defer d.Close()
	done := make(chan error)
	for g := 0; g < 3; g++ {
		go func(g int) {
			var err error
			for i := 0; i < 4 && err == nil; i++ {
				if i%2 == 0 {
					d.Present(uint64(g))
				} else {
					d.Withdraw()
				}
				_, err = d.Capture(ctx)
			}
			done <- err
		}(g)
	}
	for g := 0; g < 3; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
