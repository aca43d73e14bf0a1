package scanner

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// dataDir returns the shared real-palm data directory or skips the test.
func dataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PALMTILL_DATA"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Join(filepath.Dir(file), "..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("real palm data not found at %s (set PALMTILL_DATA): %v", d, err)
	}
	return d
}

func loadImage(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// enforceRealTargets makes TestRealHandsROI fail above 1% failures to
// extract (the target).
const enforceRealTargets = true

// TestRealHandsROI runs the pipeline over every whole-hand image in the
// shared data and checks that ROI extraction fails on at most 1% of them.
// Set PALMTILL_DUMP=dir to write the ROIs for inspection.
func TestRealHandsROI(t *testing.T) {
	root := dataDir(t)
	dump := os.Getenv("PALMTILL_DUMP")
	p, err := NewPipeline(DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"polyu-nir-hand-dev", "tongji-hand-samples"} {
		t.Run(set, func(t *testing.T) {
			var paths []string
			filepath.WalkDir(filepath.Join(root, set), func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".png")) {
					paths = append(paths, path)
				}
				return nil
			})
			if len(paths) == 0 {
				t.Skipf("no images in %s", set)
			}
			// Every image with PALMTILL_FULL=1; every 4th otherwise (every
			// 16th under -race or -short) to keep the suite quick.
			if os.Getenv("PALMTILL_FULL") == "" && dump == "" {
				step := 4
				if raceEnabled || testing.Short() {
					step = 16
				}
				var sub []string
				for i := 0; i < len(paths); i += step {
					sub = append(sub, paths[i])
				}
				paths = sub
			}
			fails := 0
			var sharp []float64
			for _, path := range paths {
				res, err := p.Process(Frame{Image: loadImage(t, path)})
				if err != nil {
					if !errors.Is(err, ErrNoPalm) {
						t.Errorf("%s: error %v does not wrap ErrNoPalm", path, err)
					}
					fails++
					if testing.Verbose() {
						t.Logf("%s: %v (%s)", path, err, res.Guidance)
					}
					continue
				}
				sharp = append(sharp, res.Scores.Sharpness)
				if dump != "" {
					rel, _ := filepath.Rel(root, path)
					out := filepath.Join(dump, strings.TrimSuffix(rel, filepath.Ext(rel))+".png")
					os.MkdirAll(filepath.Dir(out), 0o755)
					if f, err := os.Create(out); err == nil {
						png.Encode(f, res.ROI)
						f.Close()
					}
				}
			}
			sort.Float64s(sharp)
			if len(sharp) > 0 {
				t.Logf("%s: ROI sharpness min %.2f p5 %.2f median %.2f", set, sharp[0], sharp[len(sharp)/20], sharp[len(sharp)/2])
			}
			rate := float64(fails) / float64(len(paths))
			t.Logf("%s: %d/%d failures to extract (%.2f%%)", set, fails, len(paths), 100*rate)
			if rate > 0.01 && enforceRealTargets {
				t.Errorf("failure to extract %.2f%% > 1%%", 100*rate)
			}
			_ = fmt.Sprint()
		})
	}
}
