package scanner

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
)

// PipelineConfig tunes the capture pipeline. DefaultPipelineConfig is ready
// to use; lengths relative to "L" are in units of the distance between the
// two outer finger valleys (index–middle and ring–little).
type PipelineConfig struct {
	// ROISize is the side of the square ROI handed to matchcore, in pixels.
	ROISize int
	// WorkSize bounds the longer side of the downsampled image used to find
	// the hand and its key points.
	WorkSize int
	// ROIOffset is the distance from the valley line to the ROI centre,
	// towards the wrist, in units of L.
	ROIOffset float64
	// ROIScale is the ROI side in units of L.
	ROIScale float64
	// MinContrast is the least difference in mean gray level between hand and
	// background for a hand to be present.
	MinContrast float64
	// MinPalm and MaxPalm bound L as a fraction of the frame's shorter side;
	// outside them the customer is told to move closer or away.
	MinPalm, MaxPalm float64
	// MaxOutside is the largest fraction of the ROI that may fall outside
	// the frame.
	MaxOutside float64
	// FocusLow and FocusHigh map the ROI's sharpness (mean absolute
	// Laplacian, gray levels) to a focus score of 0 and 1.
	FocusLow, FocusHigh float64
	// MaxMotion is the largest movement of the palm between two consecutive
	// frames in Capture, in units of L, before "hold still".
	MaxMotion float64
	// MinQuality is the least quality Capture accepts.
	MinQuality float64
	// GoodQuality stops Capture early: the first frame at or above it wins.
	GoodQuality float64
}

// DefaultPipelineConfig returns settings that suit a 640×480 contactless
// scanner as well as the PolyU and Tongji whole-hand images.
func DefaultPipelineConfig() PipelineConfig {
	return PipelineConfig{
		ROISize:     128,
		WorkSize:    320,
		ROIOffset:   0.75,
		ROIScale:    1.15,
		MinContrast: 20,
		MinPalm:     0.18,
		MaxPalm:     0.75,
		MaxOutside:  0.08,
		FocusLow:    1.0,
		FocusHigh:   2.0,
		MaxMotion:   0.12,
		MinQuality:  0.4,
		GoodQuality: 0.7,
	}
}

// Validate reports the first setting out of range.
func (c PipelineConfig) Validate() error {
	switch {
	case c.ROISize < 16 || c.ROISize > 1024:
		return fmt.Errorf("scanner: ROISize %d outside [16,1024]", c.ROISize)
	case c.WorkSize < 64 || c.WorkSize > 2048:
		return fmt.Errorf("scanner: WorkSize %d outside [64,2048]", c.WorkSize)
	case c.ROIScale <= 0 || c.ROIScale > 4:
		return fmt.Errorf("scanner: ROIScale %v outside (0,4]", c.ROIScale)
	case c.ROIOffset < 0 || c.ROIOffset > 4:
		return fmt.Errorf("scanner: ROIOffset %v outside [0,4]", c.ROIOffset)
	case c.MinContrast < 0:
		return fmt.Errorf("scanner: MinContrast %v < 0", c.MinContrast)
	case c.MinPalm <= 0 || c.MaxPalm <= c.MinPalm:
		return fmt.Errorf("scanner: need 0 < MinPalm (%v) < MaxPalm (%v)", c.MinPalm, c.MaxPalm)
	case c.MaxOutside < 0 || c.MaxOutside >= 1:
		return fmt.Errorf("scanner: MaxOutside %v outside [0,1)", c.MaxOutside)
	case c.FocusLow < 0 || c.FocusHigh <= c.FocusLow:
		return fmt.Errorf("scanner: need 0 <= FocusLow (%v) < FocusHigh (%v)", c.FocusLow, c.FocusHigh)
	case c.MaxMotion <= 0:
		return fmt.Errorf("scanner: MaxMotion %v <= 0", c.MaxMotion)
	case c.MinQuality < 0 || c.MinQuality > 1 || c.GoodQuality < c.MinQuality || c.GoodQuality > 1:
		return fmt.Errorf("scanner: need 0 <= MinQuality (%v) <= GoodQuality (%v) <= 1", c.MinQuality, c.GoodQuality)
	}
	return nil
}

// Pipeline finds the palm in frames and cuts out its ROI. Process is safe for
// concurrent use; Capture keeps per-call state only.
type Pipeline struct {
	cfg PipelineConfig
}

// NewPipeline returns a pipeline, or an error if cfg is invalid.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Pipeline{cfg: cfg}, nil
}

// Config returns the pipeline's configuration.
func (p *Pipeline) Config() PipelineConfig { return p.cfg }

// Scores breaks a frame's quality down; Focus, Exposure, Size and Motion
// are in [0,1], 1 best; the rest are the raw measurements behind them.
type Scores struct {
	Focus, Exposure, Size, Motion float64
	// Sharpness is the ROI's mean absolute Laplacian (gray levels).
	Sharpness float64
	// Brightness is the ROI's mean gray level.
	Brightness float64
	// PalmSize is L, the outer valleys' distance, over the frame's shorter side.
	PalmSize float64
}

