package sim

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/palmtill/palmtill/scanner"
)

// TestDump writes sample frames and ROIs to $PALMTILL_SIMDUMP for eyeballing.
func TestDump(t *testing.T) {
	dir := os.Getenv("PALMTILL_SIMDUMP")
	if dir == "" {
		t.Skip("set PALMTILL_SIMDUMP=dir to write sample frames")
	}
	os.MkdirAll(dir, 0o755)
	for id := uint64(1); id <= 3; id++ {
		for c := 0; c < 3; c++ {
			for _, band := range []int{0, 1} {
				cfg := DefaultConfig()
				cfg.Band = bandOf(band)
				img := RenderHand(id, c, cfg)
				f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("hand_%d_%d_b%d.png", id, c, band)))
				png.Encode(f, img)
				f.Close()
			}
			roi := RenderROI(id, c, 128)
			f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("roi_%d_%d.png", id, c)))
			png.Encode(f, roi)
			f.Close()
		}
	}
}

func bandOf(i int) scanner.Band { return scanner.Band(i) }
