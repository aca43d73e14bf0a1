// Package sim is a synthetic palm scanner: a scanner.Driver that renders
// whole-hand camera frames of simulated people.
//
// Every identity (a uint64 seed) has its own hand and palm shape, three or
// four principal lines and five to fifteen wrinkles drawn as Bézier curves
// placed relative to the palm (after BezierPalm, Zhao et al., ECCV 2022), a
// mesh of fine creases, skin albedo and, in the near-infrared band, a vein
// pattern. Every capture varies pose (translation, rotation, distance,
// tilt, finger spread), skin deformation, illumination, blur, sensor noise
// and partial occlusion. Rendering is deterministic for (identity, capture
// index, Config).
package sim

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/palmtill/palmtill/scanner"
)

// Config describes the simulated camera.
type Config struct {
	// Width and Height are the frame size in pixels.
	Width, Height int
	// Band is the spectral band; BandNIR shows veins.
	Band scanner.Band
	// Seed varies the captures (not the identities): two drivers with
	// different seeds capture the same person differently.
	Seed int64
	// Variation scales all capture-to-capture variation; 1 is the
	// calibrated default, 0 renders every capture alike.
	Variation float64
	// FrameInterval is how long Capture waits per frame (0: no wait), as a
	// camera's frame rate would.
	FrameInterval time.Duration
	// Scale multiplies the hand's size in the frame (how close it is held);
	// 0 means 1. Small values make the pipeline say "move closer".
	Scale float64
	// Blur adds defocus blur (Gaussian sigma, pixels) to every capture.
	Blur float64
}

// DefaultConfig returns a 640×480 visible-band camera with calibrated
// capture variation.
func DefaultConfig() Config {
	return Config{Width: 640, Height: 480, Band: scanner.BandVisible, Seed: 1, Variation: 1}
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	switch {
	case c.Width < 64 || c.Height < 64 || c.Width > 4096 || c.Height > 4096:
		return fmt.Errorf("sim: frame %dx%d outside [64,4096]", c.Width, c.Height)
	case c.Band != scanner.BandVisible && c.Band != scanner.BandNIR:
		return fmt.Errorf("sim: unknown band %d", c.Band)
	case c.Variation < 0 || c.Variation > 3:
		return fmt.Errorf("sim: Variation %v outside [0,3]", c.Variation)
	case c.FrameInterval < 0:
		return errors.New("sim: negative FrameInterval")
	case c.Scale < 0 || c.Scale > 4:
		return fmt.Errorf("sim: Scale %v outside [0,4]", c.Scale)
	case c.Blur < 0 || c.Blur > 20:
		return fmt.Errorf("sim: Blur %v outside [0,20]", c.Blur)
	}
	return nil
}

// scene is what is over the scanner.
type scene int

const (
	sceneEmpty scene = iota
	sceneHand
	scenePhoto
)

// Driver is a simulated scanner. It is safe for concurrent use.
type Driver struct {
	cfg Config

	mu           sync.Mutex
	open         bool
	disconnected bool
	seq          uint64
	scene        scene
	identity     uint64
	captures     map[uint64]int // next capture index per identity
	empty        int
}

// New returns a closed simulated scanner.
func New(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Driver{cfg: cfg, captures: make(map[uint64]int)}, nil
}

// Open connects the simulated device; it fails with scanner.ErrNoDevice
// after Disconnect until Reconnect.
func (d *Driver) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disconnected {
		return fmt.Errorf("sim: open: %w", scanner.ErrNoDevice)
	}
	d.open = true
	return nil
}

// Close closes the device; Capture then returns scanner.ErrNotOpen.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.open = false
	d.mu.Unlock()
	return nil
}

// Present puts the hand of the given simulated person over the scanner.
// Each subsequent Capture renders a new capture of that hand; the capture
// index counts per identity over the driver's life, so a person presenting
// again is captured differently again.
func (d *Driver) Present(identity uint64) {
	d.mu.Lock()
	d.scene, d.identity = sceneHand, identity
	d.mu.Unlock()
}

// PresentPhoto puts a printed photo of the person's hand over the scanner (a
// presentation attack): flat, paper texture, no veins in the NIR band.
func (d *Driver) PresentPhoto(identity uint64) {
	d.mu.Lock()
	d.scene, d.identity = scenePhoto, identity
	d.mu.Unlock()
}

// Withdraw removes the hand: Capture returns an empty scene.
func (d *Driver) Withdraw() {
	d.mu.Lock()
	d.scene = sceneEmpty
	d.mu.Unlock()
}

// Disconnect simulates unplugging the camera: Capture returns
// scanner.ErrDisconnected and Open scanner.ErrNoDevice until Reconnect.
func (d *Driver) Disconnect() {
	d.mu.Lock()
	d.disconnected = true
	d.mu.Unlock()
}