// Result is what the pipeline made of one frame.
type Result struct {
	// ROI is the rotation-normalised palm region, ROISize×ROISize, fingers
	// towards row 0; nil when no palm was found.
	ROI *image.Gray
	// Quality is in [0,1]; Capture accepts frames at or above MinQuality.
	Quality float64
	// Guidance tells the customer what to do; GuidanceOK when Quality is good.
	Guidance Guidance
	// Frame is the frame the result came from.
	Frame Frame
	// Scores is the breakdown of Quality.
	Scores Scores
	// Valleys are the two outer finger valleys found, in frame coordinates.
	Valleys [2]image.Point
}

// track is what Capture remembers of the previous frame to judge motion.
type track struct {
	valid  bool
	centre vec
}

// Process runs the pipeline on one frame. When no usable palm is found the
// error wraps ErrNoPalm with the reason, and Result.Guidance is still set.
func (p *Pipeline) Process(f Frame) (Result, error) {
	res, _, err := p.process(f, track{})
	return res, err
}

func noPalm(res Result, g Guidance, reason string) (Result, track, error) {
	res.Guidance = g
	return res, track{}, fmt.Errorf("%s: %w", reason, ErrNoPalm)
}

func (p *Pipeline) process(f Frame, prev track) (Result, track, error) {
	res := Result{Frame: f, Guidance: GuidanceNoHand}
	g := toGray(f.Image)
	if g.w < 16 || g.h < 16 {
		return noPalm(res, GuidanceNoHand, "frame too small")
	}
	fac := (max(g.w, g.h) + p.cfg.WorkSize - 1) / p.cfg.WorkSize
	sw, sh, small := downsample(g, fac)
	small = boxBlur3(sw, sh, small)
	thr, lo, hi := otsu(small)
	if hi-lo < p.cfg.MinContrast {
		var mean float64
		for _, v := range small {
			mean += float64(v)
		}
		if mean/float64(len(small)) > 3*p.cfg.MinContrast {
			// A bright, featureless view: something fills the frame.
			return noPalm(res, GuidanceMoveAway, "hand fills the frame")
		}
		return noPalm(res, GuidanceNoHand, "no hand: image has no contrast")
	}
	// Scanners light the hand against a dark background: cut nearer the
	// background's level than Otsu's threshold first, so that dim parts of
	// the hand stay in; if that finds no valleys (fingers joined by a dim
	// gap or a peg), try Otsu's threshold and one nearer the hand's level.
	var (
		loc       located
		reasonErr string
		fill      float64
	)
	for k, t := range []float64{(thr + lo) / 2, thr, (thr + hi) / 2} {
		loc = locate(small, sw, sh, t)
		if k == 0 {
			fill = loc.fill
		}
		if loc.noHand != "" {
			if k == 0 {
				return noPalm(res, GuidanceNoHand, loc.noHand)
			}
			continue
		}
		if loc.ok {
			break
		}
		if reasonErr == "" {
			reasonErr = fmt.Sprintf("no finger valleys (%d gaps)", loc.gaps)
		}
	}
	if !loc.ok {
		if fill > 0.85 {
			return noPalm(res, GuidanceMoveAway, fmt.Sprintf("hand fills %.0f%% of the frame", 100*fill))
		}
		return noPalm(res, GuidanceSpreadFingers, reasonErr)
	}
	v1, v3, open := loc.v1, loc.v3, loc.open
	toFull := func(v vec) vec {
		return vec{(v.x+0.5)*float64(fac) - 0.5, (v.y+0.5)*float64(fac) - 0.5}
	}
	v1, v3 = toFull(v1), toFull(v3)
	res.Valleys = [2]image.Point{{int(math.Round(v1.x)), int(math.Round(v1.y))}, {int(math.Round(v3.x)), int(math.Round(v3.y))}}
	L := v3.sub(v1).norm()
	// y axis of the ROI points from the fingers to the wrist (against the
	// gaps' opening); x axis is y rotated by -90°, so the ROI shows the
	// palm upright, as seen by the camera.
	ax := v3.sub(v1).unit()
	yAxis := vec{-ax.y, ax.x}
	if yAxis.dot(open) > 0 {
		yAxis = yAxis.scale(-1)
	}
	xAxis := vec{yAxis.y, -yAxis.x}
	centre := v1.add(v3).scale(0.5).add(yAxis.scale(p.cfg.ROIOffset * L))
	side := p.cfg.ROIScale * L
	roi, outside := sampleROI(g, centre, xAxis, yAxis, side, p.cfg.ROISize)
	if outside > p.cfg.MaxOutside {
		res.ROI = nil
		return noPalm(res, GuidanceCentre, fmt.Sprintf("palm %.0f%% outside the frame", 100*outside))
	}
	res.ROI = roi
	cur := track{valid: true, centre: centre}

	// Quality.
	var sc Scores
	focus, mean, sat, dark := roiStats(roi)
	sc.Sharpness, sc.Brightness = focus, mean
	sc.Focus = clamp01((focus - p.cfg.FocusLow) / (p.cfg.FocusHigh - p.cfg.FocusLow))
	sc.Exposure = clamp01(math.Min((mean-15)/35, (245-mean)/35)) * clamp01(1-4*(sat+dark))
	frac := L / float64(min(g.w, g.h))
	sc.PalmSize = frac
	sc.Size = clamp01(math.Min((frac-0.6*p.cfg.MinPalm)/(0.4*p.cfg.MinPalm), (1.25*p.cfg.MaxPalm-frac)/(0.25*p.cfg.MaxPalm)))
	sc.Motion = 1
	if prev.valid {
		mv := centre.sub(prev.centre).norm() / L
		sc.Motion = clamp01(2 - mv/p.cfg.MaxMotion)
	}
	res.Scores = sc
	// Motion between frames only tempers quality (best-of-N prefers a still
	// hand): frames of a moving hand are sharp enough if Focus says so, and
	// a driver's frames may legitimately differ (a new presentation).
	res.Quality = math.Min(sc.Focus, math.Min(sc.Exposure, sc.Size)) * (0.85 + 0.15*sc.Motion)
	res.Guidance = GuidanceOK
	if res.Quality < p.cfg.GoodQuality {
		switch {
		case sc.Size < 1 && frac < p.cfg.MinPalm:
			res.Guidance = GuidanceMoveCloser
		case sc.Size < 1:
			res.Guidance = GuidanceMoveAway
		case sc.Exposure < p.cfg.GoodQuality:
			res.Guidance = GuidanceLighting
		default:
			res.Guidance = GuidanceHoldStill
		}
	}
	return res, cur, nil
}

