package node

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"strings"
	"sync"
	"time"

	"github.com/palmtill/palmtill/scanner"
	"github.com/palmtill/palmtill/scanner/dir"
	"github.com/palmtill/palmtill/scanner/sim"
)

// presenter is the optional capability of a simulated scanner: choosing whose hand is over it.
type presenter interface {
	Present(identity uint64)
	Withdraw()
}

// capturer owns the kiosk's one scanner. A scanner sees one hand at a time, so captures are
// serialised.
type capturer struct {
	mu     sync.Mutex
	drv    scanner.Driver
	pipe   *scanner.Pipeline
	frames int
}

// ErrNotSimulated is returned when a request names a simulated identity but the kiosk's scanner
// is a real device.
var ErrNotSimulated = errors.New("this kiosk's scanner is not simulated: sim_identity is not accepted")

func newCapturer(cfg Config) (*capturer, error) {
	var drv scanner.Driver
	switch {
	case cfg.Scanner == "sim":
		scfg := sim.DefaultConfig()
		scfg.Seed = int64(hashString(cfg.StoreID + "/" + cfg.HTTPAddr))
		d, err := sim.New(scfg)
		if err != nil {
			return nil, fmt.Errorf("sim scanner: %w", err)
		}
		drv = d
	case strings.HasPrefix(cfg.Scanner, "dir:"):
		d, err := dir.New(dir.Config{Dir: strings.TrimPrefix(cfg.Scanner, "dir:"), Loop: true})
		if err != nil {
			return nil, fmt.Errorf("dir scanner: %w", err)
		}
		drv = d
	default:
		return nil, fmt.Errorf("%w: unknown scanner %q", ErrConfig, cfg.Scanner)
	}
	pipe, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		return nil, fmt.Errorf("capture pipeline: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := drv.Open(ctx); err != nil {
		return nil, fmt.Errorf("open scanner: %w", err)
	}
	return &capturer{drv: drv, pipe: pipe, frames: cfg.CaptureFrames}, nil
}

// capture takes n palm ROIs in a row from the scanner. When sim is non-nil the simulated
// scanner first shows that identity's hand.
func (c *capturer) capture(ctx context.Context, sim *uint64, n int) ([]image.Image, []scanner.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, isSim := c.drv.(presenter)
	if sim != nil {
		if !isSim {
			return nil, nil, ErrNotSimulated
		}
		p.Present(*sim)
		defer p.Withdraw()
	}
	rois := make([]image.Image, 0, n)
	results := make([]scanner.Result, 0, n)
	for i := 0; i < n; i++ {
		res, err := c.pipe.Capture(ctx, c.drv, c.frames)
		if err != nil {
			return nil, nil, err
		}
		rois = append(rois, res.ROI)
		results = append(results, res)
	}
	return rois, results, nil
}

func (c *capturer) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drv.Close()
}

// hashString gives each kiosk's simulator its own capture variation.
func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
