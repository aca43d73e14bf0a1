package matchcore

import (
	"math"
)

// The coarse code is a second, low-resolution orientation code stored in
// every template: Orientations planes of 8x8 points, each plane one 64-bit
// word (bit y*8+x), plus one mask word per plane. It is made with filters
// of twice the fine wavelength on a half-resolution image, so it tolerates
// misalignment, and it is small (16 bytes per plane), so that Gallery can
// rank the whole gallery by it at memory speed before rescoring the best
// candidates with the full code.
//
// With ExtractorConfig.CoarseGrid 16 the boards are 16x16 (four words per
// plane, bit (y*16+x) of the plane's 256-bit board).

// coarseWords is the number of 64-bit words per coarse plane for a side.
func coarseWords(side int) int { return side * side / 64 }

// coarsePose builds the coarse filters, for the half-resolution image, of
// the pose rotated by rot radians and scaled by scale.
func coarsePose(c ExtractorConfig, rot, scale float64) pose {
	cc := c
	f := c.CoarseScale / 2 * scale
	cc.Wavelength = c.Wavelength * f
	cc.SigmaAcross = c.SigmaAcross * f
	cc.SigmaAlong = c.SigmaAlong * f
	cc.Radius = max(1, int(math.Round(float64(c.Radius)*f)))
	bank := gaborBank(cc, rot)
	return pose{rot: rot, scale: scale, bank: bank, bank8: bank8(bank, c.Orientations), radius: cc.Radius}
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
func (e *Extractor) coarseCode(half []float32, P, margin int, ps pose, sc *scratch) []uint64 {
	c := e.cfg
	O := c.Orientations
	C := c.CoarseGrid
	wpp := coarseWords(C)
	resp := filterAt(half, P, margin, c.WorkSize/2, C, O, ps, sc)
	out := make([]uint64, 2*O*wpp)
	keys, sel := sc.uints(C * C)
	k := int(c.FragileFraction * float64(C*C))
	for o := 0; o < O; o++ {
		planeKeys(resp, O, o, keys)
		thr := selectKth(keys, k, sel)
		for i, key := range keys {
			m := above(key, thr)
			out[(O+o)*wpp+i/64] |= m << uint(i%64)
			out[o*wpp+i/64] |= (m &^ negative(resp[i*O+o])) << uint(i%64)
		}
	}
	return out
}

// coarseShift is the largest shift, in coarse cells along x and y, that the
// coarse pass tries.
const coarseShift = 1

// coarseBoards returns the coarse code words of t's canonical pose and of
// its first poses-1 pose variants (all of them when poses exceeds that).
func (t *Template) coarseBoards(poses int) [][]uint64 {
	words := [][]uint64{t.coarse}
	for i, v := range t.variants {
		if i+1 >= poses {
			break
		}
		words = append(words, v.coarse)
	}
	return words
}
