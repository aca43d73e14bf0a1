package matchcore

import (
	"fmt"
	"image"
	"math"
	"slices"
)

// ExtractorConfig sets how palm ROI images are normalised and coded.
// Templates are comparable only when made with the same Grid and
// Orientations (Compare scores incompatible templates 0, Gallery.Add
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
	case c.MinSize < 8:
		return fmt.Errorf("MinSize %d below 8: %w", c.MinSize, ErrBadConfig)
	case !(c.MinContrast >= 0):
		return fmt.Errorf("MinContrast %v negative: %w", c.MinContrast, ErrBadConfig)
	}
	return nil
}

// Extractor turns palm ROI images into Templates. It is immutable after
// NewExtractor and safe for concurrent use.
type Extractor struct {
	cfg ExtractorConfig
	// bank holds the filters interleaved: bank[(ky*side+kx)*O+o].
	bank []float32
	side int
}

// NewExtractor validates cfg and precomputes its filter bank.
func NewExtractor(cfg ExtractorConfig) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Extractor{cfg: cfg, side: 2*cfg.Radius + 1}
	e.bank = gaborBank(cfg)
	return e, nil
}

// Config returns the configuration the extractor was built with.
func (e *Extractor) Config() ExtractorConfig { return e.cfg }

// gaborBank builds zero-mean, unit-L1 even Gabor filters, interleaved by
// orientation.
func gaborBank(c ExtractorConfig) []float32 {
	side, O := 2*c.Radius+1, c.Orientations
	bank := make([]float32, side*side*O)
	f := make([]float64, side*side)
	for o := 0; o < O; o++ {
		th := math.Pi * float64(o) / float64(O)
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
	resp := e.responses(work)
	return e.code(resp)
}

// responses filters the normalised work image at every grid point and
// returns the responses indexed [(gy*Grid+gx)*O+o]. The image is extended by
// reflection at its borders.
func (e *Extractor) responses(work []float32) []float32 {
	c := e.cfg
	W, R, side, O, G := c.WorkSize, c.Radius, e.side, c.Orientations, c.Grid
	P := W + 2*R
	pad := make([]float32, P*P)
	for y := 0; y < P; y++ {
		sy := reflect(y-R, W)
		row := pad[y*P : (y+1)*P]
		for x := 0; x < P; x++ {
			row[x] = work[sy*W+reflect(x-R, W)]
		}
	}
	resp := make([]float32, G*G*O)
	acc := make([]float32, O)
	step := float64(W) / float64(G)
	for gy := 0; gy < G; gy++ {
		cy := int(step * (float64(gy) + 0.5)) // centre in work coords
		for gx := 0; gx < G; gx++ {
			cx := int(step * (float64(gx) + 0.5))
			clear(acc)
			for ky := 0; ky < side; ky++ {
				row := pad[(cy+ky)*P+cx : (cy+ky)*P+cx+side]
				fk := e.bank[ky*side*O : (ky+1)*side*O]
				for kx, v := range row {
					f := fk[kx*O : kx*O+O]
					for o := range acc {
						acc[o] += v * f[o]
					}
				}
			}
			copy(resp[(gy*G+gx)*O:], acc)
		}
	}
	return resp
}

// code binarises the responses (BOCV: one sign bit per orientation) and
// masks each plane's weakest FragileFraction of bits.
func (e *Extractor) code(resp []float32) (*Template, error) {
	c := e.cfg
	G, O := c.Grid, c.Orientations
	pw := planesWords(O)
	t := &Template{rows: G, cols: G, planes: O, code: make([]uint64, G*pw), mask: make([]uint64, G*pw)}
	mags := make([]float32, G*G)
	for o := 0; o < O; o++ {
		for i := range mags {
			mags[i] = abs32(resp[i*O+o])
		}
		thr := float32(0)
		if c.FragileFraction > 0 {
			sorted := slices.Clone(mags)
			slices.Sort(sorted)
			thr = sorted[int(c.FragileFraction*float64(len(sorted)))]
			if sorted[len(sorted)-1] <= 0 {
				return nil, fmt.Errorf("no texture: %w", ErrNotPalm)
			}
		}
		shift := uint(32 * (o & 1))
		for gy := 0; gy < G; gy++ {
			var cw, mw uint64
			for gx := 0; gx < G; gx++ {
				i := gy*G + gx
				if mags[i] > thr || (c.FragileFraction == 0 && mags[i] > 0) {
					mw |= 1 << uint(gx)
					if resp[i*O+o] > 0 {
						cw |= 1 << uint(gx)
					}
				}
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
