package matchcore

import (
	"fmt"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestTongjiSmoke enrols 20 real palms of tongji-dev (session 1) and
// identifies one session-2 capture of each. It skips when ../shared/data is
// absent. It uses the extractor without pose variants to stay fast under
// -race; palmeval measures the full configuration.
func TestTongjiSmoke(t *testing.T) {
	d := filepath.Join(dataDir(t), "tongji-dev")
	cfg := DefaultExtractorConfig()
	cfg.PoseRotations, cfg.PoseScales = nil, nil
	ex, err := NewExtractor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	load := func(side string, palm int, file string) *Template {
		f, err := os.Open(filepath.Join(d, side, fmt.Sprintf("t%03d", palm), file))
		if err != nil {
			t.Skipf("tongji-dev incomplete: %v", err)
		}
		defer f.Close()
		img, _, err := image.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return mustExtract(t, ex, img)
	}
	g, _ := NewGallery(DefaultGalleryConfig())
	const palms = 20
	for p := 0; p < palms; p++ {
		if err := g.Add(fmt.Sprint(p), load("gallery", p, "01.png"), load("gallery", p, "02.png")); err != nil {
			t.Fatal(err)
		}
	}
	hits := 0
	for p := 0; p < palms; p++ {
		m, ok := g.Identify(load("probe", p, "01.png"))
		switch {
		case m.ID == fmt.Sprint(p):
			hits++
		case ok:
			t.Errorf("palm %d falsely matched %s (%.3f)", p, m.ID, m.Score)
		}
	}
	if hits < palms-1 {
		t.Fatalf("rank-1 correct for %d of %d palms", hits, palms)
	}
}
