package matchcore

import (
	"fmt"
	"image"
	"math"
	"slices"
)

// ExtractorConfig sets how palm ROI images are normalised and coded.
// Templates are comparable only when made with the same Grid, Orientations
// and CoarseGrid (Compare scores incompatible templates 0, Gallery.Add
// rejects them).
type ExtractorConfig struct {
	// WorkSize is the side in pixels of the square image the ROI is
	// resampled to before filtering (any input size and aspect is
	// resampled to WorkSize x WorkSize).
	WorkSize int
	// Grid is the number of code points per side (Grid x Grid points,
	// evenly spaced over the work image). At most 32.
	Grid int
	// Orientations is the number of filter orientations, evenly spaced over
	// 180 degrees; each gives one code plane. At most 16.
	Orientations int
	// Wavelength is the period in work-image pixels of the even Gabor
	// filters' carrier.
	Wavelength float64
	// SigmaAcross and SigmaAlong are the Gaussian envelope's standard
	// deviations in work-image pixels across the filter's stripes (along the
	// carrier) and along them.
	SigmaAcross, SigmaAlong float64
	// Radius is the filter's half size in work-image pixels.
	Radius int
	// FragileFraction is the fraction of each plane's bits, those with the
	// weakest filter response, that are masked as unreliable ("fragile
	// bits"). In [0, 0.9].
	FragileFraction float64
	// PoseRotations lists rotations in degrees, and PoseScales scale factors,
	// at which Extract also codes the image, as pose variants stored in the
	// template (each rotation at scale 1, each scale at rotation 0). A
	// Gallery searches every variant of the probe against the enrolled
	// templates' canonical codes, which tolerates palms presented rotated or
	// at another distance (contactless capture). Empty: no variants. At most
	// 14 variants in all.
	PoseRotations, PoseScales []float64
	// PoseGrid makes the variants every combination of a rotation in
	// {0} + PoseRotations with a scale in {1} + PoseScales instead.
	PoseGrid bool
	// CoarseScale is how many times coarser than the fine filters the
	// coarse code's filters are (see Template and Gallery). In [1,4].
	CoarseScale float64
	// CoarseGrid is the side of the coarse code's grid: 8 or 16.
	CoarseGrid int
	// MinSize is the smallest accepted input side in pixels; smaller images
	// fail with ErrNotPalm.
	MinSize int
	// MinContrast is the smallest accepted standard deviation of the input's
	// gray levels (0..255); flatter images fail with ErrNotPalm.
	MinContrast float64
}

// DefaultExtractorConfig returns the configuration measured best on
// tongji-dev (see DESIGN.md).
func DefaultExtractorConfig() ExtractorConfig {
	return ExtractorConfig{
		WorkSize:        64,
		Grid:            32,
		Orientations:    6,
		Wavelength:      6,
		SigmaAcross:     2.35,
		SigmaAlong:      4.7,
		Radius:          8,
		FragileFraction: 0.2,
		PoseRotations:   []float64{-8, 8, -4, 4},
		PoseScales:      []float64{0.93, 1.07},
		PoseGrid:        true,
		CoarseScale:     1.5,
		CoarseGrid:      16,
		MinSize:         32,
		MinContrast:     3,
	}
}

// Validate checks ranges and cross-field rules; errors wrap ErrBadConfig.
func (c ExtractorConfig) Validate() error {
	switch {
	case c.WorkSize < 16 || c.WorkSize > 512:
		return fmt.Errorf("WorkSize %d not in [16,512]: %w", c.WorkSize, ErrBadConfig)
	case c.Grid < 4 || c.Grid > maxGrid || c.Grid > c.WorkSize:
		return fmt.Errorf("Grid %d not in [4,%d] or above WorkSize: %w", c.Grid, maxGrid, ErrBadConfig)
	case c.Orientations < 1 || c.Orientations > maxPlanes:
		return fmt.Errorf("Orientations %d not in [1,%d]: %w", c.Orientations, maxPlanes, ErrBadConfig)
	case !(c.Wavelength >= 2 && c.Wavelength <= float64(c.WorkSize)):
		return fmt.Errorf("Wavelength %v not in [2,WorkSize]: %w", c.Wavelength, ErrBadConfig)
	case !(c.SigmaAcross > 0.3) || !(c.SigmaAlong > 0.3):
		return fmt.Errorf("Sigmas %v,%v must exceed 0.3: %w", c.SigmaAcross, c.SigmaAlong, ErrBadConfig)
	case c.Radius < 1 || c.Radius > c.WorkSize/2:
		return fmt.Errorf("Radius %d not in [1,WorkSize/2]: %w", c.Radius, ErrBadConfig)
	case !(c.FragileFraction >= 0 && c.FragileFraction <= 0.9):
		return fmt.Errorf("FragileFraction %v not in [0,0.9]: %w", c.FragileFraction, ErrBadConfig)
	case c.variants() > maxVariants:
		return fmt.Errorf("%d pose variants, at most %d: %w", c.variants(), maxVariants, ErrBadConfig)
	case !(c.CoarseScale >= 1 && c.CoarseScale <= 4):
		return fmt.Errorf("CoarseScale %v not in [1,4]: %w", c.CoarseScale, ErrBadConfig)
	case c.CoarseGrid != 8 && c.CoarseGrid != 16:
		return fmt.Errorf("CoarseGrid %d not 8 or 16: %w", c.CoarseGrid, ErrBadConfig)
	case c.WorkSize%(2*c.CoarseGrid) != 0:
		return fmt.Errorf("WorkSize %d not a multiple of 2*CoarseGrid: %w", c.WorkSize, ErrBadConfig)
	case c.MinSize < 8:
		return fmt.Errorf("MinSize %d below 8: %w", c.MinSize, ErrBadConfig)
	case !(c.MinContrast >= 0):
		return fmt.Errorf("MinContrast %v negative: %w", c.MinContrast, ErrBadConfig)
	}
	return nil
}

