package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		roi, hand bool
		wantSide  int // width of the written images
	}{
		{"roi", true, false, 64},
		{"hand", false, true, 640},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if err := run(2, 2, 5, out, tc.roi, tc.hand, 64, false, 2); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{"gallery", "probe"} {
				for _, palm := range []string{"s0000", "s0001"} {
					for _, f := range []string{"01.png", "02.png"} {
						p := filepath.Join(out, side, palm, f)
						fh, err := os.Open(p)
						if err != nil {
							t.Fatal(err)
						}
						img, err := decodePNG(fh)
						fh.Close()
						if err != nil || img.Bounds().Dx() != tc.wantSide {
							t.Fatalf("%s: %v, width %d", p, err, img.Bounds().Dx())
						}
					}
				}
			}
		})
	}
	for _, bad := range []struct {
		name      string
		roi, hand bool
		out       string
	}{
		{"neither", false, false, t.TempDir()},
		{"both", true, true, t.TempDir()},
		{"no out", true, false, ""},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if err := run(1, 1, 1, bad.out, bad.roi, bad.hand, 64, false, 1); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestIdentityDistinct(t *testing.T) {
	seen := map[uint64]bool{}
	for s := int64(0); s < 3; s++ {
		for i := 0; i < 100; i++ {
			id := Identity(s, i)
			if seen[id] {
				t.Fatalf("identity collision at seed %d palm %d", s, i)
			}
			seen[id] = true
		}
	}
}

func decodePNG(f *os.File) (image.Image, error) { return png.Decode(f) }
