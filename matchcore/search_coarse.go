package matchcore

import "math/bits"

// The coarse pass reads the gallery's coarse slab: the code words (not the
// masks) of every template's coarse code, in blocks of coarseLanes
// templates stored word-major, i.e. word w of template i is at
//
//	slab[(i/coarseLanes)*cw*coarseLanes + w*coarseLanes + i%coarseLanes]
//
// for cw code words per template, so that one vector load reads the same
// word of 8 templates and one broadcast probe word serves all of them.
// The last block is padded with zero words (their scores are ignored).
const coarseLanes = 8

// slabOffset is the index in the slab of word 0 of template i.
func slabOffset(cw, i int) int {
	return (i/coarseLanes)*cw*coarseLanes + i%coarseLanes
}

// slabPut stores template i's code words in the slab.
func slabPut(slab []uint64, cw, i int, words []uint64) {
	o := slabOffset(cw, i)
	for w, v := range words[:cw] {
		slab[o+w*coarseLanes] = v
	}
}

// slabGet returns template i's code words (a copy).
func slabGet(slab []uint64, cw, i int) []uint64 {
	o := slabOffset(cw, i)
	out := make([]uint64, cw)
	for w := range out {
		out[w] = slab[o+w*coarseLanes]
	}
	return out
}

// coarseQuery is a probe's coarse code, at some of its poses, pre-shifted
// to every shift in [-coarseShift, coarseShift]^2, laid out for the block
// kernels. It scores exactly as coarseProbe.score (the reference).
type coarseQuery struct {
	n      int // code words per template
	shifts int
	// pm holds per shift, per word, the probe's code word (already
	// masked) then its mask word: pm[2*(s*n+w)], pm[2*(s*n+w)+1].
	pm []uint64
	// code and mask are the same words shift-major, n per shift (for the
	// Go path).
	code, mask []uint64
	// cnt and inv are the number of reliable probe bits per shift and
	// 1/sqrt of it.
	cnt []int32
	inv []float32
}

// newCoarseQuery prepares the canonical pose and the first poses-1 pose
// variants of t (all of them when poses exceeds that).
func newCoarseQuery(t *Template, poses int) *coarseQuery {
	O := t.planes
	side := t.coarseSide()
	wpp := coarseWords(side)
	words := t.coarseBoards(poses)
	n := O * wpp
	nShifts := len(words) * (2*coarseShift + 1) * (2*coarseShift + 1)
	q := &coarseQuery{n: n, pm: make([]uint64, 0, 2*n*nShifts)}
	code, mask := make([]uint64, wpp), make([]uint64, wpp)
	for _, cw := range words {
		for dy := -coarseShift; dy <= coarseShift; dy++ {
			for dx := -coarseShift; dx <= coarseShift; dx++ {
				cnt := 0
				for o := 0; o < O; o++ {
					shiftBoardInto(code, cw[o*wpp:(o+1)*wpp], side, dx, dy)
					shiftBoardInto(mask, cw[(O+o)*wpp:(O+o+1)*wpp], side, dx, dy)
					for w := range code {
						q.pm = append(q.pm, code[w]&mask[w], mask[w])
						q.code = append(q.code, code[w]&mask[w])
						q.mask = append(q.mask, mask[w])
						cnt += bits.OnesCount64(mask[w])
					}
				}
				q.cnt = append(q.cnt, int32(cnt))
				q.inv = append(q.inv, invSqrtN(max(cnt, 1)))
				q.shifts++
			}
		}
	}
	return q
}

