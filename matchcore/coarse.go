package matchcore

import (
	"math"
	"math/bits"
	"slices"
)

// The coarse code is a second, low-resolution orientation code stored in
// every template: Orientations planes of 8x8 points, each plane one 64-bit
// word (bit y*8+x), plus one mask word per plane. It is made with filters
// of twice the fine wavelength on a half-resolution image, so it tolerates
// misalignment, and it is small (16 bytes per plane), so that Gallery can
// rank the whole gallery by it at memory speed before rescoring the best
// candidates with the full code.
const coarseSide = 8

// coarsePose builds the coarse filters, for the half-resolution image, of
// the pose rotated by rot radians and scaled by scale.
func coarsePose(c ExtractorConfig, rot, scale float64) pose {
	cc := c
	f := c.CoarseScale / 2 * scale
	cc.Wavelength = c.Wavelength * f
	cc.SigmaAcross = c.SigmaAcross * f
	cc.SigmaAlong = c.SigmaAlong * f
	cc.Radius = max(1, int(math.Round(float64(c.Radius)*f)))
	return pose{rot: rot, scale: scale, bank: gaborBank(cc, rot), radius: cc.Radius}
}

// halfImage box-filters the work image to half resolution and pads it for
// the coarse filters; it returns the padded image, its side and margin.
func (e *Extractor) halfImage(work []float32) ([]float32, int, int) {
	W := e.cfg.WorkSize
	H := W / 2
	half := make([]float32, H*H)
	for y := 0; y < H; y++ {
		for x := 0; x < H; x++ {
			i := 2*y*W + 2*x
			half[y*H+x] = 0.25 * (work[i] + work[i+1] + work[i+W] + work[i+W+1])
		}
	}
	m := (e.margin + 1) / 2
	for _, ps := range e.coarsePoses {
		m = max(m, ps.radius+H/4+1)
	}
	pad, P := padReflect(half, H, m)
	return pad, P, m
}

// coarseCode computes the coarse code words (planes code words, then
// planes mask words) at one pose from the padded half-resolution image.
func (e *Extractor) coarseCode(half []float32, P, margin int, ps pose) []uint64 {
	c := e.cfg
	O := c.Orientations
	resp := filterAt(half, P, margin, c.WorkSize/2, coarseSide, O, ps)
	out := make([]uint64, 2*O)
	mags := make([]float32, coarseSide*coarseSide)
	for o := 0; o < O; o++ {
		for i := range mags {
			mags[i] = abs32(resp[i*O+o])
		}
		sorted := slices.Clone(mags)
		slices.Sort(sorted)
		thr := sorted[int(c.FragileFraction*float64(len(sorted)))]
		for i := range mags {
			if mags[i] > thr {
				out[O+o] |= 1 << uint(i)
				if resp[i*O+o] > 0 {
					out[o] |= 1 << uint(i)
				}
			}
		}
	}
	return out
}

// shiftBoard moves the bits of an 8x8 board by (dx, dy), dropping bits that
// leave it.
func shiftBoard(w uint64, dx, dy int) uint64 {
	const fileA = 0x0101010101010101
	if dx > 0 {
		for i := 0; i < dx; i++ {
			w = (w << 1) &^ fileA
		}
	} else {
		for i := 0; i < -dx; i++ {
			w = (w &^ fileA) >> 1
		}
	}
	if dy > 0 {
		w <<= uint(8 * dy)
	} else if dy < 0 {
		w >>= uint(8 * -dy)
	}
	return w
}

// coarseProbe is a probe's coarse code, at every pose it has, pre-shifted
// to every shift in [-coarseShift, coarseShift]^2.
type coarseProbe struct {
	planes int
	// code, mask: shift-major, planes words each.
	code, mask []uint64
	shifts     int
}

const coarseShift = 1

func newCoarseProbe(t *Template) *coarseProbe {
	O := t.planes
	words := [][]uint64{t.coarse}
	for _, v := range t.variants {
		words = append(words, v.coarse)
	}
	p := &coarseProbe{planes: O}
	for _, cw := range words {
		for dy := -coarseShift; dy <= coarseShift; dy++ {
			for dx := -coarseShift; dx <= coarseShift; dx++ {
				for o := 0; o < O; o++ {
					p.code = append(p.code, shiftBoard(cw[o], dx, dy))
					p.mask = append(p.mask, shiftBoard(cw[O+o], dx, dy))
				}
				p.shifts++
			}
		}
	}
	return p
}

// score returns the coarse similarity with a gallery template's coarse words
// g (planes code words then planes mask words), as an integer for fast
// ranking: higher is better. It is the best over shifts of
// (agreements - disagreements) scaled by 1/sqrt(bits compared), which is the
// normalised Hamming score up to a monotone map.
func (p *coarseProbe) score(g []uint64) float32 {
	O := p.planes
	gc, gm := g[:O], g[O:2*O]
	best := float32(-1e9)
	for s := 0; s < p.shifts; s++ {
		pc, pm := p.code[s*O:(s+1)*O], p.mask[s*O:(s+1)*O]
		diff, n := 0, 0
		for o := range gc {
			m := pm[o] & gm[o]
			n += bits.OnesCount64(m)
			diff += bits.OnesCount64((pc[o] ^ gc[o]) & m)
		}
		if n == 0 {
			continue
		}
		v := float32(n-2*diff) * invSqrt[n]
		if v > best {
			best = v
		}
	}
	return best
}

// invSqrt[n] = 1/sqrt(n), for n up to 16 planes of 64 bits.
var invSqrt = func() []float32 {
	t := make([]float32, 64*maxPlanes+1)
	for i := 1; i < len(t); i++ {
		t[i] = float32(1 / math.Sqrt(float64(i)))
	}
	return t
}()
