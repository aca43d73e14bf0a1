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
	mags := make([]float32, C*C)
	for o := 0; o < O; o++ {
		for i := range mags {
			mags[i] = abs32(resp[i*O+o])
		}
		thr := kthSmallest(slices.Clone(mags), int(c.FragileFraction*float64(len(mags))))
		for i := range mags {
			if mags[i] > thr {
				out[(O+o)*wpp+i/64] |= 1 << uint(i%64)
				if resp[i*O+o] > 0 {
					out[o*wpp+i/64] |= 1 << uint(i%64)
				}
			}
		}
	}
	return out
}

// shiftBoard moves the bits of a side x side board (wpp words) by (dx, dy),
// dropping bits that leave it.
func shiftBoard(w []uint64, side, dx, dy int) []uint64 {
	out := make([]uint64, len(w))
	for y := 0; y < side; y++ {
		ny := y + dy
		if ny < 0 || ny >= side {
			continue
		}
		for x := 0; x < side; x++ {
			nx := x + dx
			if nx < 0 || nx >= side {
				continue
			}
			i, j := y*side+x, ny*side+nx
			if w[i/64]>>(uint(i%64))&1 != 0 {
				out[j/64] |= 1 << uint(j%64)
			}
		}
	}
	return out
}

// coarseProbe is a probe's coarse code, at some of its poses, pre-shifted
// to every shift in [-coarseShift, coarseShift]^2. The gallery side of the
// coarse pass reads only code words (the gallery's coarse masks are not
// stored in its slab): bits the probe finds unreliable are skipped, the
// gallery's fragile bits just add noise.
type coarseProbe struct {
	n int // words per code (planes * words per plane)
	// code, mask: shift-major, n words each.
	code, mask []uint64
	// cnt and inv are the number of reliable probe bits per shift and
	// 1/sqrt of it.
	cnt    []int
	inv    []float32
	shifts int
}

const coarseShift = 1

// newCoarseProbe prepares the canonical pose and the first poses-1 pose
// variants of t (all of them when poses exceeds that).
func newCoarseProbe(t *Template, poses int) *coarseProbe {
	O := t.planes
	side := t.coarseSide()
	wpp := coarseWords(side)
	words := [][]uint64{t.coarse}
	for i, v := range t.variants {
		if i+1 >= poses {
			break
		}
		words = append(words, v.coarse)
	}
	p := &coarseProbe{n: O * wpp}
	for _, cw := range words {
		for dy := -coarseShift; dy <= coarseShift; dy++ {
			for dx := -coarseShift; dx <= coarseShift; dx++ {
				cnt := 0
				for o := 0; o < O; o++ {
					m := shiftBoard(cw[(O+o)*wpp:(O+o+1)*wpp], side, dx, dy)
					p.code = append(p.code, shiftBoard(cw[o*wpp:(o+1)*wpp], side, dx, dy)...)
					p.mask = append(p.mask, m...)
					for _, w := range m {
						cnt += bits.OnesCount64(w)
					}
				}
				p.cnt = append(p.cnt, cnt)
				p.inv = append(p.inv, invSqrtN(max(cnt, 1)))
				p.shifts++
			}
		}
	}
	return p
}

// score returns the coarse similarity with a gallery template's coarse code
// words gc, for ranking: higher is better. It is the best over shifts and
// poses of (agreements - disagreements) over the probe's reliable bits,
// scaled by 1/sqrt(their number).
func (p *coarseProbe) score(gc []uint64) float32 {
	n := p.n
	gc = gc[:n:n]
	best := float32(-1e9)
	for s := 0; s < p.shifts; s++ {
		pc, pm := p.code[s*n:(s+1)*n:(s+1)*n], p.mask[s*n:(s+1)*n:(s+1)*n]
		diff := 0
		for o, g := range gc {
			diff += bits.OnesCount64((pc[o] ^ g) & pm[o])
		}
		v := float32(p.cnt[s]-2*diff) * p.inv[s]
		if v > best {
			best = v
		}
	}
	return best
}
