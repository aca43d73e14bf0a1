// Command palmsim writes a synthetic palm data set in the layout of the
// shared real data (DIR/gallery/<palm>/<n>.png, DIR/probe/<palm>/<n>.png),
// rendered by the scanner/sim simulator: ROIs cut out by the capture
// pipeline (--roi) or whole-hand frames (--hand).
//
//	go run ./cmd/palmsim --palms 300 --samples 10 --seed 1 --out /tmp/sim --roi
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/palmtill/palmtill/scanner"
	"github.com/palmtill/palmtill/scanner/sim"
)

func main() {
	var (
		palms   = flag.Int("palms", 100, "number of simulated palms")
		samples = flag.Int("samples", 10, "captures per palm on each side (gallery and probe)")
		seed    = flag.Int64("seed", 1, "picks the identities (and, with --hand, the capture variation)")
		out     = flag.String("out", "", "output folder (required)")
		roi     = flag.Bool("roi", false, "write ROIs cut out by the capture pipeline")
		hand    = flag.Bool("hand", false, "write whole-hand frames")
		size    = flag.Int("size", 128, "ROI side in pixels (--roi)")
		nir     = flag.Bool("nir", false, "near-infrared band (--hand)")
		workers = flag.Int("workers", runtime.GOMAXPROCS(0), "parallel renderers")
	)
	flag.Parse()
	if err := run(*palms, *samples, *seed, *out, *roi, *hand, *size, *nir, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "palmsim:", err)
		os.Exit(1)
	}
}

// Identity returns the simulator identity of palm i of a data set made with
// seed (SplitMix64 of both), so different seeds give disjoint people.
func Identity(seed int64, i int) uint64 {
	z := uint64(seed)*0x9e3779b97f4a7c15 + uint64(i) + 1
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func run(palms, samples int, seed int64, out string, roi, hand bool, size int, nir bool, workers int) error {
	switch {
	case out == "":
		return fmt.Errorf("--out is required")
	case roi == hand:
		return fmt.Errorf("give exactly one of --roi and --hand")
	case palms < 1 || samples < 1:
		return fmt.Errorf("--palms and --samples must be positive")
	case workers < 1:
		workers = 1
	}
	cfg := sim.DefaultConfig()
	cfg.Seed = seed
	if nir {
		cfg.Band = scanner.BandNIR
	}
	type job struct{ palm, sample int }
	jobs := make(chan job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				id := Identity(seed, j.palm)
				var img image.Image
				if roi {
					img = sim.RenderROI(id, j.sample, size)
				} else {
					img = sim.RenderHand(id, j.sample, cfg)
				}
				side := "gallery"
				n := j.sample
				if n >= samples {
					side, n = "probe", n-samples
				}
				path := filepath.Join(out, side, fmt.Sprintf("s%04d", j.palm), fmt.Sprintf("%02d.png", n+1))
				if err := writePNG(path, img); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	var ferr error
feed:
	for p := 0; p < palms; p++ {
		for s := 0; s < 2*samples; s++ {
			select {
			case jobs <- job{p, s}:
			case ferr = <-errs:
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errs:
		default:
		}
	}
	if ferr != nil {
		return ferr
	}
	slog.Info("palmsim: wrote data set", "out", out, "palms", palms, "samples", samples, "roi", roi)
	return nil
}

func writePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
