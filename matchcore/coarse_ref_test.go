package matchcore

import "math/bits"

// The contiguous-layout coarse scorer the gallery used before the block
// kernels (search_coarse.go); the tests and benchmarks keep it as the
// reference those kernels must agree with exactly.

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

// newCoarseProbe prepares the canonical pose and the first poses-1 pose
// variants of t (all of them when poses exceeds that).
func newCoarseProbe(t *Template, poses int) *coarseProbe {
	O := t.planes
	side := t.coarseSide()
	wpp := coarseWords(side)
	words := t.coarseBoards(poses)
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