// variants is the number of pose variants the configuration asks for.
func (c ExtractorConfig) variants() int {
	if c.PoseGrid {
		return (1+len(c.PoseRotations))*(1+len(c.PoseScales)) - 1
	}
	return len(c.PoseRotations) + len(c.PoseScales)
}

// Extractor turns palm ROI images into Templates. It is immutable after
// NewExtractor and safe for concurrent use.
type Extractor struct {
	cfg ExtractorConfig
	// poses are the canonical pose (first) and the pose variants;
	// coarsePoses the same poses with the coarse filters.
	poses, coarsePoses []pose
	// margin is the reflection padding of the work image.
	margin int
}

// pose is one sampling of the work image: grid rotated by rot radians and
// scaled by scale about the centre, with the filters rotated and scaled
// alike.
type pose struct {
	rot, scale float64
	bank       []float32
	// bank8 is bank laid out for the assembly kernel (see bank8), or nil.
	bank8  []float32
	radius int
}

// NewExtractor validates cfg and precomputes its filter bank.
func NewExtractor(cfg ExtractorConfig) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.PoseRotations = slices.Clone(cfg.PoseRotations)
	cfg.PoseScales = slices.Clone(cfg.PoseScales)
	e := &Extractor{cfg: cfg}
	add := func(rotDeg, scale float64) {
		pc := cfg
		pc.Wavelength *= scale
		pc.SigmaAcross *= scale
		pc.SigmaAlong *= scale
		pc.Radius = max(1, int(math.Round(float64(cfg.Radius)*scale)))
		rot := rotDeg * math.Pi / 180
		bank := gaborBank(pc, rot)
		e.poses = append(e.poses, pose{rot: rot, scale: scale, bank: bank, bank8: bank8(bank, cfg.Orientations), radius: pc.Radius})
		e.coarsePoses = append(e.coarsePoses, coarsePose(cfg, rot, scale))
		e.margin = max(e.margin, pc.Radius+int(math.Ceil(float64(cfg.WorkSize)*(scale*math.Sqrt2-1)/2))+1)
	}
	add(0, 1)
	if cfg.PoseGrid {
		for _, sc := range append([]float64{1}, cfg.PoseScales...) {
			for _, r := range append([]float64{0}, cfg.PoseRotations...) {
				if r != 0 || sc != 1 {
					add(r, sc)
				}
			}
		}
	} else {
		for _, r := range cfg.PoseRotations {
			add(r, 1)
		}
		for _, sc := range cfg.PoseScales {
			add(0, sc)
		}
	}
	return e, nil
}

// Config returns the configuration the extractor was built with.
func (e *Extractor) Config() ExtractorConfig {
	c := e.cfg
	c.PoseRotations = slices.Clone(c.PoseRotations)
	c.PoseScales = slices.Clone(c.PoseScales)
	return c
}

// gaborBank builds zero-mean, unit-L1 even Gabor filters, interleaved by
// orientation.
func gaborBank(c ExtractorConfig, rot float64) []float32 {
	side, O := 2*c.Radius+1, c.Orientations
	bank := make([]float32, side*side*O)
	f := make([]float64, side*side)
	for o := 0; o < O; o++ {
		th := math.Pi*float64(o)/float64(O) + rot
		ct, st := math.Cos(th), math.Sin(th)
		sum := 0.0
		for ky := 0; ky < side; ky++ {
			for kx := 0; kx < side; kx++ {
				x, y := float64(kx-c.Radius), float64(ky-c.Radius)
				u := x*ct + y*st  // across the stripes
				v := -x*st + y*ct // along the stripes
				g := math.Exp(-0.5*(u*u/(c.SigmaAcross*c.SigmaAcross)+v*v/(c.SigmaAlong*c.SigmaAlong))) * math.Cos(2*math.Pi*u/c.Wavelength)
				f[ky*side+kx] = g
				sum += g
			}
		}
		mean := sum / float64(side*side)
		l1 := 0.0
		for i := range f {
			f[i] -= mean
			l1 += math.Abs(f[i])
		}
		for i := range f {
			bank[i*O+o] = float32(f[i] / l1)
		}
	}
	return bank
}

