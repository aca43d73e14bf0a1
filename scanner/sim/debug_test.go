// Development aids for tuning the simulator: each test skips unless its
// environment variable is set, and writes images to the temporary directory.

package sim

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/palmtill/palmtill/scanner"
)

func TestDebugScores(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUG") == "" {
		t.Skip()
	}
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	for id := uint64(1000); id < 1040; id++ {
		for c := 0; c < 4; c++ {
			res, err := p.Process(scanner.Frame{Image: RenderHand(id, c, DefaultConfig())})
			t.Logf("id %d c %d q=%.2f %+v %v %v", id, c, res.Quality, res.Scores, res.Guidance, err)
		}
	}
}

func TestDebugWrite(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUG") == "" {
		t.Skip()
	}
	for _, ic := range [][2]int{{1004, 1}, {1011, 2}, {1005, 3}} {
		img := RenderHand(uint64(ic[0]), ic[1], DefaultConfig())
		f, _ := os.Create(dbgPath(fmt.Sprintf("f_%d_%d.png", ic[0], ic[1])))
		png.Encode(f, img)
		f.Close()
	}
}

func TestDebugROIs(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUG") == "" {
		t.Skip()
	}
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	for _, id := range []uint64{1000, 1001} {
		for c := 0; c < 4; c++ {
			img := RenderHand(id, c, DefaultConfig())
			res, err := p.Process(scanner.Frame{Image: img})
			t.Logf("id %d c %d valleys %v q %.2f err %v", id, c, res.Valleys, res.Quality, err)
			f, _ := os.Create(dbgPath(fmt.Sprintf("h_%d_%d.png", id, c)))
			png.Encode(f, img)
			f.Close()
			if res.ROI != nil {
				f, _ = os.Create(dbgPath(fmt.Sprintf("r_%d_%d.png", id, c)))
				png.Encode(f, res.ROI)
				f.Close()
			}
		}
	}
}

func TestDebugPalm(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUGPALM") == "" {
		t.Skip()
	}
	var pid uint64
	cOff := 0
	fmt.Sscan(os.Getenv("PALMTILL_DEBUGPALM"), &pid)
	id := pid*7919 + 123457
	if s := os.Getenv("PALMTILL_DEBUGID"); s != "" {
		fmt.Sscan(s, &id)
	}
	if s := os.Getenv("PALMTILL_DEBUGC"); s != "" {
		fmt.Sscan(s, &cOff)
	}
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	for c := cOff; c < cOff+8; c++ {
		img := RenderHand(id, c, DefaultConfig())
		res, err := p.Process(scanner.Frame{Image: img})
		t.Logf("c %d valleys %v q %.2f err %v", c, res.Valleys, res.Quality, err)
		f, _ := os.Create(dbgPath(fmt.Sprintf("dp_h%d.png", c-cOff)))
		png.Encode(f, img)
		f.Close()
		f, _ = os.Create(dbgPath(fmt.Sprintf("dp_r%d.png", c-cOff)))
		png.Encode(f, RenderROI(id, c, 128))
		f.Close()
	}
}

func TestDebugSharpness(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUG") == "" {
		t.Skip()
	}
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	for _, blur := range []float64{0, 1, 2, 4} {
		cfg := DefaultConfig()
		cfg.Blur = blur
		var s []float64
		for id := uint64(1); id < 30; id++ {
			res, err := p.Process(scanner.Frame{Image: RenderHand(id, 0, cfg)})
			if err == nil {
				s = append(s, res.Scores.Sharpness)
			}
		}
		t.Logf("blur %.0f: %s", blur, summary(s))
	}
}

func TestDebugNIR(t *testing.T) {
	if os.Getenv("PALMTILL_DEBUG") == "" {
		t.Skip()
	}
	cfg := DefaultConfig()
	cfg.Band = scanner.BandNIR
	p, _ := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	for i, img := range []*image.Gray{RenderHand(5, 0, cfg), renderPhoto(5, 0, cfg), RenderHand(5, 0, DefaultConfig()), renderPhoto(5, 0, DefaultConfig())} {
		f, _ := os.Create(dbgPath(fmt.Sprintf("nir%d.png", i)))
		png.Encode(f, img)
		f.Close()
		res, _ := p.Process(scanner.Frame{Image: img})
		if res.ROI != nil {
			f, _ := os.Create(dbgPath(fmt.Sprintf("nirr%d.png", i)))
			png.Encode(f, res.ROI)
			f.Close()
		}
	}
}

// dbgPath names a debug output file in the temporary directory.
func dbgPath(name string) string { return filepath.Join(os.TempDir(), "palmsim-debug-"+name) }
