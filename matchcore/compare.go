package matchcore

import (
	"math"
	"math/bits"
)

const (
	// MaxShift is the largest translation, in grid points along each axis,
	// that Compare searches for the best alignment.
	MaxShift = 3
	// normFrac is the fraction of a template's bits that a typical
	// comparison finds reliable in both; scores over fewer bits are pulled
	// towards chance (see normalise).
	normFrac = 0.55
	// minOverlapFrac is the smallest fraction of bits that must be reliable
	// in both templates for a shift to count.
	minOverlapFrac = 0.15
)

// Compare returns the similarity of two templates in [0,1]: 1 for identical
// codes, about 0 for unrelated palms. It searches translations of up to
// MaxShift grid points and returns the best, after normalising each
// Hamming distance for the number of bits compared, so that a given score
// corresponds to the same false-match rate whatever the masks. Templates of
// different geometry, or empty ones, score 0. Compare is symmetric up to
// rounding and safe for concurrent use.
//
// With pose variants (ExtractorConfig.PoseRotations/PoseScales) the score
// is the best over every variant of either template against the other's
// canonical code.
func Compare(a, b *Template) float64 {
	if a == nil || b == nil || !compatible(a, b) {
		return 0
	}
	s := preparePoses(a).score(b)
	for _, v := range b.variants {
		s = max(s, prepare(b.variantTemplate(v), MaxShift).score(a))
	}
	return s
}

// variantTemplate returns a template with t's geometry and v's code.
func (t *Template) variantTemplate(v variant) *Template {
	return &Template{rows: t.rows, cols: t.cols, planes: t.planes, code: v.code, mask: v.mask}
}

// poseSet is a probe prepared at its canonical pose and every variant.
type poseSet []*prepared

func preparePoses(t *Template) poseSet {
	ps := poseSet{prepare(t, MaxShift)}
	for _, v := range t.variants {
		ps = append(ps, prepare(t.variantTemplate(v), MaxShift))
	}
	return ps
}

// score is the best score of any pose against b's canonical code.
func (ps poseSet) score(b *Template) float64 {
	best := 0.0
	for _, p := range ps {
		best = max(best, p.scoreWords(b.code, b.mask))
	}
	return best
}

// prepared holds a template's code and mask pre-shifted along the columns for
// every dx in [-s, s], so that the inner comparison loop is aligned word
// operations only.
type prepared struct {
	t          *Template
	s          int
	code, mask [][]uint64 // index dx+s
	norm       float64    // normFrac * total bits
	minBits    int
}

func prepare(t *Template, s int) *prepared {
	p := &prepared{t: t, s: s, code: make([][]uint64, 2*s+1), mask: make([][]uint64, 2*s+1)}
	pw := planesWords(t.planes)
	colMask := uint32(uint64(1)<<uint(t.cols) - 1)
	for dx := -s; dx <= s; dx++ {
		c := make([]uint64, len(t.code))
		m := make([]uint64, len(t.mask))
		for i := range t.code {
			c[i] = shiftHalves(t.code[i], dx, colMask)
			m[i] = shiftHalves(t.mask[i], dx, colMask)
		}
		p.code[dx+s], p.mask[dx+s] = c, m
	}
	total := t.rows * t.cols * t.planes
	p.norm = normFrac * float64(total)
	p.minBits = int(minOverlapFrac * float64(total))
	_ = pw
	return p
}

// shiftHalves shifts both 32-bit halves of w by dx columns (positive: towards
// higher columns), dropping bits that leave the grid.
func shiftHalves(w uint64, dx int, colMask uint32) uint64 {
	lo, hi := uint32(w), uint32(w>>32)
	if dx >= 0 {
		lo, hi = lo<<uint(dx), hi<<uint(dx)
	} else {
		lo, hi = lo>>uint(-dx), hi>>uint(-dx)
	}
	return uint64(lo&colMask) | uint64(hi&colMask)<<32
}

// score compares the prepared template with b over all shifts.
func (p *prepared) score(b *Template) float64 {
	return p.scoreWords(b.code, b.mask)
}

// scoreWords is score for a template given by its fine code and mask words.
func (p *prepared) scoreWords(bcode, bmask []uint64) float64 {
	a := p.t
	pw := planesWords(a.planes)
	best := 0.0
	for dy := -p.s; dy <= p.s; dy++ {
		r0, r1 := max(0, -dy), min(a.rows, a.rows-dy) // rows of a
		if r1 <= r0 {
			continue
		}
		bc := bcode[(r0+dy)*pw : (r1+dy)*pw]
		bm := bmask[(r0+dy)*pw : (r1+dy)*pw]
		for k := range p.code {
			ac := p.code[k][r0*pw : r1*pw]
			am := p.mask[k][r0*pw : r1*pw]
			diff, n := 0, 0
			for i := range ac {
				m := am[i] & bm[i]
				n += bits.OnesCount64(m)
				diff += bits.OnesCount64((ac[i] ^ bc[i]) & m)
			}
			if s := p.normScore(diff, n); s > best {
				best = s
			}
		}
	}
	return best
}

// normScore maps a Hamming distance over n bits to a score in [0,1] with
// Daugman's normalisation: the distance's deviation from chance (0.5) is
// scaled by sqrt(n/norm), so that distances measured over few bits, which
// vary more by chance, count less.
func (p *prepared) normScore(diff, n int) float64 {
	if n < p.minBits {
		return 0
	}
	hd := float64(diff) / float64(n)
	hdn := 0.5 - (0.5-hd)*math.Sqrt(float64(n)/p.norm)
	s := 1 - 2*hdn
	return min(max(s, 0), 1)
}
