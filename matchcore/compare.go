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
	if len(b.variants) > 0 {
		var vs []*Template
		for _, v := range b.variants {
			vs = append(vs, b.variantTemplate(v))
		}
		s = max(s, newPoseSet(vs).score(a))
	}
	return s
}

// variantTemplate returns a template with t's geometry and v's code.
func (t *Template) variantTemplate(v variant) *Template {
	return &Template{rows: t.rows, cols: t.cols, planes: t.planes, code: v.code, mask: v.mask}
}

// poseSet is a probe prepared at its canonical pose and every variant.
type poseSet struct {
	ps []*prepared
	// vec is the first search stage's probe words laid out for
	// exactSample (see sampleVec), nil where that kernel does not apply.
	vec []uint64
}

func preparePoses(t *Template) poseSet {
	ts := []*Template{t}
	for _, v := range t.variants {
		ts = append(ts, t.variantTemplate(v))
	}
	return newPoseSet(ts)
}

// newPoseSet prepares templates of one geometry as the poses of a probe.
func newPoseSet(ts []*Template) poseSet {
	var s poseSet
	for _, t := range ts {
		s.ps = append(s.ps, prepare(t, MaxShift))
	}
	s.vec = sampleVec(s.ps)
	return s
}

// score is the best score of any pose and shift against b's canonical
// code. It searches in two stages: every (pose, shift) on every
// sampleRows-th row, then the refineTop best of those on all rows.
func (set poseSet) score(b *Template) float64 {
	ps := set.ps
	if exhaustiveSearch {
		best := 0.0
		for _, p := range ps {
			best = max(best, p.score(b))
		}
		return best
	}
	if set.vec != nil {
		return set.scoreVec(b)
	}
	var top [refineTop]cand
	for i := range top {
		top[i].v = -1e30
	}
	for pi, p := range ps {
		pw := planesWords(p.t.planes)
		nr := p.nSample
		for dy := -p.s; dy <= p.s; dy++ {
			base := (p.s + dy) * pw // gallery word of the first sample row
			for k, sm := range p.sample {
				diff, n := 0, 0
				if pw == 3 {
					for i := 0; i < nr; i++ {
						g := base + i*sampleRows*3
						gc, gm := b.code[g:g+3:g+3], b.mask[g:g+3:g+3]
						q := sm[i*6 : i*6+6 : i*6+6]
						m0, m1, m2 := q[1]&gm[0], q[3]&gm[1], q[5]&gm[2]
						n += bits.OnesCount64(m0) + bits.OnesCount64(m1) + bits.OnesCount64(m2)
						diff += bits.OnesCount64((q[0]^gc[0])&m0) + bits.OnesCount64((q[2]^gc[1])&m1) + bits.OnesCount64((q[4]^gc[2])&m2)
					}
				} else {
					for i := 0; i < nr; i++ {
						g := base + i*sampleRows*pw
						for w := 0; w < pw; w++ {
							m := sm[(i*pw+w)*2+1] & b.mask[g+w]
							n += bits.OnesCount64(m)
							diff += bits.OnesCount64((sm[(i*pw+w)*2] ^ b.code[g+w]) & m)
						}
					}
				}
				if n == 0 {
					continue
				}
				v := float32(n-2*diff) * invSqrtN(n)
				if v > top[refineTop-1].v {
					j := refineTop - 1
					for j > 0 && top[j-1].v < v {
						top[j] = top[j-1]
						j--
					}
					top[j] = cand{v, pi, dy, k}
				}
			}
		}
	}
	return set.refine(b, &top)
}

// cand is an alignment of the first search stage: its score and where.
type cand struct {
	v        float32
	pose, dy int
	dxIndex  int
}

// refine is the second search stage: the best score on all rows of the
// alignments in top.
func (set poseSet) refine(b *Template, top *[refineTop]cand) float64 {
	best := 0.0
	for _, c := range top {
		if c.v > -1e30 {
			best = max(best, set.ps[c.pose].scoreAt(b.code, b.mask, c.dy, c.dxIndex))
		}
	}
	return best
}

const (
	// sampleRows is the row step of the first search stage.
	sampleRows = 4
	// refineTop is how many (pose, shift) pairs the second stage rescores.
	refineTop = 3
)

// exhaustiveSearch makes poseSet.score evaluate every pose and shift on all
// rows (for measuring what the two-stage search loses).
var exhaustiveSearch = false