// Reconnect undoes Disconnect; the driver must be opened again.
func (d *Driver) Reconnect() {
	d.mu.Lock()
	d.disconnected, d.open = false, false
	d.mu.Unlock()
}

// Capture renders the next frame of whatever is over the scanner.
func (d *Driver) Capture(ctx context.Context) (scanner.Frame, error) {
	d.mu.Lock()
	if d.disconnected {
		d.mu.Unlock()
		return scanner.Frame{}, fmt.Errorf("sim: capture: %w", scanner.ErrDisconnected)
	}
	if !d.open {
		d.mu.Unlock()
		return scanner.Frame{}, scanner.ErrNotOpen
	}
	d.seq++
	seq, sc, ident := d.seq, d.scene, d.identity
	var idx int
	switch sc {
	case sceneEmpty:
		idx = d.empty
		d.empty++
	default:
		idx = d.captures[ident]
		d.captures[ident] = idx + 1
	}
	d.mu.Unlock()

	if d.cfg.FrameInterval > 0 {
		t := time.NewTimer(d.cfg.FrameInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return scanner.Frame{}, ctx.Err()
		case <-t.C:
		}
	} else if err := ctx.Err(); err != nil {
		return scanner.Frame{}, err
	}
	var img *image.Gray
	switch sc {
	case sceneEmpty:
		img = renderEmpty(d.cfg, idx)
	case sceneHand:
		img = RenderHand(ident, idx, d.cfg)
	case scenePhoto:
		img = renderPhoto(ident, idx, d.cfg)
	}
	return scanner.Frame{Image: img, Band: d.cfg.Band, Timestamp: time.Now(), Seq: seq}, nil
}

// RenderHand renders capture number `capture` of the person `identity` as a
// whole-hand frame. It is deterministic for its arguments and safe for
// concurrent use.
func RenderHand(identity uint64, capture int, cfg Config) *image.Gray {
	cfg = sane(cfg)
	r := captureRand(cfg.Seed, identity, capture)
	ps := drawPose(cfg, r)
	return render(cfg, getIdentity(identity), ps, r)
}

func renderPhoto(identity uint64, capture int, cfg Config) *image.Gray {
	cfg = sane(cfg)
	r := captureRand(cfg.Seed^0x5eed, identity, capture)
	ps := drawPose(cfg, r)
	ps.flat = true
	ps.occ = 0
	return render(cfg, getIdentity(identity), ps, r)
}

func renderEmpty(cfg Config, capture int) *image.Gray {
	cfg = sane(cfg)
	r := captureRand(cfg.Seed, ^uint64(0), capture)
	ps := drawPose(cfg, r)
	buf := make([]float32, cfg.Width*cfg.Height)
	for i := range buf {
		x, y := i%cfg.Width, i/cfg.Width
		buf[i] = float32(ps.bg * ps.gain * (1 + ps.gradX*(float64(x)/float64(cfg.Width)-0.5) + ps.gradY*(float64(y)/float64(cfg.Height)-0.5)))
	}
	return quantize(buf, cfg.Width, cfg.Height, ps, r)
}

// sane replaces an invalid config by the default so the pure render
// functions never panic.
func sane(cfg Config) Config {
	if cfg.Validate() != nil {
		d := DefaultConfig()
		d.Seed = cfg.Seed
		return d
	}
	return cfg
}

// RenderROI renders capture number `capture` of `identity` and returns its
// size×size ROI as the capture pipeline cuts it out of the whole-hand frame
// (the same path a camera frame takes). In the rare case the pipeline finds
// no palm, the next attempts use fresh captures.
func RenderROI(identity uint64, capture int, size int) *image.Gray {
	pc := scanner.DefaultPipelineConfig()
	pc.ROISize = max(16, min(size, 1024))
	p, err := scanner.NewPipeline(pc)
	if err != nil {
		panic(err) // unreachable: the default config with a clamped size is valid
	}
	cfg := DefaultConfig()
	for attempt := 0; attempt < 8; attempt++ {
		c := capture + attempt*1_000_003
		res, err := p.Process(scanner.Frame{Image: RenderHand(identity, c, cfg)})
		if err == nil && res.ROI != nil {
			return res.ROI
		}
	}
	// Still nothing: give a deterministic gray square rather than nil.
	img := image.NewGray(image.Rect(0, 0, pc.ROISize, pc.ROISize))
	r := rand.New(rand.NewPCG(identity, uint64(capture)))
	for i := range img.Pix {
		img.Pix[i] = uint8(100 + r.IntN(20))
	}
	return img
}