func clamp01(v float64) float64 {
	if v < 0 || math.IsNaN(v) {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// Capture reads up to maxFrames frames from d and returns the first whose
// quality reaches GoodQuality, or else the best one at or above MinQuality.
// If no frame qualifies, the error wraps ErrNoPalm and the Result holds the
// best attempt with its Guidance. Driver errors are returned as they are.
func (p *Pipeline) Capture(ctx context.Context, d Driver, maxFrames int) (Result, error) {
	if maxFrames < 1 {
		maxFrames = 1
	}
	var (
		best    Result
		bestErr error = fmt.Errorf("no frame captured: %w", ErrNoPalm)
		haveROI bool
		prev    track
	)
	best.Guidance = GuidanceNoHand
	for i := 0; i < maxFrames; i++ {
		if err := ctx.Err(); err != nil {
			return best, err
		}
		f, err := d.Capture(ctx)
		if err != nil {
			return best, err
		}
		res, cur, perr := p.process(f, prev)
		prev = cur
		if perr != nil {
			if !haveROI {
				best, bestErr = res, perr
			}
			continue
		}
		if !haveROI || res.Quality > best.Quality {
			best, haveROI = res, true
		}
		if res.Quality >= p.cfg.GoodQuality {
			return res, nil
		}
	}
	if haveROI {
		if best.Quality >= p.cfg.MinQuality {
			return best, nil
		}
		return best, fmt.Errorf("best quality %.2f below %.2f (%s): %w", best.Quality, p.cfg.MinQuality, best.Guidance, ErrNoPalm)
	}
	if !errors.Is(bestErr, ErrNoPalm) {
		bestErr = fmt.Errorf("%v: %w", bestErr, ErrNoPalm)
	}
	return best, bestErr
}

// located is what locate found at one threshold.
type located struct {
	noHand  string  // non-empty: why there is no hand at all
	fill    float64 // fraction of the frame the hand covers
	palmR   float64
	gaps    int
	v1, v3  vec
	open    vec
	ok      bool
	defects []defect
	m       *mask
}

// locate segments the working image at threshold t and looks for the two
// outer finger valleys.
func locate(small []float32, sw, sh int, t float64) located {
	m := mask{w: sw, h: sh, on: make([]bool, sw*sh)}
	for i, v := range small {
		m.on[i] = float64(v) > t
	}
	area := m.largestComponent()
	if area < sw*sh/20 {
		return located{noHand: "no hand: foreground too small"}
	}
	fill := float64(area) / float64(sw*sh)
	m.fillHoles()
	cx, cy, palmR := m.distanceMax()
	if palmR < 4 {
		return located{noHand: "no hand: no palm-sized region", fill: fill}
	}
	centre := vec{float64(cx), float64(cy)}
	defects := radialValleys(m.traceContour(), sw, sh, centre, math.Max(0.25*palmR, 3), math.Max(0.15*palmR, 2))
	v1, v3, open, ok := fingerValleys(defects, centre, palmR)
	return located{fill: fill, palmR: palmR, gaps: len(defects), v1: v1, v3: v3, open: open, ok: ok, defects: defects, m: &m}
}