// shiftBoardInto writes to dst the side x side board src (side*side/64
// words, side dividing 64) moved by (dx, dy), dropping bits that leave it:
// shiftBoard with word operations. The board is one little-endian
// multi-word integer with bit y*side+x for point (x, y), so the move is a
// shift by dy*side+dx bits followed by clearing the columns that wrapped
// into the neighbouring row.
func shiftBoardInto(dst, src []uint64, side, dx, dy int) {
	L := len(src)
	clear(dst)
	k := dy*side + dx
	if k >= 0 {
		q, r := k/64, uint(k%64)
		for j := L - 1; j >= q; j-- {
			v := src[j-q] << r
			if r != 0 && j-q-1 >= 0 {
				v |= src[j-q-1] >> (64 - r)
			}
			dst[j] = v
		}
	} else {
		q, r := (-k)/64, uint((-k)%64)
		for j := 0; j+q < L; j++ {
			v := src[j+q] >> r
			if r != 0 && j+q+1 < L {
				v |= src[j+q+1] << (64 - r)
			}
			dst[j] = v
		}
	}
	if dx == 0 {
		return
	}
	row := uint64(1)<<uint(side) - 1
	var keep uint64 // columns that stay inside the row, in one row
	if dx > 0 {
		keep = row &^ (uint64(1)<<uint(dx) - 1)
	} else {
		keep = row >> uint(-dx)
	}
	var m uint64
	for x := 0; x < 64; x += side {
		m |= keep << uint(x)
	}
	for j := range dst {
		dst[j] &= m
	}
}

// scoreBlocks writes to out[coarseLanes*b+l] the coarse score (as
// coarseProbe.score) of template l of block b, for every block of slab
// (len(slab) a multiple of n*coarseLanes, out at least as long as the
// number of templates).
func (q *coarseQuery) scoreBlocks(slab []uint64, out []float32) {
	bw := q.n * coarseLanes
	nb := len(slab) / bw
	if nb == 0 || q.shifts == 0 {
		return
	}
	_ = out[nb*coarseLanes-1]
	if q.n == 24 && haveCoarseAsm {
		coarseBlocks24(&slab[0], nb, &q.pm[0], &q.cnt[0], &q.inv[0], q.shifts, &out[0])
		return
	}
	if q.n == 24 && haveCoarseAVX2 {
		coarseBlocks24AVX2(&slab[0], nb, &q.pm[0], &q.cnt[0], &q.inv[0], q.shifts, &out[0])
		return
	}
	q.scoreBlocksGo(slab[:nb*bw], out)
}

// scoreBlocksGo is scoreBlocks in Go (other CPUs and geometries; the
// reference the kernel is tested against): the same per-lane counts, with
// the 8 lanes of a block in 8 scalar accumulators.
func (q *coarseQuery) scoreBlocksGo(slab []uint64, out []float32) {
	n := q.n
	bw := n * coarseLanes
	for b := 0; b+bw <= len(slab); b += bw {
		blk := slab[b : b+bw : b+bw]
		var best [coarseLanes]float32
		for l := range best {
			best[l] = -1e9
		}
		for s := 0; s < q.shifts; s++ {
			pc := q.code[n*s : n*(s+1) : n*(s+1)]
			pm := q.mask[n*s : n*(s+1) : n*(s+1)]
			var d0, d1, d2, d3, d4, d5, d6, d7 int
			for w := range pc {
				p, m := pc[w], pm[w]
				g := (*[coarseLanes]uint64)(blk[w*coarseLanes:])
				d0 += bits.OnesCount64((g[0] & m) ^ p)
				d1 += bits.OnesCount64((g[1] & m) ^ p)
				d2 += bits.OnesCount64((g[2] & m) ^ p)
				d3 += bits.OnesCount64((g[3] & m) ^ p)
				d4 += bits.OnesCount64((g[4] & m) ^ p)
				d5 += bits.OnesCount64((g[5] & m) ^ p)
				d6 += bits.OnesCount64((g[6] & m) ^ p)
				d7 += bits.OnesCount64((g[7] & m) ^ p)
			}
			c, inv := int(q.cnt[s]), q.inv[s]
			for l, d := range [coarseLanes]int{d0, d1, d2, d3, d4, d5, d6, d7} {
				if v := float32(c-2*d) * inv; v > best[l] {
					best[l] = v
				}
			}
		}
		copy(out[b/n:], best[:])
	}
}