// Extract normalises a palm ROI image (any size, gray or colour) and codes
// it. It fails with an error wrapping ErrNotPalm when the image is too small,
// blank, or has no texture.
func (e *Extractor) Extract(img image.Image) (*Template, error) {
	c := e.cfg
	b := img.Bounds()
	if b.Dx() < c.MinSize || b.Dy() < c.MinSize {
		return nil, fmt.Errorf("image %dx%d smaller than %d: %w", b.Dx(), b.Dy(), c.MinSize, ErrNotPalm)
	}
	src := grayFloat(img)
	mean, sd := meanStd(src)
	if sd < c.MinContrast {
		return nil, fmt.Errorf("contrast %.2f below %.2f: %w", sd, c.MinContrast, ErrNotPalm)
	}
	work := resample(src, b.Dx(), b.Dy(), c.WorkSize, c.WorkSize)
	inv := float32(1 / sd)
	for i := range work {
		work[i] = (work[i] - float32(mean)) * inv
	}
	pad, P := padReflect(work, c.WorkSize, e.margin)
	half, hP, hm := e.halfImage(work)
	var t *Template
	sc := new(scratch)
	for i, ps := range e.poses {
		resp := e.filterPose(pad, P, ps, sc)
		v, err := e.code(resp, sc)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			v = &Template{code: make([]uint64, len(t.code)), mask: make([]uint64, len(t.mask))} // no reliable bits
		}
		coarse := e.coarseCode(half, hP, hm, e.coarsePoses[i], sc)
		if i == 0 {
			t = v
			t.coarse = coarse
			continue
		}
		t.variants = append(t.variants, variant{code: v.code, mask: v.mask, coarse: coarse})
	}
	return t, nil
}

// padReflect extends the W x W image by m pixels on every side by mirror
// reflection; it returns the padded image and its side.
func padReflect(img []float32, W, m int) ([]float32, int) {
	P := W + 2*m
	pad := make([]float32, P*P)
	for y := 0; y < P; y++ {
		sy := reflect(y-m, W)
		row := pad[y*P : (y+1)*P]
		for x := 0; x < P; x++ {
			row[x] = img[sy*W+reflect(x-m, W)]
		}
	}
	return pad, P
}

// filterPose filters the padded work image at the grid points of pose ps
// and returns the responses indexed [(gy*Grid+gx)*O+o].
func (e *Extractor) filterPose(pad []float32, P int, ps pose, sc *scratch) []float32 {
	c := e.cfg
	return filterAt(pad, P, e.margin, c.WorkSize, c.Grid, c.Orientations, ps, sc)
}

// code binarises the responses (BOCV: one sign bit per orientation) and
// masks each plane's weakest FragileFraction of bits.
func (e *Extractor) code(resp []float32, sc *scratch) (*Template, error) {
	c := e.cfg
	G, O := c.Grid, c.Orientations
	pw := planesWords(O)
	t := &Template{rows: G, cols: G, planes: O, code: make([]uint64, G*pw), mask: make([]uint64, G*pw)}
	n := G * G
	keys, sel := sc.uints(n)
	k := int(c.FragileFraction * float64(n))
	for o := 0; o < O; o++ {
		peak := planeKeys(resp, O, o, keys)
		thr := uint32(0)
		if c.FragileFraction > 0 {
			if peak == 0 {
				return nil, fmt.Errorf("no texture: %w", ErrNotPalm)
			}
			thr = selectKth(keys, k, sel)
		}
		shift := uint(32 * (o & 1))
		for gy := 0; gy < G; gy++ {
			var cw, mw uint64
			row := keys[gy*G : gy*G+G]
			rr := resp[gy*G*O : (gy+1)*G*O]
			for gx, b := range row {
				m := above(b, thr)
				mw |= m << uint(gx)
				cw |= (m &^ negative(rr[gx*O+o])) << uint(gx)
			}
			t.code[gy*pw+o/2] |= cw << shift
			t.mask[gy*pw+o/2] |= mw << shift
		}
	}
	if t.ValidBits() < G*G*O/4 {
		return nil, fmt.Errorf("too few reliable bits: %w", ErrNotPalm)
	}
	return t, nil
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// reflect maps i into [0,n) by mirror reflection without edge repeat.
func reflect(i, n int) int {
	for i < 0 || i >= n {
		if i < 0 {
			i = -i - 1
		}
		if i >= n {
			i = 2*n - i - 1
		}
	}
	return i
}