func invSqrtN(n int) float32 {
	if n < len(invSqrt) {
		return invSqrt[n]
	}
	return float32(1 / math.Sqrt(float64(n)))
}

// scoreAt is the normalised score of one shift (dy, and dx = k-s) on all
// rows, shifting the prepared template's rows on the fly.
func (p *prepared) scoreAt(bcode, bmask []uint64, dy, k int) float64 {
	a := p.t
	pw := planesWords(a.planes)
	dx := k - p.s
	r0, r1 := max(0, -dy), min(a.rows, a.rows-dy)
	if r1 <= r0 {
		return 0
	}
	bc := bcode[(r0+dy)*pw : (r1+dy)*pw]
	bm := bmask[(r0+dy)*pw : (r1+dy)*pw]
	ac := a.code[r0*pw : r1*pw]
	am := a.mask[r0*pw : r1*pw]
	bc, bm, am = bc[:len(ac)], bm[:len(ac)], am[:len(ac)]
	if !haveExactAsm {
		return p.normScore(diffGo(ac, am, bc, bm, dx, p.colMask))
	}
	var shl, shr uint64
	if dx >= 0 {
		shl = uint64(dx)
	} else {
		shr = uint64(-dx)
	}
	return p.normScore(shiftedDiff(&ac[0], &am[0], &bc[0], &bm[0], len(ac), shl, shr, p.colMask))
}

// diffGo is shiftedDiff in Go: the disagreements and the bits compared
// between the words of a, shifted by dx columns, and those of b.
func diffGo(ac, am, bc, bm []uint64, dx int, colMask uint32) (diff, n int) {
	bc, bm, am = bc[:len(ac)], bm[:len(ac)], am[:len(ac)]
	for i := range ac {
		m := shiftHalves(am[i], dx, colMask) & bm[i]
		n += bits.OnesCount64(m)
		diff += bits.OnesCount64((shiftHalves(ac[i], dx, colMask) ^ bc[i]) & m)
	}
	return diff, n
}

// prepared holds a template's code and mask pre-shifted along the columns for
// every dx in [-s, s], so that the inner comparison loop is aligned word
// operations only.
type prepared struct {
	t       *Template
	s       int
	colMask uint32
	// sample holds, per dx+s, the code and mask words (interleaved word by
	// word) of the rows s, s+sampleRows, ... that stay inside the grid for
	// every dy in [-s,s], shifted by dx: the first search stage reads only
	// these; the second shifts the rows it needs on the fly.
	sample  [][]uint64
	nSample int
	norm    float64 // normFrac * total bits
	minBits int
}

func prepare(t *Template, s int) *prepared {
	p := &prepared{t: t, s: s, colMask: uint32(uint64(1)<<uint(t.cols) - 1)}
	pw := planesWords(t.planes)
	for r := s; r+s < t.rows; r += sampleRows {
		p.nSample++
	}
	per := 2 * pw * p.nSample
	backing := make([]uint64, 0, (2*s+1)*per)
	for dx := -s; dx <= s; dx++ {
		start := len(backing)
		for r := s; r+s < t.rows; r += sampleRows {
			for w := 0; w < pw; w++ {
				backing = append(backing, shiftHalves(t.code[r*pw+w], dx, p.colMask), shiftHalves(t.mask[r*pw+w], dx, p.colMask))
			}
		}
		p.sample = append(p.sample, backing[start:len(backing):len(backing)])
	}
	total := t.rows * t.cols * t.planes
	p.norm = normFrac * float64(total)
	p.minBits = int(minOverlapFrac * float64(total))
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

// score compares the prepared template with b over all shifts, on all
// rows (exhaustive; the gallery uses poseSet.score).
func (p *prepared) score(b *Template) float64 {
	best := 0.0
	for dy := -p.s; dy <= p.s; dy++ {
		for k := 0; k <= 2*p.s; k++ {
			best = max(best, p.scoreAt(b.code, b.mask, dy, k))
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

// invSqrt[n] = 1/sqrt(n) for the bit counts of the first search stage and
// the coarse pass.
var invSqrt = func() []float32 {
	t := make([]float32, 4097)
	for i := 1; i < len(t); i++ {
		t[i] = float32(1 / math.Sqrt(float64(i)))
	}
	return t
}()
